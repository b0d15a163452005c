"""Bayesian random-effects meta-analysis by numerical integration (as R's bayesmeta; no MCMC).

The normal-normal hierarchical model (Röver 2020, J Stat Softw 93(6); Friede et al. 2017,
Biom J 59:658; Röver et al. 2021, Res Synth Methods 12:448):

  y_i | theta_i ~ N(theta_i, v_i),  theta_i | mu, tau ~ N(mu, tau^2),
  p(mu) ∝ 1 (improper flat),  tau ~ half-normal(scale s):  p(tau) ∝ exp(-tau^2 / (2 s^2)).

Given tau, mu is integrated out analytically: with w_i = 1/(v_i + tau^2),

  mu | tau, y ~ N(m(tau), 1/sum w),  m(tau) = sum w_i y_i / sum w_i,
  p(tau | y) ∝ p(tau) (sum w)^(-1/2) prod w_i^(1/2) exp(-1/2 sum w_i (y_i - m(tau))^2).

The marginal posterior of tau is integrated by composite Gauss-Legendre quadrature on [0, T]
(T where the density has dropped below e^-50 of its maximum); the posterior of mu is then the
mixture of the normals N(m(tau), 1/sum w) over p(tau | y), and a new study's effect
theta_new the mixture of N(m(tau), 1/sum w + tau^2). Quantiles are roots of the mixture CDFs.
With one study the likelihood does not depend on tau: its posterior is the prior.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

from core.stats.heterogeneity import i2_h2, typical_variance
from core.stats.pooling import PoolResult, check_inputs, pool
from core.stats.tidy import one_row_frame

#: Default scale of the half-normal prior on tau (log-ratio scale; Röver et al. 2021).
DEFAULT_TAU_PRIOR = 0.5
#: Prior scales of the sensitivity line (half, default, double).
SENSITIVITY_SCALES: tuple[float, ...] = (0.25, 0.5, 1.0)
#: Gauss-Legendre nodes per panel, and the number of panels of the tau grid.
_NODES = 12
_PANELS = 400
#: Log density drop (from the maximum) beyond which the tau posterior is cut off.
_LOG_DROP = 50.0
_GL_X, _GL_W = np.polynomial.legendre.leggauss(_NODES)


@dataclass(frozen=True)
class BayesResult:
    """Posterior summaries of the mean effect mu (log ratio) and of tau, at ``level``.

    ``mu_median``, ``mu_low``, ``mu_high``: posterior median and equal-tailed credible
    interval; ``mu_mean``, ``mu_sd``: posterior mean and standard deviation; ``tau_*``: the
    same for tau; ``p_benefit`` = P(mu < 0 | y) = P(ratio < 1); ``pred_low``, ``pred_high``:
    the equal-tailed posterior predictive interval of a new study's true effect theta_new;
    ``weights``: the studies' posterior mean weights in percent (E[w_i / sum w | y]);
    ``note``: a caution in words (one study: tau is the prior's), or None.
    """

    mu_median: float
    mu_low: float
    mu_high: float
    mu_mean: float
    mu_sd: float
    tau_median: float
    tau_low: float
    tau_high: float
    p_benefit: float
    pred_low: float
    pred_high: float
    k: int
    tau_prior: float
    level: float
    weights: tuple[float, ...]
    note: str | None

    def summary_row(self) -> dict[str, Any]:
        """The posterior as one record: model ("BAYES"), mu_median, mu_low, mu_high,
        mu_mean, mu_sd, tau_median, tau_low, tau_high, p_benefit, pred_low, pred_high, k,
        tau_prior."""
        cols = (
            "mu_median", "mu_low", "mu_high", "mu_mean", "mu_sd", "tau_median", "tau_low",
            "tau_high", "p_benefit", "pred_low", "pred_high", "k", "tau_prior",
        )  # fmt: skip
        return {"model": "BAYES"} | {c: getattr(self, c) for c in cols}

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame indexed by the model."""
        return one_row_frame(self.summary_row(), "model")


@dataclass(frozen=True)
class _Posterior:
    """The tau quadrature: nodes, normalised weights (density x quadrature weight), panel
    edges with the CDF at each edge, and m(tau), 1/sum w at the nodes."""

    tau: np.ndarray
    omega: np.ndarray
    edges: np.ndarray
    cdf_edges: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    log_norm: float
    y: np.ndarray
    v: np.ndarray
    scale: float


def _log_density(tau: np.ndarray, y: np.ndarray, v: np.ndarray, scale: float) -> np.ndarray:
    """log p(tau | y) up to a constant, and m(tau), 1/sum w (one value per tau)."""
    t2 = (tau * tau)[:, None]
    w = 1.0 / (v[None, :] + t2)
    sw = w.sum(axis=1)
    m = (w * y[None, :]).sum(axis=1) / sw
    r = y[None, :] - m[:, None]
    ll = 0.5 * np.log(w).sum(axis=1) - 0.5 * np.log(sw) - 0.5 * (w * r * r).sum(axis=1)
    return ll - 0.5 * (tau / scale) ** 2


def _upper(y: np.ndarray, v: np.ndarray, scale: float) -> float:
    """T: beyond it the tau density is below e^-50 of its maximum (searched on a log grid)."""
    spread = float(np.ptp(y)) if y.size > 1 else 0.0
    top = 20.0 * (scale + spread + math.sqrt(float(v.max())))
    grid = np.concatenate([[0.0], np.geomspace(top * 1e-9, top, 2000)])
    ld = _log_density(grid, y, v, scale)
    keep = np.flatnonzero(ld >= ld.max() - _LOG_DROP)
    last = int(keep[-1])
    return float(grid[min(last + 1, grid.size - 1)])


def _panels(y: np.ndarray, v: np.ndarray, upper: float) -> np.ndarray:
    """Panel edges on [0, upper]: evenly spaced, plus geometric ones near 0 (where the
    density changes on the scale of the smallest sampling SD)."""
    small = min(math.sqrt(float(v.min())), upper) * 1e-3
    edges = np.union1d(
        np.linspace(0.0, upper, _PANELS + 1), np.geomspace(small, upper, _PANELS // 2)
    )
    return edges


def _posterior(y: np.ndarray, v: np.ndarray, scale: float) -> _Posterior:
    edges = _panels(y, v, _upper(y, v, scale))
    a, b = edges[:-1, None], edges[1:, None]
    half = (b - a) / 2.0
    tau = (a + half * (_GL_X[None, :] + 1.0)).ravel()
    qw = (half * _GL_W[None, :]).ravel()
    ld = _log_density(tau, y, v, scale)
    top = float(ld.max())
    dens = np.exp(ld - top) * qw
    total = float(dens.sum())
    omega = dens / total
    cdf = np.concatenate([[0.0], np.cumsum(omega.reshape(-1, _NODES).sum(axis=1))])
    w = 1.0 / (v[None, :] + (tau * tau)[:, None])
    sw = w.sum(axis=1)
    mean = (w * y[None, :]).sum(axis=1) / sw
    return _Posterior(tau, omega, edges, cdf, mean, 1.0 / sw, top + math.log(total), y, v, scale)


def _tau_cdf(post: _Posterior, x: float) -> float:
    """P(tau <= x | y): whole panels below x, and Gauss-Legendre on the part of x's panel."""
    if x <= 0.0:
        return 0.0
    if x >= post.edges[-1]:
        return 1.0
    i = int(np.searchsorted(post.edges, x, side="right")) - 1
    a = float(post.edges[i])
    half = (x - a) / 2.0
    nodes = a + half * (_GL_X + 1.0)
    ld = _log_density(nodes, post.y, post.v, post.scale)
    part = float((np.exp(ld - post.log_norm) * half * _GL_W).sum())
    return float(post.cdf_edges[i]) + part


def _mixture_cdf(post: _Posterior, x: float, extra: np.ndarray | None = None) -> float:
    """P(mu <= x | y), or with ``extra`` = tau^2 that of theta_new (mixture of normals)."""
    var = post.var if extra is None else post.var + extra
    return float((post.omega * special.ndtr((x - post.mean) / np.sqrt(var))).sum())


def _quantile(cdf: Callable[[float], float], p: float, low: float, high: float) -> float:
    """The root of cdf(x) = p in [low, high] (cdf increasing)."""
    return float(optimize.brentq(lambda x: cdf(x) - p, low, high, xtol=1e-12, rtol=1e-12))


def bayes_meta(
    yi: object, vi: object, tau_prior: float = DEFAULT_TAU_PRIOR, level: float = 0.95
) -> BayesResult:
    """Posterior summaries of the normal-normal hierarchical model (module docstring) with a
    half-normal prior of scale ``tau_prior`` on tau and a flat prior on mu."""
    if not (isinstance(tau_prior, int | float) and math.isfinite(tau_prior) and tau_prior > 0):
        raise ValueError("the prior scale of tau must be a positive number")
    y, v = check_inputs(yi, vi)
    post = _posterior(y, v, float(tau_prior))
    lo_p, hi_p = (1.0 - level) / 2.0, 1.0 - (1.0 - level) / 2.0
    sd_max = math.sqrt(float((post.var + post.tau**2).max()))
    low = float(post.mean.min()) - 40.0 * sd_max
    high = float(post.mean.max()) + 40.0 * sd_max

    def mu_cdf(x: float) -> float:
        return _mixture_cdf(post, x)

    def pred_cdf(x: float) -> float:
        return _mixture_cdf(post, x, post.tau**2)

    def tau_cdf(x: float) -> float:
        return _tau_cdf(post, x)

    mu_mean = float((post.omega * post.mean).sum())
    mu_var = float((post.omega * (post.var + post.mean**2)).sum()) - mu_mean**2
    t_top = float(post.edges[-1])
    w = 1.0 / (v[None, :] + (post.tau**2)[:, None])
    share = (post.omega[:, None] * w / w.sum(axis=1, keepdims=True)).sum(axis=0)
    note = None
    if y.size == 1:
        note = (
            "one study: the data say nothing about between-study heterogeneity, so the "
            "posterior of τ is its prior"
        )
    return BayesResult(
        mu_median=_quantile(mu_cdf, 0.5, low, high),
        mu_low=_quantile(mu_cdf, lo_p, low, high),
        mu_high=_quantile(mu_cdf, hi_p, low, high),
        mu_mean=mu_mean,
        mu_sd=math.sqrt(max(mu_var, 0.0)),
        tau_median=_quantile(tau_cdf, 0.5, 0.0, t_top),
        tau_low=_quantile(tau_cdf, lo_p, 0.0, t_top),
        tau_high=_quantile(tau_cdf, hi_p, 0.0, t_top),
        p_benefit=min(max(mu_cdf(0.0), 0.0), 1.0),
        pred_low=_quantile(pred_cdf, lo_p, low, high),
        pred_high=_quantile(pred_cdf, hi_p, low, high),
        k=int(y.size),
        tau_prior=float(tau_prior),
        level=level,
        weights=tuple(float(x) * 100.0 for x in share),
        note=note,
    )


def as_pool_result(res: BayesResult, yi: object, vi: object) -> PoolResult:
    """``res`` in the shape of a frequentist fit, for the pages that draw any pooled result:
    estimate = posterior median, se = posterior SD, CI = credible interval, tau2 = (posterior
    median of tau)^2, I2 and H2 from that tau2 and the typical within-study variance
    s2 = (k-1) sum w / ((sum w)^2 - sum w^2) (Higgins & Thompson 2002), Q and its p-value as
    for any model (they do not depend on tau), no test statistic or p-value (NaN), the
    posterior predictive interval as the prediction interval; ``method`` is "BAYES"."""
    y, v = check_inputs(yi, vi)
    common = pool(y, v, method="EE")
    tau2 = res.tau_median**2
    nan = math.nan
    if res.k > 1:  # as the frequentist fit: one weight 1e16 times the others leaves s2 = inf
        i2, h2 = i2_h2(tau2, typical_variance(v))
    else:
        i2 = h2 = nan
    return PoolResult(
        estimate=res.mu_median,
        se=res.mu_sd,
        wald_se=res.mu_sd,
        hk_se=nan,
        ci_low=res.mu_low,
        ci_high=res.mu_high,
        stat=nan,
        pvalue=nan,
        tau2=tau2,
        i2=i2,
        h2=h2,
        q=common.q,
        q_pvalue=common.q_pvalue,
        df=res.k - 1,
        pi_low=res.pred_low,
        pi_high=res.pred_high,
        k=res.k,
        method="BAYES",
        ci="wald",
        level=res.level,
        weights=res.weights,
        converged=True,
        note=res.note,
    )


def prior_sensitivity(
    yi: object, vi: object, scales: tuple[float, ...] = SENSITIVITY_SCALES
) -> tuple[BayesResult, ...]:
    """The model under each prior scale of tau in ``scales`` (the page's sensitivity line)."""
    return tuple(bayes_meta(yi, vi, tau_prior=s) for s in scales)
