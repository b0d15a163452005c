"""core.stats.bayes against an independent dense 2-D integration of the joint posterior.

The reference below never uses the analytic integration over mu that the module relies on:
it evaluates the joint density p(mu, tau | y) ∝ HN(tau; s) prod N(y_i; mu, v_i + tau^2) on a
dense (mu, tau) grid and integrates it with Simpson's rule (scipy.integrate), the CDFs by
cumulative Simpson. Summaries must agree to 1e-4 (issue 16, "How it is checked").
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, interpolate, optimize, special, stats

from core.stats.bayes import bayes_meta

TOL = 1e-4

#: (name, yi, vi): k = 1, 2, 3, 7; homogeneous and heterogeneous.
DATASETS = [
    ("k1", [-0.4], [0.09]),
    ("k2-homogeneous", [-0.30, -0.25], [0.05, 0.08]),
    ("k2-heterogeneous", [-1.2, 0.4], [0.04, 0.06]),
    ("k3-homogeneous", [-0.5, -0.45, -0.6], [0.04, 0.09, 0.1]),
    ("k3-heterogeneous", [-1.5, 0.2, -0.3], [0.05, 0.03, 0.08]),
    ("k7-homogeneous", [-0.2, -0.35, -0.1, -0.3, -0.25, -0.15, -0.4],
     [0.02, 0.05, 0.08, 0.03, 0.1, 0.06, 0.04]),
    ("k7-heterogeneous", [-1.1, 0.3, -0.6, -0.05, -1.4, 0.5, -0.3],
     [0.03, 0.05, 0.12, 0.02, 0.09, 0.06, 0.04]),
]  # fmt: skip


def _quantile(grid: np.ndarray, cdf: np.ndarray, p: float) -> float:
    """x with CDF(x) = p, the CDF interpolated by a cubic spline between grid points."""
    i = int(np.searchsorted(cdf, p))
    lo, hi = max(i - 3, 0), min(i + 3, grid.size)
    roots = interpolate.CubicSpline(grid[lo:hi], cdf[lo:hi]).solve(p, extrapolate=False)
    return float(roots[0])


def reference(
    yi: list[float], vi: list[float], scale: float, pred_guess: tuple[float, float]
) -> dict[str, float]:
    """Posterior summaries by brute force on a (mu, tau) grid; the predictive quantiles are
    searched within 0.01 of ``pred_guess`` (brentq fails if they are not there)."""
    y, v = np.asarray(yi), np.asarray(vi)
    spread = float(np.ptp(y)) + 3.0 * scale + 4.0 * math.sqrt(v.max())
    mu = np.linspace(y.min() - 4.0 * spread, y.max() + 4.0 * spread, 2001)
    tau = np.linspace(0.0, 9.0 * scale + 2.0 * float(np.ptp(y)), 1001)
    logj = np.outer(-0.5 * (tau / scale) ** 2, np.ones_like(mu))  # rows tau, columns mu
    for yk, vk in zip(y, v, strict=True):
        s2 = (vk + tau**2)[:, None]
        logj += -0.5 * (yk - mu[None, :]) ** 2 / s2 - 0.5 * np.log(s2)
    joint = np.exp(logj - logj.max())
    z = integrate.simpson(integrate.simpson(joint, x=mu, axis=1), x=tau)
    mu_dens = integrate.simpson(joint, x=tau, axis=0) / z
    tau_dens = integrate.simpson(joint, x=mu, axis=1) / z
    mu_cdf = integrate.cumulative_simpson(mu_dens, x=mu, initial=0.0)
    tau_cdf = integrate.cumulative_simpson(tau_dens, x=tau, initial=0.0)
    mean = float(integrate.simpson(mu * mu_dens, x=mu))
    sd = math.sqrt(float(integrate.simpson((mu - mean) ** 2 * mu_dens, x=mu)))
    sdt = np.maximum(tau, 1e-300)[:, None]

    def pred_cdf(x: float) -> float:
        """P(theta_new <= x): theta_new | mu, tau ~ N(mu, tau^2) (tau = 0: a point mass)."""
        inner = special.ndtr((x - mu[None, :]) / sdt)
        inner[0] = (mu <= x).astype(float)
        return float(integrate.simpson(integrate.simpson(joint * inner, x=mu, axis=1), x=tau)) / z

    def pred_q(p: float, guess: float) -> float:
        f = lambda x: pred_cdf(x) - p  # noqa: E731
        return float(optimize.brentq(f, guess - 0.01, guess + 0.01, xtol=1e-7))

    return {
        "mu_median": _quantile(mu, mu_cdf, 0.5),
        "mu_low": _quantile(mu, mu_cdf, 0.025),
        "mu_high": _quantile(mu, mu_cdf, 0.975),
        "mu_mean": mean,
        "mu_sd": sd,
        "tau_median": _quantile(tau, tau_cdf, 0.5),
        "tau_low": _quantile(tau, tau_cdf, 0.025),
        "tau_high": _quantile(tau, tau_cdf, 0.975),
        "p_benefit": float(interpolate.CubicSpline(mu, mu_cdf)(0.0)),
        "pred_low": pred_q(0.025, pred_guess[0]),
        "pred_high": pred_q(0.975, pred_guess[1]),
    }


CASES = [(d, 0.5) for d in DATASETS] + [
    (d, s) for d in DATASETS if d[0] in ("k1", "k3-heterogeneous") for s in (0.25, 1.0)
]


@pytest.mark.parametrize(("data", "scale"), CASES, ids=[f"{d[0]}-scale{s:g}" for d, s in CASES])
def test_posterior_equals_dense_integration(
    data: tuple[str, list[float], list[float]], scale: float
) -> None:
    _, yi, vi = data
    got = bayes_meta(yi, vi, tau_prior=scale)
    ref = reference(yi, vi, scale, (got.pred_low, got.pred_high))
    for key, want in ref.items():
        assert getattr(got, key) == pytest.approx(want, abs=TOL), key


def test_one_study_tau_is_its_prior() -> None:
    """k = 1: the tau posterior is the half-normal prior (median s * z_0.75), mu | tau is
    N(y, v + tau^2) and the note says the prior decides tau."""
    got = bayes_meta([-0.4], [0.09], tau_prior=0.5)
    assert got.tau_median == pytest.approx(0.5 * stats.norm.ppf(0.75), abs=1e-9)
    assert got.tau_high == pytest.approx(0.5 * stats.norm.ppf(0.9875), abs=1e-9)
    assert got.mu_median == pytest.approx(-0.4, abs=1e-9)
    assert got.mu_sd == pytest.approx(math.sqrt(0.09 + 0.25), abs=1e-9)  # E tau^2 = s^2
    assert got.note is not None and "prior" in got.note


def test_bad_prior_scale_is_refused() -> None:
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="prior scale"):
            bayes_meta([-0.1, 0.2], [0.1, 0.1], tau_prior=bad)


effects = st.lists(st.tuples(st.floats(-3, 3), st.floats(0.005, 2.0)), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(effects, st.floats(0.05, 2.0))
def test_invariants(data: list[tuple[float, float]], scale: float) -> None:
    """p_benefit in [0, 1]; median inside the CrI; the predictive interval holds the CrI;
    a wider prior on tau gives a CrI at least as wide (k >= 1)."""
    y, v = [d[0] for d in data], [d[1] for d in data]
    a = bayes_meta(y, v, tau_prior=scale)
    b = bayes_meta(y, v, tau_prior=2 * scale)
    assert 0.0 <= a.p_benefit <= 1.0
    assert a.mu_low < a.mu_median < a.mu_high
    assert a.pred_low <= a.mu_low + 1e-9 and a.pred_high >= a.mu_high - 1e-9
    assert 0.0 <= a.tau_low < a.tau_median < a.tau_high
    assert b.mu_high - b.mu_low >= a.mu_high - a.mu_low - 1e-9
    assert sum(a.weights) == pytest.approx(100.0)


@settings(max_examples=10, deadline=None)
@given(st.floats(-3, 3), st.floats(0.005, 2.0))
def test_one_study_huge_prior(y: float, v: float) -> None:
    """k = 1 with a huge prior scale: finite, wide intervals centred on the study."""
    got = bayes_meta([y], [v], tau_prior=100.0)
    assert got.mu_median == pytest.approx(y, abs=1e-6)
    assert got.mu_high - got.mu_low > 100.0
    assert math.isfinite(got.pred_low) and math.isfinite(got.pred_high)
    assert 0.0 < got.p_benefit < 1.0
