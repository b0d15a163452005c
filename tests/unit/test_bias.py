"""core.stats.bias: metafor values for a small set, statsmodels for the classical Egger test,
and invariants (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.stats.bias import begg_test, egger_test, funnel_data, trim_and_fill
from core.stats.pooling import pool

# An asymmetric set: the less precise studies have the larger effects.
YI = np.array([0.1, 0.3, 0.35, 0.5, 0.62, 0.8, 1.1])
VI = np.array([0.01, 0.02, 0.04, 0.05, 0.08, 0.12, 0.2])


# metafor 3.8 (Rscript) on YI, VI:
#   trimfill(rma(yi, vi, method="EE")): k0 4, left, beta 0.192857142857142783,
#     se 0.061237243569579443, filled -0.1142857142857143 -0.2342857142857143
#     -0.4142857142857144 -0.7142857142857144
#   trimfill(rma(yi, vi)): k0 3, beta 0.270275638588179767, tau2 0.043398997039508162
#   ranktest: tau 1, pval 0.00039682539682539542
#   regtest: z 3.32623605370279751270, p 0.00088027345987869957, est -0.16162015070602808731
#   regtest(model="lm"): t 12.912832769324801, p 4.9623465993235104e-05


def test_trim_and_fill_common_effect_matches_metafor():
    tf = trim_and_fill(YI, VI, method="EE")
    assert tf.k0 == 4 and tf.side == "left" and tf.k == 11
    assert tf.estimate == pytest.approx(0.192857142857142783, rel=1e-12)
    assert tf.se == pytest.approx(0.061237243569579443, rel=1e-12)
    np.testing.assert_allclose(
        tf.filled_yi,
        [-0.11428571428571432, -0.23428571428571432, -0.41428571428571437, -0.71428571428571441],
        rtol=1e-12,
    )
    np.testing.assert_allclose(tf.filled_vi, VI[-4:])
    assert tf.original_estimate == pytest.approx(pool(YI, VI, method="EE").estimate)
    assert tf.ci_low < tf.estimate < tf.ci_high


def test_trim_and_fill_reml_matches_metafor():
    tf = trim_and_fill(YI, VI, method="REML")
    assert tf.k0 == 3 and tf.side == "left"
    assert tf.estimate == pytest.approx(0.270275638588179767, rel=1e-10)
    assert tf.tau2 == pytest.approx(0.043398997039508162, rel=1e-9)


def test_trim_and_fill_side_can_be_forced_and_mirrors():
    left = trim_and_fill(YI, VI, method="EE", side="left")
    right = trim_and_fill(-YI, VI, method="EE", side="right")
    assert left.k0 == right.k0
    np.testing.assert_allclose(right.filled_yi, -left.filled_yi)
    assert right.estimate == pytest.approx(-left.estimate)


def test_trim_and_fill_other_estimators():
    tf = trim_and_fill(YI, VI, method="EE", estimator="R0")
    assert tf.k0 >= 0 and tf.filled_yi.size == tf.k0
    with pytest.raises(ValueError, match="Q0"):  # every study right of the estimate
        trim_and_fill(YI, VI, method="EE", estimator="Q0")
    tf = trim_and_fill(YI[::-1] * [1, -1, 1, -1, 1, -1, 1], VI, estimator="Q0")
    assert tf.k0 >= 0


def test_trim_and_fill_equal_variances_need_a_side():
    y = np.array([0.0, 0.75, -0.75, 0.5, -0.5])
    with pytest.raises(ValueError, match="side"):
        trim_and_fill(y, np.full(5, 0.1))
    assert trim_and_fill(y, np.full(5, 0.1), side="left").k0 == 0


def test_trim_and_fill_exactly_symmetric_triplet_matches_metafor():
    # metafor 3.8: trimfill(rma(c(0, .75, -.75), c(.1, .375, .375), method="EE"))$k0 == 0
    assert trim_and_fill([0.0, 0.75, -0.75], [0.1, 0.375, 0.375], method="EE").k0 == 0


def test_trim_and_fill_small_k_and_bad_arguments():
    with pytest.raises(ValueError, match="three"):
        trim_and_fill([0.1, 0.2], [0.1, 0.1])
    with pytest.raises(ValueError):
        trim_and_fill(YI, VI, estimator="X0")
    with pytest.raises(ValueError):
        trim_and_fill(YI, VI, side="up")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 400), min_size=1, max_size=6, unique=True),
    st.lists(st.floats(0.01, 0.5), min_size=7, max_size=7),
    st.sampled_from(["EE", "REML"]),
)
def test_trim_and_fill_symmetric_set_needs_no_filling(offsets, variances, method):
    """A funnel symmetric about 0: mirror pairs with equal variances and a centre study.

    Exact symmetry puts L0 on a tie of |yi - estimate| between mirror studies (so the
    estimate must come out exactly 0, as metafor's does here; offsets are dyadic)."""
    off = np.array(offsets) / 64.0
    m = off.size
    y = np.concatenate([[0.0], np.ravel(np.column_stack([off, -off]))])
    v = np.concatenate([[variances[-1]], np.repeat(variances[:m], 2)])
    if np.ptp(np.sqrt(v)) <= 1e-12 * np.sqrt(v).max():
        return  # equal variances: no automatic side (metafor stops as well)
    tf = trim_and_fill(y, v, method=method)
    assert tf.k0 == 0 and tf.filled_yi.size == 0
    assert tf.estimate == pytest.approx(pool(y, v, method=method).estimate)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-2, 2), st.floats(0.01, 0.5)), min_size=3, max_size=12),
    st.sampled_from(["left", "right"]),
)
def test_trim_and_fill_mirror_equivariance(pairs, side):
    y, v = (np.array(a) for a in zip(*pairs, strict=True))
    other = "left" if side == "right" else "right"
    try:
        a = trim_and_fill(y, v, method="EE", side=side)
    except ValueError as exc:  # e.g. ties that make the algorithm cycle, as in metafor
        with pytest.raises(ValueError, match=str(exc)):
            trim_and_fill(-y, v, method="EE", side=other)
        return
    b = trim_and_fill(-y, v, method="EE", side=other)
    assert a.k0 == b.k0
    assert b.estimate == pytest.approx(-a.estimate, abs=1e-9)
    np.testing.assert_allclose(np.sort(b.filled_yi), np.sort(-a.filled_yi), atol=1e-9)


# --- Egger -----------------------------------------------------------------------------


def test_egger_matches_metafor():
    rma = egger_test(YI, VI, model="rma")
    assert rma.stat == pytest.approx(3.32623605370279751270, rel=1e-8)
    assert rma.pvalue == pytest.approx(0.00088027345987869957, rel=1e-7)
    assert rma.limit_estimate == pytest.approx(-0.16162015070602808731, rel=1e-8)
    assert math.isnan(rma.df)
    lm = egger_test(YI, VI, model="lm")
    assert lm.stat == pytest.approx(12.912832769324801, rel=1e-10)
    assert lm.pvalue == pytest.approx(4.9623465993235104e-05, rel=1e-8)
    assert lm.df == 5


def test_egger_lm_is_weighted_least_squares():
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(4)
    v = rng.uniform(0.01, 0.5, 12)
    y = rng.normal(0.2, np.sqrt(v))
    res = egger_test(y, v, model="lm")
    fit = sm.WLS(y, sm.add_constant(np.sqrt(v)), weights=1 / v).fit()
    assert res.stat == pytest.approx(fit.tvalues[1], rel=1e-10)
    assert res.pvalue == pytest.approx(fit.pvalues[1], rel=1e-9)
    assert res.limit_estimate == pytest.approx(fit.params[0], rel=1e-10)


def test_egger_small_k_and_equal_precision():
    with pytest.raises(ValueError, match="three"):
        egger_test([0.1, 0.2], [0.1, 0.2])
    with pytest.raises(ValueError, match="precision"):
        egger_test([0.1, 0.2, 0.3], [0.1, 0.1, 0.1], model="lm")
    with pytest.raises(ValueError):
        egger_test(YI, VI, model="glm")


# --- Begg ------------------------------------------------------------------------------


def test_begg_matches_metafor_exact():
    res = begg_test(YI, VI)
    assert res.exact
    assert res.tau == pytest.approx(1.0)
    assert res.pvalue == pytest.approx(0.00039682539682539542, rel=1e-10)  # 2/7!


def test_begg_three_studies_by_hand():
    # perfectly concordant: P(T >= 3) = 1/6 for n = 3, two-sided 1/3
    res = begg_test(YI[:3] * [1, 1, 3], VI[:3])
    assert res.tau == pytest.approx(1.0)
    assert res.pvalue == pytest.approx(1 / 3)


def test_begg_with_ties_uses_normal_approximation():
    v = VI.copy()
    v[1] = v[0]
    res = begg_test(YI, v)
    assert not res.exact and 0 < res.pvalue < 1


def test_begg_with_identical_effects_is_undefined():
    # weighted mean of equal values may differ from them by rounding; that is not a sign
    with pytest.raises(ValueError, match="undefined"):
        begg_test([0.05, 0.05, 0.05], [0.5, 0.048828125, 0.5])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 1.0)), min_size=3, max_size=12))
@example(pairs=[(0.05, 0.5), (0.05, 0.048828125), (0.05, 0.5)])  # identical effects
@example(pairs=[(0.05, 0.5), (0.05, 0.03125), (0.05, 1.0)])
def test_begg_is_a_valid_test(pairs):
    y, v = (np.array(a) for a in zip(*pairs, strict=True))
    try:
        res = begg_test(y, v)
    except ValueError:
        return  # everything tied
    assert -1.0 <= res.tau <= 1.0 and 0.0 <= res.pvalue <= 1.0
    mirrored = begg_test(2 * y.mean() - y, v)
    assert mirrored.tau == pytest.approx(-res.tau, abs=1e-12)


# --- funnel ----------------------------------------------------------------------------


def test_funnel_data_contours():
    fd = funnel_data(YI, VI, estimate=0.3, levels=(0.95, 0.90))
    assert fd.levels == (0.90, 0.95)
    np.testing.assert_allclose(fd.points["sei"], np.sqrt(VI))
    last = fd.contours["level"] == 0.95
    sei_max = math.sqrt(VI.max())
    assert fd.contours["upper"][last].max() == pytest.approx(1.959963984540054 * sei_max)
    np.testing.assert_allclose(fd.contours["lower"], -fd.contours["upper"])
    assert fd.funnel["lower"][0] == fd.funnel["upper"][0] == 0.3
    assert funnel_data(YI, VI).estimate == pytest.approx(pool(YI, VI).estimate)
    with pytest.raises(ValueError):
        funnel_data(YI, VI, levels=(1.5,))
