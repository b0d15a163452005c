"""core.stats.effects: hand-worked effect sizes, the zero-cell rule, HR conversions and events
from a reported survival rate; yi/vi agree with metafor's escalc on the BCG data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.stats.effects import escalc, events_from_rate, log_hr_from_ci, log_hr_from_p

Z975 = 1.959963984540054
BCG = Path(__file__).resolve().parents[1] / "conformance/reference/bcg.json"


# ---------------------------------------------------------------------------------------
# 2x2 tables: a = 10/50 treated, c = 20/50 control (b = 40, d = 30)


def test_log_odds_ratio_by_hand():
    es = escalc("OR", [10], [50], [20], [50])
    assert es.yi[0] == pytest.approx(math.log(10 * 30 / (40 * 20)), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 10 + 1 / 40 + 1 / 20 + 1 / 30, rel=1e-14)
    assert not es.corrected[0]


def test_log_risk_ratio_by_hand():
    es = escalc("RR", [10], [50], [20], [50])
    assert es.yi[0] == pytest.approx(math.log(0.2 / 0.4), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 10 - 1 / 50 + 1 / 20 - 1 / 50, rel=1e-14)


def test_risk_difference_by_hand():
    es = escalc("RD", [10], [50], [20], [50])
    assert es.yi[0] == pytest.approx(-0.2, rel=1e-14)
    assert es.vi[0] == pytest.approx(0.2 * 0.8 / 50 + 0.4 * 0.6 / 50, rel=1e-14)


def test_zero_cell_only0_corrects_only_tables_with_a_zero():
    # study 1 has a zero (a = 0), study 2 none
    es = escalc("OR", [0, 5], [20, 20], [4, 6], [20, 20])
    assert list(es.corrected) == [True, False]
    # study 1: a=0.5, b=20.5, c=4.5, d=16.5
    assert es.yi[0] == pytest.approx(math.log(0.5 * 16.5 / (20.5 * 4.5)), rel=1e-14)
    assert es.vi[0] == pytest.approx(1 / 0.5 + 1 / 20.5 + 1 / 4.5 + 1 / 16.5, rel=1e-14)
    # study 2 untouched: a=5, b=15, c=6, d=14
    assert es.yi[1] == pytest.approx(math.log(5 * 14 / (15 * 6)), rel=1e-14)
    rr = escalc("RR", [0], [20], [4], [20])
    # corrected arm sizes: n1 = 21, n2 = 21
    assert rr.yi[0] == pytest.approx(math.log((0.5 / 21) / (4.5 / 21)), rel=1e-14)
    assert rr.vi[0] == pytest.approx(1 / 0.5 - 1 / 21 + 1 / 4.5 - 1 / 21, rel=1e-14)


def test_zero_cell_rule_applies_to_rd_as_metafor():
    rd = escalc("RD", [0], [20], [4], [20])
    assert rd.corrected[0]
    assert rd.yi[0] == pytest.approx(0.5 / 21 - 4.5 / 21, rel=1e-14)


def test_zero_cell_none_leaves_log_ratios_undefined():
    es = escalc("OR", [0, 5], [20, 20], [4, 6], [20, 20], to="none")
    assert not es.corrected.any()
    assert math.isnan(es.yi[0]) and math.isnan(es.vi[0])
    assert not np.isinf(es.yi).any()
    assert es.yi[1] == pytest.approx(math.log(5 * 14 / (15 * 6)), rel=1e-14)
    rd = escalc("RD", [0], [20], [4], [20], to="none")
    assert rd.yi[0] == pytest.approx(-0.2, rel=1e-14)
    assert rd.vi[0] == pytest.approx(0.2 * 0.8 / 20, rel=1e-14)


def test_double_zero_study_with_only0():
    es = escalc("OR", [0], [10], [0], [12])
    assert es.yi[0] == pytest.approx(math.log(0.5 * 12.5 / (10.5 * 0.5)), rel=1e-14)


@pytest.mark.parametrize(
    "args",
    [([11], [10], [1], [10]), ([-1], [10], [1], [10]), ([1], [10], [11], [10])],
)
def test_impossible_tables_raise(args):
    with pytest.raises(ValueError):
        escalc("OR", *args)


def test_unknown_measure_raises():
    with pytest.raises(ValueError):
        escalc("HR", [1], [10], [1], [10])


# ---------------------------------------------------------------------------------------
# Hazard ratios


def test_log_hr_from_ci():
    r = log_hr_from_ci(0.35, 0.23, 0.54)
    assert r.yi == pytest.approx(math.log(0.35), rel=1e-14)
    assert r.se == pytest.approx((math.log(0.54) - math.log(0.23)) / (2 * 1.959964), rel=1e-6)
    assert r.se == pytest.approx((math.log(0.54) - math.log(0.23)) / (2 * Z975), rel=1e-14)
    assert r.vi == pytest.approx(r.se**2)


def test_log_hr_from_ci_other_level():
    r = log_hr_from_ci(2.0, 1.5, 2.7, level=0.90)
    assert r.se == pytest.approx(math.log(2.7 / 1.5) / (2 * 1.6448536269514722), rel=1e-12)


@pytest.mark.parametrize("bad", [(0.35, 0.4, 0.54), (0.35, 0.23, 0.3), (0.35, 0, 0.54)])
def test_log_hr_from_ci_rejects_inconsistent_ci(bad):
    with pytest.raises(ValueError):
        log_hr_from_ci(*bad)


def test_log_hr_from_p():
    r = log_hr_from_p(0.7, 0.03)
    z = 2.1700903775845606  # qnorm(1 - 0.03/2)
    assert r.yi == pytest.approx(math.log(0.7), rel=1e-14)
    assert r.se == pytest.approx(abs(math.log(0.7)) / z, rel=1e-12)
    # round trip: the z statistic reproduces the p-value
    assert 2 * (1 - 0.5 * math.erfc(-abs(r.yi / r.se) / math.sqrt(2))) == pytest.approx(0.03)


@pytest.mark.parametrize("bad", [(1.0, 0.2), (0.7, 0.0), (0.7, 1.0), (-0.5, 0.2)])
def test_log_hr_from_p_rejects(bad):
    with pytest.raises(ValueError):
        log_hr_from_p(*bad)


# ---------------------------------------------------------------------------------------
# Events from a survival rate (halves rounded up)


@pytest.mark.parametrize(
    ("n", "rate", "events"),
    [
        (82, 27.4, 60),  # 82 x 0.726 = 59.532 -> 60
        (82, 72.6, 22),  # 82 x 0.274 = 22.468 -> 22
        (50, 31.0, 35),  # 50 x 0.69 = 34.5 exactly -> 35 (half rounds up)
        (10, 45.0, 6),  # 5.5 -> 6
        (30, 85.0, 5),  # 4.5 -> 5
        (40, 0.0, 40),  # nobody survives: all events
        (40, 100.0, 0),  # everybody survives: no events
        (0, 50.0, 0),
    ],
)
def test_events_from_rate(n, rate, events):
    assert events_from_rate(n, rate) == events


@pytest.mark.parametrize(("n", "rate"), [(-1, 50.0), (10, -0.1), (10, 100.5)])
def test_events_from_rate_rejects(n, rate):
    with pytest.raises(ValueError):
        events_from_rate(n, rate)


# ---------------------------------------------------------------------------------------
# Agreement with metafor's escalc on the BCG trials


@pytest.mark.skipif(not BCG.exists(), reason="metafor reference folder not present")
@pytest.mark.parametrize("measure", ["OR", "RR", "RD"])
def test_bcg_matches_metafor(measure):
    case = json.loads(BCG.read_text())
    d = case["data"]
    es = escalc(measure, d["events_treat"], d["n_treat"], d["events_ctrl"], d["n_ctrl"])
    exp = case["expected"][measure]
    np.testing.assert_allclose(es.yi, exp["yi"], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(es.vi, exp["vi"], rtol=1e-12, atol=1e-14)
