"""``python -m core hr``: a hazard ratio from a report's summary statistics (Tierney et al.
2007), checked against hand-worked values; too little or bad input gets one plain line on
stderr and exit code 2."""

from __future__ import annotations

import json
import math

import pytest

from core.cli import main

Z975 = 1.959963984540054  # qnorm(0.975)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["hr", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else {}), err


def test_logrank_p_with_events_per_arm(capsys: pytest.CaptureFixture[str]) -> None:
    # 50 events per arm: V = 50 * 50 / 100 = 25, SE = 1/5; p = 0.05 puts the CI's upper
    # limit exactly at 1; O - E = -z sqrt(V) = -5 z, ln HR = -5 z / 25 = -z / 5.
    code, out, _ = run(
        capsys, "--p", "0.05", "--favours", "rt", "--events-rt", "50", "--events-ctl", "50"
    )
    assert code == 0
    assert out["method"] == "logrank_events"
    assert out["se"] == pytest.approx(0.2, abs=1e-15)
    assert out["yi"] == pytest.approx(-Z975 / 5, abs=1e-12)
    assert out["hr"] == pytest.approx(math.exp(-Z975 / 5), abs=1e-12)
    assert out["ci_high"] == pytest.approx(1.0, abs=1e-12)
    assert out["ci_low"] == pytest.approx(math.exp(-2 * Z975 / 5), abs=1e-12)
    assert "Tierney et al. 2007" in out["derivation"]


def test_favouring_control_mirrors_the_ratio(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--p", "0.01", "--events-rt", "30", "--events-ctl", "45")
    _, rt, _ = run(capsys, *args, "--favours", "rt")
    _, ctl, _ = run(capsys, *args, "--favours", "ctl")
    assert ctl["yi"] == pytest.approx(-rt["yi"], abs=1e-15)
    assert ctl["hr"] == pytest.approx(1 / rt["hr"], rel=1e-12)


def test_logrank_p_with_total_events_one_to_one(capsys: pytest.CaptureFixture[str]) -> None:
    # 1:1 randomisation: V = O / 4 = 100 / 4 = 25, as for 50 + 50 events above.
    _, total, _ = run(
        capsys, "--p", "0.05", "--favours", "rt", "--events", "100", "--n-rt", "80", "--n-ctl", "80"
    )
    assert total["method"] == "logrank_total"
    assert total["se"] == pytest.approx(0.2, abs=1e-15)
    assert total["ci_high"] == pytest.approx(1.0, abs=1e-12)


def test_reported_hr_with_its_ci_comes_back(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "--hr", "0.5", "--ci-low", "0.25", "--ci-high", "1.0")
    assert out["method"] == "ci"
    assert out["se"] == pytest.approx(math.log(4) / (2 * Z975), abs=1e-12)
    # The CI is rebuilt around the reported HR: its geometric midpoint is sqrt(0.25) = 0.5.
    assert out["ci_low"] == pytest.approx(0.25, rel=1e-12)
    assert out["ci_high"] == pytest.approx(1.0, rel=1e-12)


def test_o_minus_e_and_v_come_first(capsys: pytest.CaptureFixture[str]) -> None:
    # Tierney's order: O - E and V win over an HR given as well.
    _, out, _ = run(capsys, "--o-minus-e", "-6", "--v", "16", "--hr", "2", "--p", "0.5")
    assert out["method"] == "o_minus_e"
    assert out["yi"] == pytest.approx(-6 / 16, abs=1e-15)
    assert out["se"] == pytest.approx(0.25, abs=1e-15)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--p", "0.05"), "not enough for a hazard ratio"),
        (("--p", "0.05", "--events-rt", "10", "--events-ctl", "12"), "not enough"),
        (
            ("--p", "1", "--favours", "rt", "--events-rt", "10", "--events-ctl", "12"),
            "strictly between 0 and 1",
        ),
        (
            ("--p", "0.2", "--favours", "rt", "--events-rt", "0", "--events-ctl", "12"),
            "at least one event in each arm",
        ),
        (("--o-minus-e", "-3", "--v", "0"), "V > 0"),
        (("--hr", "inf", "--p", "0.5"), "need a finite HR > 0"),
        (("--hr", "nan", "--ci-low", "0.1", "--ci-high", "1"), "0 < ci_low <= hr <= ci_high"),
    ],
)
def test_too_little_or_bad_input_is_one_plain_line(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert says in err
    assert err.count("\n") == 1 and "Traceback" not in err
