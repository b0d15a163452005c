"""core.stats.sensitivity additions: Baujat (vs metafor), leave-one-out and cumulative frames,
the estimator panel and the quality threshold sweep."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import load_bundled
from core.data.estimable import estimable
from core.state.view import parse_query
from core.stats.mh import mantel_haenszel, peto
from core.stats.pooling import pool
from core.stats.sensitivity import (
    baujat,
    cumulative,
    leave_one_out,
)
from core.views.analysis import analyse, analyse_outcome
from core.views.sensitivity import (
    conclusion_shift,
    cumulative_frame,
    cumulative_order,
    estimator_panel,
    leave_one_out_frame,
    quality_sweep,
)

# metafor 3.8-1, dat.bcg, escalc(measure="RR"); values printed by
#   b <- baujat(rma(yi, vi, data=dat, method=m, test=t)); b$x; b$y
BCG_YI = [-0.889311333920205, -1.58538865720143, -1.34807314829969, -1.44155119002131,
          -0.217547322211296, -0.786115585818864, -1.62089822359839, 0.0119523335238405,
          -0.469417648738149, -1.37134480347278, -0.339358828338391, 0.445913400571379,
          -0.0173139482168798]  # fmt: skip
BCG_VI = [0.325584765003961, 0.194581121398144, 0.415367965367965, 0.0200100319022476,
          0.0512101721696309, 0.00690561845590876, 0.223017247572315, 0.00396157929781773,
          0.056434210463249, 0.0730247936130289, 0.0124122139715597, 0.532505845200153,
          0.0714046596839863]  # fmt: skip
BAUJAT_R = {
    ("REML", "wald"): (
        [0.0478183320721, 1.49341118679, 0.550875274577, 1.58604972349, 0.6777109219,
         0.0160055498336, 1.5319028478, 1.6638456223, 0.162523307613, 1.11684754527,
         0.432221021481, 1.59223843441, 1.2637879714],
        [0.00153750194058, 0.112107095546, 0.0243490373683, 0.237773320051, 0.0669858181318,
         0.000333271536546, 0.107909507967, 0.198964614242, 0.0183816132308, 0.111389571759,
         0.0489706257786, 0.061834543543, 0.115312850558],
    ),
    ("REML", "hksj"): (
        None,
        [0.0014741068165, 0.11124775373, 0.0235837199257, 0.224075654947, 0.0668752319457,
         0.000334966830388, 0.107518371717, 0.193722702808, 0.0183356883789, 0.108518511743,
         0.049130376448, 0.0640617478472, 0.115307007963],
    ),
    ("DL", "hksj"): (
        [0.0483853037031, 1.50814921524, 0.555012359316, 1.60951334762, 0.685005326693,
         0.0164216809254, 1.54623271686, 1.68576967929, 0.163961630211, 1.13139078239,
         0.437284835423, 1.599578341, 1.27716886451],
        [0.00216252377071, 0.107755687993, 0.0241441904635, 0.281733902968, 0.0676561860369,
         4.8257459251e-05, 0.104224049125, 0.177996450161, 0.0163785209265, 0.108772128114,
         0.0563571940123, 0.0658102640267, 0.121604244741],
    ),
    ("EE", "wald"): (
        [0.647158736026, 6.85710962717, 2.02792428639, 51.1073136255, 0.883757801708,
         18.3351122201, 6.35627725632, 49.3676862705, 0.0271351610359, 12.1272954278,
         0.666085717897, 1.44171924284, 2.38843270922],
        [0.003276599239, 0.0582907849918, 0.00803933802646, 4.56309948548, 0.0292413495441,
         5.71123117941, 0.0470926809928, 34.8795103128, 0.00081223590621, 0.278639337821,
         0.101417856529, 0.00445429838936, 0.0561515477227],
    ),
}  # fmt: skip


@pytest.mark.parametrize(("method", "ci"), list(BAUJAT_R))
def test_baujat_matches_metafor(method, ci):
    res = baujat(BCG_YI, BCG_VI, method=method, ci=ci)
    x, y = BAUJAT_R[(method, ci)]
    # REML is iterative in both (metafor stops at a tau2 step below 1e-5): tiny y values
    # agree to about 1e-9 absolute
    tol = {"rtol": 1e-5, "atol": 1e-8} if method == "REML" else {"rtol": 1e-8}
    if x is not None:
        np.testing.assert_allclose(res.x, x, **tol)
    np.testing.assert_allclose(res.y, y, **tol)


def test_baujat_common_effect_x_sums_to_q():
    res = baujat(BCG_YI, BCG_VI, method="EE")
    assert res.x.sum() == pytest.approx(pool(BCG_YI, BCG_VI, method="EE").q)


def test_baujat_needs_two_studies():
    with pytest.raises(ValueError, match="two"):
        baujat([0.1], [0.2])


# --- conclusion shift -------------------------------------------------------------------


def test_conclusion_shift_rules():
    full = (math.log(0.5), math.log(0.3), math.log(0.8))
    assert conclusion_shift(full, (math.log(0.52), math.log(0.31), math.log(0.85))) == ""
    assert conclusion_shift(full, (math.log(0.52), math.log(0.3), math.log(1.1))) == (
        "the CI now includes 1"
    )
    assert conclusion_shift(full, (math.log(0.6), math.log(0.4), math.log(0.9))) == (
        "the ratio changes by +20.0%"
    )
    wide = (math.log(0.8), math.log(0.5), math.log(1.3))
    assert "excludes 1" in conclusion_shift(wide, (math.log(0.8), math.log(0.7), math.log(0.9)))


# --- leave-one-out and cumulative frames --------------------------------------------------

Y5 = np.array([-0.9, -1.6, -0.2, -1.4, 0.3])
V5 = np.array([0.3, 0.2, 0.4, 0.05, 0.5])
IDS = ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize("ci", ["wald", "hksj"])
def test_leave_one_out_frame_rows_equal_core(ci):
    frame = leave_one_out_frame(Y5, V5, IDS, [s.upper() for s in IDS], method="REML", ci=ci)
    loo = leave_one_out(Y5, V5, method="REML", ci=ci)
    full = pool(Y5, V5, method="REML", ci=ci)
    omit = frame[frame["kind"] == "omit"]
    np.testing.assert_allclose(omit["estimate"], loo.estimate)
    np.testing.assert_allclose(omit["ratio_low"], np.exp(loo.ci_low))
    assert list(omit["study_id"]) == IDS and list(omit["k"]) == [4] * 5
    last = frame.iloc[-1]
    assert last["kind"] == "full" and last["ratio"] == pytest.approx(math.exp(full.estimate))
    for _, r in omit.iterrows():
        expected = conclusion_shift(
            (full.estimate, full.ci_low, full.ci_high), (r.estimate, r.ci_low, r.ci_high)
        )
        assert r["reason"] == expected and r["flagged"] == bool(expected)
    assert frame["flagged"].any()


def test_leave_one_out_frame_needs_three():
    with pytest.raises(ValueError, match="three"):
        leave_one_out_frame(Y5[:2], V5[:2], IDS[:2], IDS[:2])


def test_cumulative_order_year_and_quality():
    year = pd.array([2014, 2022, pd.NA, 1999], dtype="Int64")
    score = pd.array([5, 3, 6, 5], dtype="Int64")
    assert list(cumulative_order(year, score, "year")) == [3, 0, 1, 2]
    assert list(cumulative_order(year, score, "quality")) == [2, 3, 0, 1]
    with pytest.raises(ValueError):
        cumulative_order(year, score, "size")


def test_cumulative_frame_equals_core():
    order = np.array([4, 2, 0, 1, 3])
    frame = cumulative_frame(Y5, V5, IDS, ["1", "2", "3", "4", "5"], order, method="DL")
    cum = cumulative(Y5, V5, order=order, method="DL")
    np.testing.assert_allclose(frame["estimate"], cum.estimate)
    assert list(frame["label"]) == ["+ e", "+ c", "+ a", "+ b", "+ d"]
    assert list(frame["k"]) == [1, 2, 3, 4, 5]
    assert frame["ratio"].iloc[-1] == pytest.approx(math.exp(pool(Y5, V5, method="DL").estimate))


# --- estimator panel ----------------------------------------------------------------------

A = np.array([4, 6, 3, 62, 33])
N1 = np.array([123, 306, 231, 13598, 5069])
C = np.array([11, 29, 11, 248, 47])
N2 = np.array([139, 303, 220, 12867, 5808])


def test_estimator_panel_rows_equal_core():
    frame = estimator_panel(Y5, V5, (A, N1, C, N2))
    assert len(frame) == 8 * 2 + 3
    for _, r in frame.iterrows():
        if r["method"] == "MH":
            res = mantel_haenszel(A, N1, C, N2)
        elif r["method"] == "Peto":
            res = peto(A, N1, C, N2)
        else:
            res = pool(Y5, V5, method=r["method"], ci=r["ci"])
        for col in ("estimate", "ci_low", "ci_high", "pvalue"):
            assert r[col] == pytest.approx(getattr(res, col), rel=1e-12), (r["model"], col)
        assert r["ratio_high"] == pytest.approx(math.exp(res.ci_high))
    assert set(frame.loc[frame["family"] == "random", "method"]) == {
        "REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB"
    }  # fmt: skip


def test_estimator_panel_without_tables_and_unusable_tables():
    assert set(estimator_panel(Y5, V5)["method"]) >= {"EE"}
    assert not {"MH", "Peto"} & set(estimator_panel(Y5, V5)["method"])
    zeros = (np.zeros(2), np.array([10, 10]), np.zeros(2), np.array([10, 10]))
    frame = estimator_panel(Y5[:2], V5[:2], zeros)
    mh = frame[frame["method"] == "MH"].iloc[0]
    assert math.isnan(mh["estimate"]) and "infinite" in mh["note"]


# --- quality sweep --------------------------------------------------------------------------

ALL = (
    "scope=all&design=RCT&design=PSM&design=retrospective&design=prospective-nonrandomized"
    "&indication=PVTT&indication=narrow_margin&indication=MVI&indication=other"
    "&rt=external&rt=internal&tpoint=interp"
)


@pytest.fixture(scope="module")
def ds():
    return load_bundled()


def _fn(ds):
    return lambda o, m, t, r, z: estimable(ds, o, m, t, r, z)


def test_quality_sweep_equals_view_at_each_threshold(ds):
    state = parse_query(ALL + "&t_os=3&qmin=5&exclude=Lau1999&method=DL").state
    sweep = quality_sweep("OS", state, ds.studies, _fn(ds))
    assert sweep.message is None
    # included OS studies: Yu2014 (5), Shi2022 (3), WangWH2015 (3); Lau1999 excluded by hand
    assert list(sweep.frame["qmin"]) == [3.0, 5.0]
    assert list(sweep.frame["k"]) == [3, 1]
    for _, r in sweep.frame.iterrows():
        oa = analyse(state.replace(qmin=r["qmin"]), ds).outcomes["OS"]
        assert r["estimate"] == pytest.approx(oa.pooled.estimate)
        assert r["ratio_low"] == pytest.approx(math.exp(oa.pooled.ci_low))
    assert sweep.frame["studies"].iloc[1] == "Yu2014"


def test_quality_sweep_one_score_says_why(ds):
    state = parse_query("exclude=Shi2022&outcome=DFS").state  # Wei2019 (6), Yu2014 (5)
    assert len(quality_sweep("DFS", state, ds.studies, _fn(ds)).frame) == 2
    state = parse_query("indication=PVTT").state
    sweep = quality_sweep("OS", state, ds.studies, _fn(ds))
    assert sweep.frame.empty and "no threshold" in sweep.message


def test_quality_sweep_empty_view(ds):
    state = parse_query("rt=internal&indication=other").state
    sweep = quality_sweep("OS", state, ds.studies, _fn(ds))
    assert sweep.frame.empty and sweep.message
    oa = analyse_outcome("OS", state, ds.studies, _fn(ds))
    assert sweep.message == oa.message
