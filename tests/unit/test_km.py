"""core.stats.km: cleaning of digitised points, Guyot's reconstruction worked by hand, its
invariants, and simulated trials: known patients (Weibull and exponential times with
censoring), their Kaplan-Meier curve digitised with noise, unsorted and thinned, numbers at
risk every 6 months. The reconstruction must give survival at 12 and 24 months within 0.03
of the true Kaplan-Meier and the HR within 10% of a Cox fit on the true data (R's coxph where
R is installed)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from core.data.digitised import read_digitised
from core.stats.km import (
    KMInputError,
    check_at_risk,
    clean_curve,
    guyot,
    reconstruct,
)
from core.stats.survival import cox_two_arms, kaplan_meier
from tests.unit.test_survival import run_r_json

# ---------------------------------------------------------------------------------------
# Cleaning


def test_clean_sorts_anchors_and_reads_percent():
    c = clean_curve([10, 2, 5, 0.0], [60, 95, 80, 100])
    assert c.time.tolist() == [0, 2, 5, 10]
    assert c.survival.tolist() == pytest.approx([1, 0.95, 0.8, 0.6], abs=1e-15)
    assert any("percentage" in n for n in c.notes) and any("sorted" in n for n in c.notes)
    # A curve that does not start at 0 gets S(0) = 1.
    c = clean_curve([3, 6], [0.9, 0.7])
    assert c.time.tolist() == [0, 3, 6] and c.survival.tolist() == pytest.approx([1, 0.9, 0.7])


def test_clean_makes_the_curve_non_increasing():
    # 0.82 after 0.80 is noise: the least-squares non-increasing fit pools them to 0.81.
    c = clean_curve([0, 1, 2, 3], [1, 0.80, 0.82, 0.5])
    assert c.survival.tolist() == pytest.approx([1, 0.81, 0.81, 0.5], abs=1e-12)
    assert any("2 point(s) moved" in n for n in c.notes)
    assert np.all(np.diff(c.survival) <= 0)


def test_clean_merges_points_at_one_time_keeping_the_drop():
    # A vertical drop digitised at both ends, and an exact duplicate.
    c = clean_curve([0, 4, 4, 4, 8], [1, 0.9, 0.7, 0.7, 0.6])
    assert c.time.tolist() == [0, 4, 8]
    assert c.survival.tolist() == pytest.approx([1, 0.7, 0.6])
    assert any("merged" in n for n in c.notes)


def test_clean_tolerates_noise_just_past_the_axes():
    c = clean_curve([-0.05, 3, 6], [1.004, 0.5, -0.002], arm="rt")
    assert c.time.tolist() == [0, 3, 6] and c.survival.tolist() == pytest.approx([1, 0.5, 0])
    assert any("digitising noise" in n for n in c.notes)


@pytest.mark.parametrize(
    ("time", "surv", "message"),
    [
        ([0, 1, 2], [1, 1.2, 0.9], "survival 1.2 is above 1"),
        ([0, 1, 2], [100, 104, 90], "survival 104% is above 100%"),
        ([0, 1, 2, 3], [100, 0.9, 0.8, 0.7], "mixes fractions"),
        ([0, 1, 2], [1, -0.5, 0.1], "below 0"),
        ([-3, 1, 2], [1, 0.9, 0.8], "time -3 is negative"),
        ([0, 1, float("nan")], [1, 0.9, 0.8], "missing"),
        ([], [], "no points"),
    ],
)
def test_clean_refuses(time, surv, message):
    with pytest.raises(KMInputError, match=message):
        clean_curve(time, surv)


@pytest.mark.parametrize(
    ("time", "n", "message"),
    [
        ([3, 6], [50, 40], "needs a row at time 0"),
        ([0], [50], "at least two"),
        ([0, 6, 6], [50, 40, 30], "two rows at time 6"),
        ([0, 6], [50, 40.5], "whole numbers"),
        ([0, 6, 12], [50, 40, 45], "rises from 40 to 45 at time 12"),
        ([0, 6], [0, 0], "no patients at risk"),
    ],
)
def test_at_risk_refuses(time, n, message):
    with pytest.raises(KMInputError, match=message):
        check_at_risk(time, n, arm="ctl")


def test_table_past_the_curve_and_curve_past_the_table():
    curve = clean_curve([0, 2, 4, 10], [1, 0.9, 0.8, 0.6])
    with pytest.raises(KMInputError, match="goes past the curve"):
        guyot(curve, *check_at_risk([0, 6, 12], [10, 8, 5]))
    with pytest.raises(KMInputError, match="past the at-risk table"):
        guyot(curve, *check_at_risk([0, 3], [10, 8]))


# ---------------------------------------------------------------------------------------
# Guyot's algorithm by hand


def test_guyot_worked_example():
    """Points (0,1) (2,.9) (4,.8) (6,.8) (8,.6) (10,.6); 10 at risk at 0, 6 at 5.

    Interval [0,5) (a point is added at 5 with S = .8): censored ~ 10 x .8/1 - 6 = 2, spread at
    5/3 and 10/3, one in (0,2], one in (2,4]. Events: at 2, round(9 x .1) = 1 (KM 8/9); at 4,
    round(7 x (1 - .8/(8/9))) = round(.7) = 1 (KM 48/63); 7 - 1 = 6 at risk at 5, as printed.
    Last interval [5,10]: censored at the earlier rate, round(2 x 5/4) = round(2.5) = 2 (half
    to even, as R), at 20/3 in (6,8] and 25/3 in (8,10]. At 8, round(5 x (1 - .6/(48/63)))
    = round(1.0625) = 1 event. Censorings sit halfway between points (1, 3, 7, 9); the other
    10 - 3 - 4 = 3 patients are censored at the curve's end, 10."""
    curve = clean_curve([0, 2, 4, 6, 8, 10], [1, 0.9, 0.8, 0.8, 0.6, 0.6])
    arm = guyot(curve, *check_at_risk([0, 5], [10, 6]))
    assert arm.curve.time.tolist() == [0, 2, 4, 5, 6, 8, 10]
    assert arm.curve.survival[3] == pytest.approx(0.8)
    got = sorted(zip(arm.time.tolist(), arm.event.tolist(), strict=True))
    assert got == [(1, 0), (2, 1), (3, 0), (4, 1), (7, 0), (8, 1), (9, 0)] + [(10, 0)] * 3
    assert arm.n == 10 and arm.events == 3
    km = arm.kaplan_meier()
    assert km.survival == pytest.approx([8 / 9, 48 / 63, 48 / 63 * 4 / 5], rel=1e-14)


def test_guyot_without_censoring_reads_events_off_the_curve():
    curve = clean_curve([0, 2, 4, 6, 8, 10], [1, 0.9, 0.8, 0.8, 0.6, 0.6])
    arm = guyot(curve, *check_at_risk([0, 5], [10, 8]))
    assert sorted(arm.time[arm.event == 1].tolist()) == [2, 4, 8, 8]
    assert sorted(arm.time[arm.event == 0].tolist()) == [10] * 6


# ---------------------------------------------------------------------------------------
# Simulated trials


@dataclass(frozen=True)
class Trial:
    time: np.ndarray
    event: np.ndarray
    x: np.ndarray  # 1 = rt


def simulate(seed: int, n_rt: int, n_ctl: int, scale_rt: float, scale_ctl: float, shape: float):
    """Weibull survival (shape 1: exponential), accrual over 24 months, follow-up to 36
    months after the last patient, 1%/month drop-out; times to 0.01 month."""
    rng = np.random.default_rng(seed)
    x = np.r_[np.ones(n_rt), np.zeros(n_ctl)]
    n = x.size
    t = np.where(x == 1, scale_rt, scale_ctl) * rng.weibull(shape, n)
    c = np.minimum(36 + rng.uniform(0, 24, n), rng.exponential(100, n))
    return Trial(np.round(np.maximum(np.minimum(t, c), 0.01), 2), (t <= c).astype(int), x)


def digitise(time, event, rng, percent: bool):
    """The KM curve as a digitiser gives it: both corners of each step and the curve's end,
    with noise (0.05 month, 0.3 percentage point), 30% of the points skipped, shuffled;
    numbers at risk every 6 months while the curve goes on."""
    km = kaplan_meier(time, event)
    before = np.r_[1.0, km.survival[:-1]]
    t = np.r_[0.0, np.repeat(km.time, 2), km.last_time]
    s = np.r_[1.0, np.column_stack([before, km.survival]).ravel(), km.survival[-1]]
    t = t + rng.normal(0, 0.05, t.size)
    s = s + rng.normal(0, 0.003, s.size)
    keep = rng.random(t.size) > 0.3
    keep[-1] = True  # the curve's end is always clicked
    t, s = t[keep], s[keep]
    order = rng.permutation(t.size)
    t_risk = np.arange(0, km.last_time, 6.0)
    n_risk = np.array([np.count_nonzero(time >= u) for u in t_risk])
    return (t[order], s[order] * (100 if percent else 1)), (t_risk, n_risk)


SCENARIOS = [
    # seed, n_rt, n_ctl, Weibull scale rt, ctl (months), shape
    (1, 100, 100, 30.0, 18.0, 1.0),
    (2, 60, 70, 24.0, 12.0, 1.0),
    (3, 150, 140, 40.0, 25.0, 0.8),
    (4, 80, 90, 20.0, 15.0, 1.3),
    (5, 200, 200, 26.0, 20.0, 1.0),
    (6, 45, 50, 36.0, 14.0, 0.7),
    (7, 120, 110, 18.0, 12.0, 1.5),
    (8, 90, 95, 30.0, 30.0, 1.0),
]


def reconstruct_scenario(scenario):
    seed, *params = scenario
    trial = simulate(seed, *params)
    rng = np.random.default_rng(seed + 1000)
    curves, at_risk = {}, {}
    for arm, flag in (("rt", 1), ("ctl", 0)):
        mask = trial.x == flag
        curves[arm], at_risk[arm] = digitise(
            trial.time[mask], trial.event[mask], rng, percent=seed % 2 == 0
        )
    return trial, reconstruct(curves, at_risk), at_risk


@pytest.fixture(scope="module")
def reconstructed():
    return [reconstruct_scenario(s) for s in SCENARIOS]


def test_survival_at_12_and_24_months_within_003(reconstructed):
    for trial, rec, _ in reconstructed:
        for arm, flag in (("rt", 1), ("ctl", 0)):
            mask = trial.x == flag
            true = kaplan_meier(trial.time[mask], trial.event[mask])
            got = rec.arms[arm].kaplan_meier()
            assert rec.arms[arm].n == mask.sum()
            for month in (12, 24):
                assert abs(got.at(month) - true.at(month)) < 0.03, (arm, month)


def test_hazard_ratio_within_10_percent(reconstructed):
    for trial, rec, _ in reconstructed:
        true = cox_two_arms(trial.time, trial.event, trial.x)
        assert abs(rec.cox.hr / true.hr - 1) < 0.10
        assert rec.cox.ci_low < rec.cox.hr < rec.cox.ci_high


def test_reconstruction_keeps_the_numbers_at_risk(reconstructed):
    """Invariant: the reconstructed patients still at risk at each table time are those of
    the table; Guyot lowers a number where the (noisy) curve drops more than the table allows,
    here by one patient at most, and never raises one."""
    for _, rec, at_risk in reconstructed:
        for arm in ("rt", "ctl"):
            t_risk, n_risk = at_risk[arm]
            held = [np.count_nonzero(rec.arms[arm].time >= u) for u in t_risk]
            assert all(0 <= n - h <= 1 for h, n in zip(held, n_risk, strict=True)), arm
            assert held[0] == n_risk[0]


def test_hazard_ratio_against_coxph_on_the_true_data(reconstructed, tmp_path):
    script = ["suppressPackageStartupMessages(library(survival)); hr <- c()"]
    for i, (trial, _, _) in enumerate(reconstructed):
        np.savetxt(tmp_path / f"t{i}.csv", np.c_[trial.time, trial.event, trial.x],
                   delimiter=",", fmt="%.10g", header="time,event,x", comments="")  # fmt: skip
        script.append(
            f'd <- read.csv("t{i}.csv"); hr <- c(hr, exp(coef(coxph(Surv(time, event) ~ x, d))))'
        )
    script.append("cat(jsonlite::toJSON(hr, digits = NA))")
    hr_true = run_r_json("\n".join(script), tmp_path)
    assert len(hr_true) == len(reconstructed)
    for hr, (_, rec, _) in zip(hr_true, reconstructed, strict=True):
        assert abs(rec.cox.hr / hr - 1) < 0.10


def test_reconstruct_needs_both_arms():
    curve = ([0, 6, 12], [1, 0.8, 0.6])
    table = ([0, 6], [20, 15])
    with pytest.raises(KMInputError, match="no arm ctl"):
        reconstruct({"rt": curve}, {"rt": table, "ctl": table})
    with pytest.raises(KMInputError, match="no arm rt"):
        reconstruct({"rt": curve, "ctl": curve}, {"ctl": table})


def test_at_risk_row_at_the_curves_end():
    """A table row at the curve's last time leaves a last interval of one point (where the
    published code would clear the censoring of the point before): the worked example with
    3 still at risk at 10 gives the same patients, all 3 censored at 10."""
    curve = clean_curve([0, 2, 4, 6, 8, 10], [1, 0.9, 0.8, 0.8, 0.6, 0.6])
    arm = guyot(curve, *check_at_risk([0, 5, 10], [10, 6, 3]))
    got = sorted(zip(arm.time.tolist(), arm.event.tolist(), strict=True))
    assert got == [(1, 0), (2, 1), (3, 0), (4, 1), (7, 0), (8, 1), (9, 0)] + [(10, 0)] * 3
    assert np.count_nonzero(arm.time >= 10) == 3


_CURVE = "arm,time_months,survival\nrt,0,1\nrt,12,{s}\nctl,0,1\nctl,12,0.8\n"
_RISK = "arm,time_months,n_at_risk\nrt,0,{n}\nrt,12,40\nctl,0,50\nctl,12,35\n"


@pytest.mark.parametrize(
    ("s", "n", "message"),
    [
        ("٠.٩", "50", "survival is '٠.٩', not a number"),  # Arabic-Indic digits
        ("０.９", "50", "survival is '０.９', not a number"),  # full-width digits
        ("0_9", "50", "survival is '0_9', not a number"),  # float() reads '0_9' as 9
        ("1e400", "50", "survival is '1e400', not a number"),
        ("0.9", "9000000000", "n_at_risk 9000000000 is above 1,000,000 patients"),
    ],
)
def test_digitised_cells_are_plain_numbers_and_bounded(s: str, n: str, message: str) -> None:
    """Only ASCII decimal numbers are read (never silently another script's digits), and a
    number at risk above MAX_AT_RISK is refused before the reconstruction allocates a record
    per patient (9e9 patients asked numpy for 60 GiB)."""
    curve = ("c.csv", _CURVE.format(s=s).encode())
    risk = ("r.csv", _RISK.format(n=n).encode())
    with pytest.raises(ValueError, match=message):
        read_digitised(curve, risk)
    ok = read_digitised(
        ("c.csv", _CURVE.format(s="0.9").encode()), ("r.csv", _RISK.format(n="50").encode())
    )
    assert ok[0]["rt"][1].tolist() == [1.0, 0.9]
