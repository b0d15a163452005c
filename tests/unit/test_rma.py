"""The design-matrix backend of the one tau2 control flow (``tau2_design``): over a column
of ones it is ``pool``; ``pool`` equals ``pool_many`` row for row on many-fit layouts
(leave-one-out); the result types' ``summary_frame`` carries the fitted values unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.stats import rma
from core.stats.pooling import METHODS, pool, pool_many, tau2_design
from core.stats.subgroups import meta_regression

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
finite_y = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
pos_v = st.floats(0.005, 2.0, allow_nan=False, allow_infinity=False)


@st.composite
def datasets(draw, min_k: int = 3, max_k: int = 15):
    k = draw(st.integers(min_k, max_k))
    y = np.array(draw(st.lists(finite_y, min_size=k, max_size=k)))
    v = np.array(draw(st.lists(pos_v, min_size=k, max_size=k)))
    return y, v


def close(a: float, b: float, tol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@SETTINGS
@given(datasets(), st.sampled_from(METHODS))
def test_design_solver_with_a_column_of_ones_is_pool(data, method):
    y, v = data
    ones = np.ones((y.size, 1))
    est = tau2_design(method, ones, y - y.mean(), v)
    ref = pool(y, v, method=method)
    assert est.converged == ref.converged
    # PM/EB/ML/REML roots stop at a relative step of ~1e-13 (1e-14 over X)
    assert close(est.tau2, ref.tau2, 1e-9), (est.tau2, ref.tau2)
    fit = rma.WLS(ones, y, v, est.tau2)
    assert close(float(fit.beta[0]), ref.estimate, 1e-9)
    assert close(math.sqrt(float(fit.a_inv[0, 0])), ref.se, 1e-9)


@SETTINGS
@given(datasets(), st.sampled_from(METHODS), st.sampled_from(("wald", "hksj")))
def test_pool_equals_pool_many_row_for_row_leaving_one_out(data, method, ci):
    y, v = data
    k = y.size
    vv = np.tile(v, (k, 1))
    vv[np.arange(k), np.arange(k)] = np.inf  # row i leaves study i out
    tab = pool_many(np.tile(y, (k, 1)), vv, method=method, ci=ci).summary_frame()
    for i in range(k):
        keep = np.arange(k) != i
        one = pool(y[keep], v[keep], method=method, ci=ci).summary_frame().iloc[0]
        for col in ("estimate", "se", "pval", "ci_low", "ci_high", "pi_low", "pi_high", "tau2"):
            assert close(float(one[col]), float(tab[col].iloc[i]), 1e-9), (i, col)
        assert int(one["k"]) == int(tab["k"].iloc[i]) == k - 1


def test_meta_regression_on_ones_without_intercept_is_pool():
    # hand-checkable: with X = a column of ones the meta-regression is the random-effects model
    y = np.array([0.1, 0.3, -0.2, 0.5, 0.2])
    v = np.array([0.04, 0.02, 0.05, 0.03, 0.01])
    for method in METHODS:
        reg = meta_regression(y, v, np.ones(5), method=method, intercept=False, r2=False)
        ref = pool(y, v, method=method)
        row = reg.summary_frame().iloc[0]
        assert close(float(row["estimate"]), ref.estimate, 1e-9), method
        assert close(float(row["se"]), ref.se, 1e-9), method
        assert close(reg.tau2, ref.tau2, 1e-9), method


def test_summary_frames_hold_the_fitted_values():
    y = [0.1, 0.3, -0.2, 0.5]
    v = [0.04, 0.02, 0.05, 0.03]
    for ci, stat in (("wald", "zval"), ("hksj", "tval")):
        p = pool(y, v, ci=ci)
        row = p.summary_frame().to_dict("records")[0]
        assert row["estimate"] == p.estimate and row["se"] == p.se and row[stat] == p.stat
        assert row["pval"] == p.pvalue and row["ci_low"] == p.ci_low
        assert row["pi_high"] == p.pi_high and row["tau2"] == p.tau2 and row["i2"] == p.i2
        assert (row["df"], row["k"]) == (3, 4)
    reg = meta_regression([*y, 0.2], [*v, 0.01], [1, 2, 3, 4, 6], test="knha")
    frame = reg.summary_frame()
    assert list(frame.index) == ["intrcpt", "mod"]
    assert frame["tval"].tolist() == reg.stat.tolist()
    assert frame["ci_high"].tolist() == reg.ci_high.tolist()


def test_dl_with_one_variance_near_zero_says_so_instead_of_an_error_or_a_wrong_value():
    """vi = 1e-18 beside ~0.1: the trace of P loses all its digits (0 or negative, positive
    in exact arithmetic), so the design-matrix DL raises the weights-too-unequal ValueError
    that the pages show (it raised ZeroDivisionError; a negative trace gave a wrong tau2).
    The intercept-only pool() gives metafor's tau2 = 0, I2 = 0, H2 = 1 (metafor 3.8-1)."""
    from core.views.bias import run_trim_and_fill

    y = np.array([0.1, 0.3, -0.2, 0.5, 0.2])
    v = np.array([1e-18, 0.1, 0.2, 0.15, 0.3])
    with pytest.raises(ValueError, match="too unequal"):
        rma.closed_form("DL", np.ones((5, 1)), y - y.mean(), v)
    res = pool(y, v, method="DL")
    assert (res.tau2, res.i2, res.h2) == (0.0, 0.0, 1.0)
    assert pool_many(y, v, method="REML").h2[0] == 1.0  # H2 = tau2 / s2 + 1 with s2 = inf
    said = run_trim_and_fill(y, v, "DL")  # a sentence for the page, never an exception
    assert isinstance(said, str) and "too unequal" in said
