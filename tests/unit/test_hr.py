"""core.stats.hr: hazard ratios from summary statistics (Tierney et al. 2007), worked by hand,
and the identities between the methods. z_{1-0.075/2} = 1.7804643417 (normal table: a
two-sided log-rank p of 0.075 is a z of 1.78, as in Tierney's worked example)."""

from __future__ import annotations

import math

import pytest

from core.stats.effects import log_hr_from_ci, log_hr_from_p
from core.stats.hr import (
    hr_from_ci,
    hr_from_logrank,
    hr_from_logrank_total,
    hr_from_o_minus_e,
    hr_from_p,
    hr_from_summary,
)

Z_0075 = 1.7804643416920256


def test_from_o_minus_e_by_hand():
    # O - E = -8.5, V = 23.2: ln HR = -8.5 / 23.2 = -0.366379, SE = 1 / sqrt(23.2) = 0.207614
    res = hr_from_o_minus_e(-8.5, 23.2)
    assert res.yi == pytest.approx(-0.3663793103448276, rel=1e-14)
    assert res.se == pytest.approx(0.20761369963434992, rel=1e-14)
    assert res.hr == pytest.approx(0.6932397983061044, rel=1e-14)
    assert res.method == "o_minus_e" and "O - E and V" in res.statement
    lo, hi = res.ci()
    assert lo == pytest.approx(math.exp(-0.3663793103448276 - 1.959963984540054 * 0.2076137))
    assert hi == pytest.approx(math.exp(-0.3663793103448276 + 1.959963984540054 * 0.2076137))


def test_from_logrank_p_and_events_per_arm_by_hand():
    # p = 0.075, RT favoured, 40 and 55 events: V = 40 x 55 / 95 = 23.157895,
    # O - E = -1.780464 x sqrt(23.157895) = -8.568066, ln HR = (O - E) / V = -0.369985,
    # SE = 1 / sqrt(V) = 0.207802
    res = hr_from_logrank(0.075, "rt", 40, 55)
    assert res.yi == pytest.approx(-8.568066291994391 / 23.157894736842106, rel=1e-12)
    assert res.yi == pytest.approx(-0.36998468079066693, rel=1e-12)
    assert res.se == pytest.approx(0.20780235364840838, rel=1e-14)
    assert res.method == "logrank_events"
    assert "V = 40 x 55 / 95" in res.derivation
    assert "events in each arm" in res.statement and "Tierney" in res.statement
    # The other direction only flips the sign.
    ctl = hr_from_logrank(0.075, "ctl", 40, 55)
    assert ctl.yi == pytest.approx(-res.yi, rel=1e-14) and ctl.se == res.se


def test_from_logrank_p_and_total_events_by_hand():
    # 1:1, 95 events: V = 95 / 4 = 23.75, ln HR = -z / sqrt(V) = -0.365344, SE = 0.205196
    res = hr_from_logrank_total(0.075, "rt", 95, 150, 150)
    assert res.yi == pytest.approx(-0.36534357424711267, rel=1e-12)
    assert res.se == pytest.approx(0.20519567041703082, rel=1e-14)
    assert res.method == "logrank_total"
    # 2:1 randomisation: V = 95 x 200 x 100 / 300^2 = 21.1111, ln HR = +z / sqrt(V) = 0.387505
    res = hr_from_logrank_total(0.075, "ctl", 95, 200, 100)
    assert res.yi == pytest.approx(0.3875053782195964, rel=1e-12)
    assert res.se == pytest.approx(1 / math.sqrt(21.11111111111111), rel=1e-14)


def test_equal_events_per_arm_equals_total_events_one_to_one():
    # O_rt = O_ctl = O/2 gives V = (O/2)^2 / O = O/4, the 1:1 total-events variance.
    a = hr_from_logrank(0.02, "rt", 30, 30)
    b = hr_from_logrank_total(0.02, "rt", 60, 100, 100)
    assert a.yi == pytest.approx(b.yi, rel=1e-14) and a.se == pytest.approx(b.se)


def test_ci_and_p_reuse_effects():
    # HR 0.69 (0.46-1.03): SE = (ln 1.03 - ln 0.46) / (2 x 1.959964) = 0.205638
    res = hr_from_ci(0.69, 0.46, 1.03)
    assert res.se == pytest.approx(0.2056383683830052, rel=1e-12)
    assert res.yi == pytest.approx(math.log(0.69), rel=1e-14)
    assert res.method == "ci" and "confidence interval" in res.statement
    assert res.derivation == log_hr_from_ci(0.69, 0.46, 1.03).derivation
    res = hr_from_p(0.69, 0.075)
    assert res.se == pytest.approx(abs(math.log(0.69)) / Z_0075, rel=1e-12)
    assert res.method == "p" and res.derivation == log_hr_from_p(0.69, 0.075).derivation


def test_methods_agree_on_one_trial():
    """A trial's O - E and V imply its HR, CI and log-rank p; every method given those
    numbers returns the same ln HR and SE."""
    o_e, v = -10.0, 25.0  # ln HR = -0.4, SE = 0.2
    base = hr_from_o_minus_e(o_e, v)
    lo, hi = base.ci()
    assert hr_from_ci(base.hr, lo, hi).se == pytest.approx(0.2, rel=1e-12)
    p = math.erfc(abs(o_e) / math.sqrt(v) / math.sqrt(2))  # two-sided p of z = 2
    from_total = hr_from_logrank_total(p, "rt", 100, 80, 80)  # V = 100 / 4 = 25
    assert from_total.yi == pytest.approx(-0.4, rel=1e-12)
    assert from_total.se == pytest.approx(0.2, rel=1e-12)
    assert hr_from_p(base.hr, p).se == pytest.approx(0.2, rel=1e-12)


def test_summary_picks_the_first_method_that_applies():
    full = {"hr": 0.7, "ci_low": 0.5, "ci_high": 0.98, "p": 0.04, "favours": "rt"}
    assert hr_from_summary(**full, o_minus_e=-5.0, v=16.0).method == "o_minus_e"
    assert hr_from_summary(**full).method == "ci"
    assert hr_from_summary(hr=0.7, p=0.04).method == "p"
    assert hr_from_summary(p=0.04, favours="rt", events_rt=20, events_ctl=30).method == (
        "logrank_events"
    )
    res = hr_from_summary(p=0.04, favours="ctl", events=50, n_rt=60, n_ctl=60)
    assert res.method == "logrank_total" and res.yi > 0
    with pytest.raises(ValueError, match="not enough for a hazard ratio"):
        hr_from_summary(p=0.04, events=50)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hr_from_o_minus_e(-3.0, 0.0), "V > 0"),
        (lambda: hr_from_logrank(1.0, "rt", 10, 10), "strictly between 0 and 1"),
        (lambda: hr_from_logrank(0.05, "rt", 0, 10), "at least one event in each arm"),
        (lambda: hr_from_logrank(0.05, "both", 10, 10), "favours must be"),
        (lambda: hr_from_logrank_total(0.05, "rt", 10, 0, 10), "patients in both arms"),
        (lambda: hr_from_ci(0.7, 0.8, 0.9), "ci_low <= hr <= ci_high"),
        (lambda: hr_from_p(1.0, 0.3), "carries no SE information"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
