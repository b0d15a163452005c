"""``python -m core km CURVES.csv AT_RISK.csv --t-years 1,2``: the JSON equals
core.stats.km on the same points; bad input gets one plain line on stderr and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli import main
from core.stats.km import reconstruct
from tests.unit.test_km import digitise, simulate

ROOT = Path(__file__).resolve().parents[2]
CURVE_HEAD = "arm,time_months,survival\n"
RISK_HEAD = "arm,time_months,n_at_risk\n"

# A small hand-made trial (survival in percent); numbers at risk every 6 months.
CURVES = CURVE_HEAD + "".join(
    f"{arm},{t},{s}\n"
    for arm, pts in (
        ("rt", [(0, 100), (3, 92), (7, 85), (12, 76), (18, 70), (24, 62), (30, 60)]),
        ("ctl", [(0, 100), (2, 90), (5, 78), (11, 64), (16, 52), (23, 45), (29, 40)]),
    )
    for t, s in pts
)
AT_RISK = RISK_HEAD + "rt,0,40\nrt,6,35\nrt,12,29\nrt,18,24\nrt,24,18\nrt,30,10\n"
AT_RISK += "ctl,0,42\nctl,6,32\nctl,12,25\nctl,18,19\nctl,24,14\nctl,29,9\n"


def write(tmp_path: Path, curves: str = CURVES, at_risk: str = AT_RISK) -> list[str]:
    (tmp_path / "curves.csv").write_text(curves, encoding="utf-8")
    (tmp_path / "at_risk.csv").write_text(at_risk, encoding="utf-8")
    return [str(tmp_path / "curves.csv"), str(tmp_path / "at_risk.csv")]


def run_ok(capsys, *argv: str) -> dict:
    assert main(["km", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return json.loads(captured.out, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


def run_error(capsys, *argv: str) -> str:
    assert main(["km", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


def test_json_equals_the_reconstruction(capsys, tmp_path):
    doc = run_ok(capsys, *write(tmp_path), "--t-years", "1,2")
    rec = reconstruct(
        {
            "rt": ([0, 3, 7, 12, 18, 24, 30], [100, 92, 85, 76, 70, 62, 60]),
            "ctl": ([0, 2, 5, 11, 16, 23, 29], [100, 90, 78, 64, 52, 45, 40]),
        },
        {
            "rt": ([0, 6, 12, 18, 24, 30], [40, 35, 29, 24, 18, 10]),
            "ctl": ([0, 6, 12, 18, 24, 29], [42, 32, 25, 19, 14, 9]),
        },
    )
    assert set(doc) == {"arms", "hr", "notes"}
    for arm in ("rt", "ctl"):
        km = rec.arms[arm].kaplan_meier()
        got = doc["arms"][arm]
        assert got["n"] == rec.arms[arm].n and got["events"] == rec.arms[arm].events
        assert got["survival"] == {"1": km.at(12), "2": km.at(24)}
    assert doc["arms"]["rt"]["n"] == 40 and doc["arms"]["ctl"]["n"] == 42
    # The curves pass through 76% / 64% at 12 months and 62% / 45% at 24 (read off the step).
    assert doc["arms"]["rt"]["survival"]["1"] == pytest.approx(0.76, abs=0.02)
    assert doc["arms"]["ctl"]["survival"]["2"] == pytest.approx(0.45, abs=0.02)
    hr = doc["hr"]
    assert (hr["estimate"], hr["ci_low"], hr["ci_high"]) == (
        rec.cox.hr,
        rec.cox.ci_low,
        rec.cox.ci_high,
    )
    assert hr["ci_low"] < hr["estimate"] < 1 < hr["ci_high"]
    assert "Guyot" in hr["method"] and "Efron" in hr["method"]
    assert "arm rt: survival read as a percentage" in doc["notes"]


def test_simulated_trial_through_the_cli(capsys, tmp_path):
    trial = simulate(11, 120, 120, 30.0, 18.0, 1.0)
    rng = np.random.default_rng(3)
    curves, at_risk = [CURVE_HEAD], [RISK_HEAD]
    for arm, flag in (("rt", 1), ("ctl", 0)):
        mask = trial.x == flag
        (t, s), (t_risk, n_risk) = digitise(trial.time[mask], trial.event[mask], rng, False)
        curves += [f"{arm},{a:.3f},{b:.4f}\n" for a, b in zip(t, s, strict=True)]
        at_risk += [f"{arm},{a:g},{b}\n" for a, b in zip(t_risk, n_risk, strict=True)]
    doc = run_ok(capsys, *write(tmp_path, "".join(curves), "".join(at_risk)), "--t-years", "2")
    assert list(doc["arms"]["rt"]["survival"]) == ["2"]
    assert (
        doc["arms"]["rt"]["n"] == 120
        and "arm rt: survival read as a percentage" not in doc["notes"]
    )


def test_survival_after_follow_up_is_null_with_a_note(capsys, tmp_path):
    doc = run_ok(capsys, *write(tmp_path), "--t-years", "0.5,3")
    assert doc["arms"]["rt"]["survival"]["3"] is None
    assert doc["arms"]["rt"]["survival"]["0.5"] is not None
    assert any("arm rt: 3 years is after the last follow-up" in n for n in doc["notes"])


def drop_arm(text: str, arm: str) -> str:
    return "".join(line for line in text.splitlines(True) if not line.startswith(arm + ","))


@pytest.mark.parametrize(
    ("curves", "at_risk", "message"),
    [
        (drop_arm(CURVES, "ctl"), AT_RISK, "the curve has no arm ctl"),
        (CURVES, drop_arm(AT_RISK, "rt"), "the at-risk table has no arm rt"),
        (
            CURVES,
            AT_RISK.replace("rt,0,40\n", ""),
            "arm rt: the at-risk table needs a row at time 0",
        ),
        (CURVES, AT_RISK + "rt,36,4\n", "arm rt: the at-risk table goes past the curve (time 36"),
        (CURVES + "rt,80,50\n", AT_RISK, "arm rt: the curve goes on to time 80, past the"),
        (CURVES.replace("rt,3,92", "rt,3,120"), AT_RISK, "arm rt: survival 120% is above 100%"),
        (CURVE_HEAD + "rt,0,1\nrt,5,1.3\nctl,0,1\n", AT_RISK, "arm rt: survival 1.3 is above 1"),
        (CURVES.replace("rt,3,92", "rt,3,abc"), AT_RISK, "curves.csv line 3: survival is 'abc'"),
        (CURVES, AT_RISK.replace("rt,6,35", "rt,6,"), "at_risk.csv line 3: n_at_risk is empty"),
        (CURVES, AT_RISK.replace("rt,6,35", "rt,6,nan"), "n_at_risk is 'nan', not a number"),
        (CURVES.replace("rt,3,92", "RT-arm,3,92"), AT_RISK, "arm 'RT-arm' is not rt or ctl"),
        ("arm,time,survival\nrt,0,1\n", AT_RISK, "curves.csv: no column time_months"),
        (CURVE_HEAD, AT_RISK, "curves.csv: no rows below the header"),
        (CURVES, AT_RISK.replace("rt,18,24", "rt,18,31"), "rises from 29 to 31 at time 18"),
        ("", AT_RISK, "curves.csv is empty"),
    ],
)
def test_bad_input_one_line_exit_2(capsys, tmp_path, curves, at_risk, message):
    line = run_error(capsys, *write(tmp_path, curves, at_risk))
    assert message in line


def test_bad_years_and_missing_file(capsys, tmp_path):
    files = write(tmp_path)
    for years in ("1,x", "0", "-1", ""):
        assert "--t-years" in run_error(capsys, *files, "--t-years", years)
    line = run_error(capsys, str(tmp_path / "nope.csv"), files[1])
    assert "nope.csv: cannot read (No such file or directory)" in line


def test_subprocess_bad_input_has_no_traceback(tmp_path):
    files = write(tmp_path, drop_arm(CURVES, "ctl"))
    proc = subprocess.run(
        [sys.executable, "-m", "core", "km", *files, "--t-years", "1,2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == "error: the curve has no arm ctl: both arms rt and ctl are needed\n"
