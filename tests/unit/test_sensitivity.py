"""core.stats.sensitivity: hand-worked small cases and invariants (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.stats.pooling import pool
from core.stats.sensitivity import cumulative, gosh, influence, leave_one_out

Y3 = np.array([0.0, 1.0, 2.0])
V3 = np.ones(3)


def _studies(min_k: int = 3, max_k: int = 9):
    return st.integers(min_k, max_k).flatmap(
        lambda k: st.tuples(
            st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
            st.lists(st.floats(0.01, 1.0, allow_nan=False), min_size=k, max_size=k),
        )
    )


# --- leave-one-out ---------------------------------------------------------------------


def test_leave_one_out_by_hand_common_effect():
    res = leave_one_out(Y3, V3, method="EE")
    np.testing.assert_allclose(res.estimate, [1.5, 1.0, 0.5])
    np.testing.assert_allclose(res.se, [math.sqrt(0.5)] * 3)
    np.testing.assert_allclose(res.q, [0.5, 2.0, 0.5])
    np.testing.assert_array_equal(res.k, [2, 2, 2])


def test_leave_one_out_rows_are_separate_pools():
    y = np.array([-0.9, -1.6, -0.2, -1.4, 0.3, -0.5])
    v = np.array([0.3, 0.05, 0.1, 0.02, 0.2, 0.08])
    res = leave_one_out(y, v, method="REML", ci="hksj")
    for i in range(y.size):
        keep = np.arange(y.size) != i
        ref = pool(y[keep], v[keep], method="REML", ci="hksj")
        assert res.estimate[i] == pytest.approx(ref.estimate, abs=1e-12)
        assert res.tau2[i] == pytest.approx(ref.tau2, abs=1e-12)
        assert res.ci_low[i] == pytest.approx(ref.ci_low, abs=1e-12)
        assert res.pi_high[i] == pytest.approx(ref.pi_high, abs=1e-12)
        assert res.i2[i] == pytest.approx(ref.i2, abs=1e-10)


def test_leave_one_out_two_studies_gives_single_study_fits():
    res = leave_one_out([0.1, 0.5], [0.1, 0.2])
    np.testing.assert_allclose(res.estimate, [0.5, 0.1])
    np.testing.assert_array_equal(res.tau2, [0.0, 0.0])
    np.testing.assert_array_equal(res.i2, [0.0, 0.0])  # metafor: I2 = 0 for k = 1


def test_leave_one_out_needs_two_studies():
    with pytest.raises(ValueError, match="at least two"):
        leave_one_out([0.1], [0.1])


@settings(max_examples=40, deadline=None)
@given(_studies(), st.randoms(use_true_random=False))
def test_leave_one_out_order_invariant(data, rnd):
    y, v = (np.array(a) for a in data)
    perm = np.array(rnd.sample(range(y.size), y.size))
    a = leave_one_out(y, v, method="REML")
    b = leave_one_out(y[perm], v[perm], method="REML")
    np.testing.assert_allclose(b.estimate, a.estimate[perm], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(b.tau2, a.tau2[perm], rtol=1e-7, atol=1e-9)
    assert (a.tau2 >= 0).all()
    assert (a.ci_low <= a.estimate).all() and (a.estimate <= a.ci_high).all()


# --- cumulative ------------------------------------------------------------------------


def test_cumulative_by_hand_common_effect():
    res = cumulative(Y3, V3, order=[2, 0, 1], method="EE")
    np.testing.assert_allclose(res.estimate, [2.0, 1.0, 1.0])
    np.testing.assert_array_equal(res.k, [1, 2, 3])
    np.testing.assert_array_equal(res.order, [2, 0, 1])
    assert res.i2[0] == 0.0 and res.tau2[0] == 0.0


def test_cumulative_default_is_data_order():
    res = cumulative(Y3, V3, method="EE")
    np.testing.assert_allclose(res.estimate, [0.0, 0.5, 1.0])


@pytest.mark.parametrize("bad", [[0, 1], [0, 1, 1], [0.0, 1.0, 2.0], [1, 2, 3]])
def test_cumulative_rejects_bad_order(bad):
    with pytest.raises(ValueError):
        cumulative(Y3, V3, order=np.array(bad))


@settings(max_examples=40, deadline=None)
@given(_studies(2, 10), st.randoms(use_true_random=False))
def test_cumulative_last_row_is_pool_of_all(data, rnd):
    y, v = (np.array(a) for a in data)
    order = np.array(rnd.sample(range(y.size), y.size))
    res = cumulative(y, v, order=order, method="REML")
    full = pool(y, v, method="REML")
    assert res.estimate[-1] == pytest.approx(full.estimate, rel=1e-9, abs=1e-10)
    assert res.tau2[-1] == pytest.approx(full.tau2, rel=1e-7, abs=1e-10)
    assert res.estimate[0] == pytest.approx(y[order[0]])


# --- influence -------------------------------------------------------------------------


def test_influence_by_hand_common_effect():
    res = influence(Y3, V3, method="EE")
    # mu = 1, vb = 1/3; without study 1: mu = 1.5, vb = 1/2
    np.testing.assert_allclose(res.hat, [1 / 3] * 3)
    np.testing.assert_allclose(res.weight, [100 / 3] * 3)
    assert res.cooks_d[0] == pytest.approx(0.25 / (1 / 3))
    assert res.cov_r[0] == pytest.approx(1.5)
    assert res.rstudent[0] == pytest.approx(-1.5 / math.sqrt(1.5))
    assert res.dffits[0] == pytest.approx(-0.5 / math.sqrt(1 / 3))
    assert res.rstudent[1] == 0.0 and res.cooks_d[1] == 0.0


def test_influence_by_hand_hartung_knapp():
    """With ``ci="hksj"`` every variance is scaled by the Hartung-Knapp factor s2w, as
    metafor's influence of ``rma(..., test="knha")`` (its values for these data agree)."""
    res = influence(Y3, V3, method="EE", ci="hksj")
    # full: mu = 1, s2w = (1 + 0 + 1) / 2 = 1, vb = 1/3; without study 1: mu = 1.5,
    # s2w = (0.25 + 0.25) / 1 = 0.5, vb = 0.5 / 2 = 0.25
    assert res.rstudent[0] == pytest.approx(-1.5 / math.sqrt(0.5 + 0.25))
    assert res.dffits[0] == pytest.approx(-0.5 / math.sqrt(0.5 / 3))
    assert res.cooks_d[0] == pytest.approx(0.25 / (1 / 3))
    assert res.cov_r[0] == pytest.approx(0.25 / (1 / 3))
    assert res.dfbetas[0] == pytest.approx(-0.5 / math.sqrt(0.5 / 3))
    np.testing.assert_array_equal(res.influential, [True, False, True])
    np.testing.assert_allclose(res.hat, [1 / 3] * 3)


def test_influence_flags_an_outlier():
    y = np.array([0.1, 0.2, 0.15, 0.05, 0.12, 3.0])
    v = np.array([0.05, 0.04, 0.06, 0.05, 0.05, 0.01])
    res = influence(y, v)
    assert res.influential[-1] and not res.influential[:-1].any()
    assert res.weight.sum() == pytest.approx(100.0)


def test_influence_needs_three_studies():
    with pytest.raises(ValueError, match="three"):
        influence([0.1, 0.2], [0.1, 0.1])


# --- GOSH ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["EE", "DL"])
def test_gosh_all_subsets_and_full_row(method):
    rng = np.random.default_rng(1)
    y, v = rng.normal(0, 0.5, 7), rng.uniform(0.02, 0.3, 7)
    g = gosh(y, v, method=method)
    assert g.exhaustive and g.membership.shape == (127, 7)
    assert len({tuple(r) for r in g.membership}) == 127
    full = np.flatnonzero(g.membership.all(axis=1))[0]
    ref = pool(y, v, method=method)
    assert g.estimate[full] == pytest.approx(ref.estimate, abs=1e-12)
    assert g.tau2[full] == pytest.approx(ref.tau2, abs=1e-12)
    assert g.q[full] == pytest.approx(ref.q, rel=1e-10)
    assert g.i2[full] == pytest.approx(ref.i2, abs=1e-9)
    singles = g.k == 1
    np.testing.assert_allclose(g.estimate[singles], y[np.argmax(g.membership[singles], 1)])
    assert (g.i2[singles] == 0).all() and (g.h2[singles] == 1).all()


def test_gosh_random_sample_is_seeded_and_non_empty():
    y, v = np.linspace(-1, 1, 25), np.full(25, 0.1)
    a = gosh(y, v, max_subsets=500, seed=3)
    b = gosh(y, v, max_subsets=500, seed=3)
    assert not a.exhaustive and a.membership.shape == (500, 25)
    assert a.membership.any(axis=1).all()
    np.testing.assert_array_equal(a.membership, b.membership)
    np.testing.assert_array_equal(a.k, a.membership.sum(axis=1))


def test_gosh_chunks_agree_with_one_block():
    rng = np.random.default_rng(2)
    y, v = rng.normal(0, 0.5, 9), rng.uniform(0.02, 0.3, 9)
    a = gosh(y, v, method="DL", chunk_size=37)
    b = gosh(y, v, method="DL")
    np.testing.assert_allclose(a.estimate, b.estimate, rtol=0, atol=1e-13)


def test_gosh_rejects_other_methods():
    with pytest.raises(ValueError, match="GOSH"):
        gosh(Y3, V3, method="REML")


@settings(max_examples=25, deadline=None)
@given(_studies(2, 8), st.sampled_from(["EE", "DL"]))
def test_gosh_full_set_equals_pool(data, method):
    y, v = (np.array(a) for a in data)
    g = gosh(y, v, method=method)
    full = np.flatnonzero(g.membership.all(axis=1))[0]
    ref = pool(y, v, method=method)
    assert g.estimate[full] == pytest.approx(ref.estimate, rel=1e-9, abs=1e-9)
    assert g.tau2[full] == pytest.approx(ref.tau2, rel=1e-7, abs=1e-9)
