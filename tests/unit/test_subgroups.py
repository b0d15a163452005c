"""core.stats.subgroups: subgroup analysis and meta-regression against metafor and by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from core.stats.effects import escalc
from core.stats.pooling import pool
from core.stats.subgroups import meta_regression, subgroup_analysis

BCG = Path(__file__).resolve().parents[1] / "conformance/reference/bcg.json"
needs_bcg = pytest.mark.skipif(not BCG.exists(), reason="metafor reference folder not present")


def _bcg(measure: str = "OR"):
    case = json.loads(BCG.read_text())
    d = case["data"]
    es = escalc(measure, d["events_treat"], d["n_treat"], d["events_ctrl"], d["n_ctrl"])
    return es.yi, es.vi, d, case["expected"][measure]["extras"]


# ---------------------------------------------------------------------------------------
# Subgroups


@needs_bcg
@pytest.mark.parametrize("measure", ["OR", "RR"])
def test_bcg_subgroups_match_metafor(measure):
    y, v, d, ex = _bcg(measure)
    exp = ex["subgroups_REML"]
    res = subgroup_analysis(y, v, d["group"])
    assert list(res.groups) == ["alternate", "random", "systematic"] == list(exp["groups"])
    assert res.q_between == pytest.approx(exp["Q_between"], rel=1e-8)
    assert res.p_between == pytest.approx(exp["p_between"], rel=1e-8)
    assert res.df_between == exp["df_between"] == 2
    for lab, fit in res.groups.items():
        e = exp["groups"][lab]
        assert fit.estimate == pytest.approx(e["estimate"], rel=1e-8)
        assert fit.tau2 == pytest.approx(e["tau2"], rel=1e-7)
        assert fit.i2 == pytest.approx(e["I2"], rel=1e-7)
    assert res.overall.estimate == pytest.approx(pool(y, v).estimate)


def test_q_between_by_hand():
    y = np.array([0.1, 0.3, 0.2, 0.9, 1.1])
    v = np.array([0.04, 0.05, 0.03, 0.06, 0.02])
    g = ["b", "b", "b", "a", "a"]
    res = subgroup_analysis(y, v, g, method="DL")
    assert list(res.groups) == ["a", "b"]
    est = np.array([pool(y[3:], v[3:], "DL").estimate, pool(y[:3], v[:3], "DL").estimate])
    se = np.array([pool(y[3:], v[3:], "DL").se, pool(y[:3], v[:3], "DL").se])
    w = 1 / se**2
    mu = (w * est).sum() / w.sum()
    q = (w * (est - mu) ** 2).sum()
    assert res.q_between == pytest.approx(q, rel=1e-12)
    assert res.p_between == pytest.approx(math.erfc(math.sqrt(q / 2)), rel=1e-10)  # chi2, 1 df


def test_single_group_has_no_test():
    res = subgroup_analysis([0.1, 0.2, 0.5], [0.1, 0.1, 0.2], ["x", "x", "x"])
    assert res.q_between is None and res.p_between is None
    assert res.df_between == 0
    assert res.note and "one group" in res.note


def test_group_with_one_study_is_that_study():
    res = subgroup_analysis([0.1, 0.2, 0.5], [0.1, 0.1, 0.2], ["B", "B", "A"])
    one = res.groups["A"]
    assert one.k == 1 and one.estimate == 0.5 and one.se == pytest.approx(math.sqrt(0.2))
    # as metafor reports a k = 1 fit
    assert one.tau2 == 0 and one.i2 == 0 and one.h2 == 1
    assert res.q_between is not None


def test_labels_sorted_like_r():
    res = subgroup_analysis([0.1, 0.2, 0.3, 0.4], [0.1] * 4, ["late", "early", "Mid", "early"])
    assert list(res.groups) == ["early", "late", "Mid"]
    res = subgroup_analysis([0.1, 0.2, 0.3], [0.1] * 3, [10, 2, 2])
    assert list(res.groups) == [2, 10]


def test_group_length_mismatch():
    with pytest.raises(ValueError):
        subgroup_analysis([0.1, 0.2], [0.1, 0.1], ["a"])


# ---------------------------------------------------------------------------------------
# Meta-regression


@needs_bcg
def test_bcg_metaregression_matches_metafor():
    y, v, d, ex = _bcg("OR")
    e = ex["metareg_REML"]
    r = meta_regression(y, v, np.asarray(d["moderator"], float))
    np.testing.assert_allclose(r.coef, e["coef"], rtol=1e-8)
    np.testing.assert_allclose(r.se, e["se"], rtol=1e-8)
    np.testing.assert_allclose(r.pvalue, e["pval"], rtol=1e-7)
    for ours, theirs in [
        ("qm", "QM"),
        ("qm_pvalue", "QMp"),
        ("tau2", "tau2"),
        ("i2", "I2"),
        ("r2", "R2"),
        ("qe", "QE"),
        ("qe_pvalue", "QEp"),
    ]:
        assert getattr(r, ours) == pytest.approx(e[theirs], rel=1e-8), ours
    assert r.converged and r.k == 13 and r.p == 2
    assert r.names == ("intrcpt", "mod")


@needs_bcg
def test_egger_regression_as_metafor_regtest():
    y, v, _, ex = _bcg("OR")
    e = ex["egger_rma"]
    r = meta_regression(y, v, np.sqrt(v), r2=False)
    assert r.stat[1] == pytest.approx(e["stat"], rel=1e-7)
    assert r.pvalue[1] == pytest.approx(e["pval"], rel=1e-7)
    assert r.coef[0] == pytest.approx(e["limit_estimate"], rel=1e-7)
    assert r.r2 is None


def test_ml_second_maximum_found_as_metafor():
    # ML score is negative at tau2 = 0, but metafor's Fisher scoring (from the HE value)
    # reaches an interior maximum with a higher likelihood: tau2 = 0.4239...
    y = [0.549250809828411, 0.416836961543119, -1.81058928064774, 0.885123858435021]
    v = [0.143369167500641, 0.0202317357365973, 0.458644243322778, 0.124272132639308]
    x = [1.74487250105038, -0.802447891715901, 0.552821934753135, -0.858313796048336]
    r = meta_regression(y, v, x, method="ML")
    assert r.tau2 == pytest.approx(0.423911763001497, rel=1e-8)
    np.testing.assert_allclose(r.coef, [0.220044009447002, -0.194695498298669], rtol=1e-8)


def _dl_by_hand(y, v, x):
    w = 1 / v
    xw = x * w[:, None]
    a = np.linalg.inv(x.T @ xw)
    b = a @ xw.T @ y
    qe = (w * (y - x @ b) ** 2).sum()
    k, p = x.shape
    trp = w.sum() - np.trace(a @ (x.T @ (x * (w**2)[:, None])))
    return max(0.0, (qe - (k - p)) / trp), qe


def test_dl_and_ee_closed_forms():
    rng = np.random.default_rng(3)
    k = 12
    x = rng.normal(size=k)
    v = rng.uniform(0.02, 0.3, k)
    y = 0.2 + 0.5 * x + rng.normal(0, np.sqrt(v + 0.1))
    X = np.column_stack([np.ones(k), x])
    t, qe = _dl_by_hand(y, v, X)
    r = meta_regression(y, v, x, method="DL")
    assert r.tau2 == pytest.approx(t, rel=1e-10)
    assert r.qe == pytest.approx(qe, rel=1e-10)
    w = 1 / (v + t)
    b = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
    np.testing.assert_allclose(r.coef, b, rtol=1e-10)
    ee = meta_regression(y, v, x, method="EE")
    assert ee.tau2 == 0
    assert ee.qm == pytest.approx(ee.stat[1] ** 2, rel=1e-10)


def test_reml_estimating_equation_with_moderators():
    rng = np.random.default_rng(11)
    k = 20
    mods = rng.normal(size=(k, 2))
    v = rng.uniform(0.01, 0.2, k)
    y = mods @ [0.3, -0.2] + rng.normal(0, np.sqrt(v + 0.5))
    r = meta_regression(y, v, mods)
    assert r.tau2 > 0 and r.converged
    X = np.column_stack([np.ones(k), mods])
    w = 1 / (v + r.tau2)
    W = np.diag(w)
    P = W - W @ X @ np.linalg.inv(X.T @ W @ X) @ X.T @ W
    assert y @ P @ P @ y == pytest.approx(np.trace(P), rel=1e-9)
    assert r.qm_df == 2 and r.qe_df == k - 3
    # I2 from s2 = (k-p)/tr(P) at tau2 = 0
    W0 = np.diag(1 / v)
    P0 = W0 - W0 @ X @ np.linalg.inv(X.T @ W0 @ X) @ X.T @ W0
    s2 = (k - 3) / np.trace(P0)
    assert r.i2 == pytest.approx(100 * r.tau2 / (r.tau2 + s2), rel=1e-10)


def test_predict_and_bubble():
    rng = np.random.default_rng(5)
    k = 10
    x = np.arange(k, dtype=float)
    v = rng.uniform(0.02, 0.2, k)
    y = 0.1 * x + rng.normal(0, np.sqrt(v))
    r = meta_regression(y, v, x)
    np.testing.assert_allclose(r.fitted, r.coef[0] + r.coef[1] * x)
    pr = r.predict([0.0, 4.5])
    assert pr.pred[0] == pytest.approx(r.coef[0])
    assert pr.se[0] == pytest.approx(r.se[0])
    assert np.all(pr.ci_low <= pr.pred) and np.all(pr.pi_low <= pr.ci_low)
    bub = r.bubble(n=25)
    assert bub.x.shape == (25, 2) and bub.x[0, 1] == 0 and bub.x[-1, 1] == 9
    assert math.isclose(r.weights.sum(), 100.0)


@pytest.mark.parametrize(
    ("mods", "msg"),
    [
        ([1.0, 2.0, np.nan, 4.0, 5.0], "missing"),
        ([1.0, 2.0], "one row per study"),
        ([0.0] * 5, "zero in every study"),
    ],
)
def test_guards(mods, msg):
    with pytest.raises(ValueError, match=msg):
        meta_regression([0.1, 0.2, 0.3, 0.4, 0.5], [0.1] * 5, mods, intercept=False)


# metafor 3.8-1: rma(yi, vi, mods = ~ mod, method = "REML", control = list(threshold =
# 1e-12, stepadj = 0.5)) warns "Redundant predictors dropped from the model" and fits the
# rest; QM then tests what is left (the intercept alone: z^2), R2 is NULL without moderators.
def test_constant_moderator_is_dropped_as_metafor_does():
    y, v = [-0.3, 0.1, -0.8, -0.2], [0.1, 0.2, 0.05, 0.3]
    r = meta_regression(y, v, [5.0] * 4)
    assert r.names == ("intrcpt",) and r.p == 1 and r.r2 is None
    assert "'mod' has the same value in every study" in r.note and "dropped" in r.note
    np.testing.assert_allclose(r.coef, [-0.416399935415551], rtol=1e-8)
    np.testing.assert_allclose(r.se, [0.22090988995711], rtol=1e-8)
    np.testing.assert_allclose(r.pvalue, [0.0594391323588885], rtol=1e-8)
    assert r.qm == pytest.approx(3.5529654827722, rel=1e-8) and r.qm_df == 1
    assert r.qm_pvalue == pytest.approx(0.0594391323588885, rel=1e-8)
    assert r.tau2 == pytest.approx(0.0710532094739609, rel=1e-8)
    assert r.i2 == pytest.approx(36.5749346822585, rel=1e-8)
    assert r.qe == pytest.approx(4.3, rel=1e-10)
    assert r.qe_pvalue == pytest.approx(0.230838748208877, rel=1e-8)
    with pytest.raises(ValueError, match="no column 0"):
        r.bubble()


def test_collinear_moderator_is_dropped_as_metafor_does():
    # rma(yi, vi, mods = ~ x1 + x2) with x2 = 2 x1: metafor drops x2
    y, v = [0.12, -0.35, 0.41, 0.05, 0.63, -0.2], [0.04, 0.09, 0.05, 0.12, 0.07, 0.03]
    x1 = np.arange(1.0, 7.0)
    r = meta_regression(y, v, np.column_stack([x1, 2 * x1]), names=["x1", "x2"])
    assert r.names == ("intrcpt", "x1") and "'x2' is a combination" in r.note
    np.testing.assert_allclose(r.coef, [0.0803121456662003, 0.00885134359428499], rtol=1e-7)
    np.testing.assert_allclose(r.se, [0.371817518272005, 0.0938608868525846], rtol=1e-7)
    np.testing.assert_allclose(r.pvalue, [0.828988666386598, 0.924868632914231], rtol=1e-7)
    assert r.qm == pytest.approx(0.00889301638707627, rel=1e-7)
    assert r.tau2 == pytest.approx(0.108876730130648, rel=1e-7)
    assert r.i2 == pytest.approx(63.0631337169323, rel=1e-7)
    assert r.r2 == 0.0
    assert r.qe == pytest.approx(10.9448107548069, rel=1e-8)


def test_too_few_studies():
    with pytest.raises(ValueError, match="too few"):
        meta_regression([0.1, 0.2], [0.1, 0.1], [1.0, 2.0])


def test_knha_and_no_intercept():
    rng = np.random.default_rng(9)
    k = 8
    x = rng.normal(size=k)
    v = rng.uniform(0.05, 0.2, k)
    y = 0.4 * x + rng.normal(0, 0.4, k)
    z = meta_regression(y, v, x)
    t = meta_regression(y, v, x, test="knha")
    np.testing.assert_allclose(z.coef, t.coef)
    assert t.qm == pytest.approx(t.stat[1] ** 2, rel=1e-10)  # F(1, k-p) = t^2
    n = meta_regression(y, v, x, intercept=False)
    assert n.p == 1 and n.r2 is None and n.qm_df == 1


def test_trace_rounding_to_zero_gives_i2_0_not_an_error():
    """Egger's mixed test (a regression on the SE) of three log HRs, one with vi ~1e-18 (as
    estimable gives it from a CI of 1 ± 2e-9): tr(P) rounds to 0, so s2 = (k - p) / tr(P)
    is inf, I2 = 0 and H2 = 1 with tau2 = 0, not ZeroDivisionError (the Small-study page's
    script ended there)."""
    v = np.array([1.0, 9.99999870750862e-19, 1.0])
    fit = meta_regression(np.array([0.3, -0.5, 1.0]), v, np.sqrt(v), method="REML", r2=False)
    assert (fit.tau2, fit.i2, fit.h2) == (0.0, 0.0, 1.0)


def test_dl_on_a_design_whose_trace_loses_its_digits_is_refused_not_a_wrong_value():
    """Three equal estimates, one vi ~1e-18: tr(P) comes out negative (positive in exact
    arithmetic), and DL divided by it gave tau2 0.0026, I2 inf, H2 0 where metafor has 0, 0,
    1; such a fit now says its weights are too unequal (the page shows that sentence)."""
    v = np.array([1.0, 9.999999273959317e-19, 1.0])
    with pytest.raises(ValueError, match="too unequal"):
        meta_regression(np.array([0.3, 0.3, 0.3]), v, np.sqrt(v), method="DL", r2=False)
