"""Small-study effects: Egger's regression test, Begg's rank test, trim-and-fill and the
data of a contour-enhanced funnel plot.

Each function reproduces R's metafor (3.8): ``regtest`` (model "lm" and "rma", predictor
sei), ``ranktest``, ``trimfill.rma.uni`` and the contours of ``funnel``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from core.stats import rma
from core.stats.effects import Z975
from core.stats.heterogeneity import cochran_q, i2_common, i2_h2, typical_variance
from core.stats.pooling import Control, check_inputs, pool, tau2_design, wald_or_t
from core.stats.subgroups import meta_regression
from core.stats.tidy import one_row_frame

__all__ = [
    "BeggTest",
    "EggerTest",
    "FunnelData",
    "TrimAndFill",
    "begg_test",
    "egger_test",
    "funnel_data",
    "trim_and_fill",
]


# ---------------------------------------------------------------------------------------
# metafor's rma.uni fit under its *default* control (Fisher scoring to a change of 1e-5).
# trimfill.rma.uni does not pass the user's control to its internal fits, so matching its
# numbers to 1e-8 needs the same iteration, not a tighter root (differences up to 1e-5).
# The mixed-effects Egger test uses core.stats.subgroups.meta_regression instead.


@dataclass(frozen=True)
class _RmaFit:
    beta: np.ndarray
    vb: np.ndarray
    tau2: float


def _rma_mods(
    y: np.ndarray,
    v: np.ndarray,
    x: np.ndarray,
    method: str,
    threshold: float = 1e-13,
    maxiter: int = 10_000,
) -> _RmaFit:
    """Weighted least squares with tau2 by ``method`` exactly as metafor's ``rma.uni``:
    EE (tau2 = 0), DL (generalized, truncated at 0), ML and REML by metafor's own Fisher
    scoring loop from the HE start, stopping when the change is <= ``threshold`` (metafor's
    default control uses 1e-5), followed by its ll0check with its tolerance eps^(1/4):
    ``tau2_design`` under that ``Control``."""
    k, p = x.shape
    if method not in ("EE", "DL", "REML", "ML"):
        raise ValueError(f"method {method!r} is not available here; use REML, ML, DL or EE")
    tau2 = 0.0
    if method != "EE" and k > p:
        control = Control(threshold, maxiter, np.finfo(float).eps ** 0.25)
        with rma.weights_in_range(v):
            fit = tau2_design(method, x, y, v, control)
        if not fit.converged:
            raise ValueError(f"{method} meta-regression did not converge in {maxiter} iterations")
        tau2 = fit.tau2
    w = 1.0 / (v + tau2)
    if p == 1:  # intercept only: exactly rounded sums, so mirror-image studies cancel
        sw = math.fsum(w)
        return _RmaFit(np.array([math.fsum(w * y) / sw]), np.array([[1.0 / sw]]), float(tau2))
    wx = x * w[:, None]
    xtwx = x.T @ wx
    if np.linalg.cond(xtwx) > 1e12:
        raise ValueError(
            "the model matrix is singular or nearly so (a moderator without variation, or "
            "sampling variances many orders of magnitude apart)"
        )
    vb = np.linalg.inv(xtwx)
    beta = vb @ (wx.T @ y)
    return _RmaFit(beta=beta, vb=vb, tau2=float(tau2))


# ---------------------------------------------------------------------------------------
# Egger's regression test


@dataclass(frozen=True)
class EggerTest:
    """Egger's regression test for funnel-plot asymmetry, as metafor's ``regtest``.

    model "lm": weighted least squares of yi on sei with weights 1/vi (Egger et al. 1997);
    ``stat`` is t of the slope on ``df`` = k-2. model "rma": meta-regression of yi on sei
    with tau2 by ``method`` (metafor's default test); ``stat`` is z and ``df`` undefined.
    ``limit_estimate`` is the intercept: the effect as sei -> 0 (metafor's ``est``)."""

    stat: float
    pvalue: float
    df: float
    slope: float
    slope_se: float
    limit_estimate: float
    limit_ci_low: float
    limit_ci_high: float
    tau2: float
    k: int
    model: str
    method: str | None

    def summary_row(self) -> dict[str, Any]:
        """The test as one record, in metafor's ``regtest`` terms: model, tval on df (model
        "lm") or zval (model "rma"), pval, slope and slope_se (the coefficient of sei),
        limit_estimate with limit_ci_low and limit_ci_high (metafor's ``est``, ``ci.lb``,
        ``ci.ub``), tau2, k, method."""
        return {
            "model": self.model,
            "tval" if self.model == "lm" else "zval": self.stat,
            "df": self.df,
            "pval": self.pvalue,
            "slope": self.slope,
            "slope_se": self.slope_se,
            "limit_estimate": self.limit_estimate,
            "limit_ci_low": self.limit_ci_low,
            "limit_ci_high": self.limit_ci_high,
            "tau2": self.tau2,
            "k": self.k,
            "method": self.method,
        }

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame indexed by the model."""
        return one_row_frame(self.summary_row(), "model")


def egger_test(
    yi: object, vi: object, model: str = "rma", method: str = "REML", level: float = 0.95
) -> EggerTest:
    """Regression test of yi on its standard error; needs k >= 3."""
    y, v = check_inputs(yi, vi)
    k = y.size
    if k < 3:
        raise ValueError("Egger's test needs at least three studies")
    sei = np.sqrt(v)
    if np.ptp(sei) <= 1e-12 * sei.max():
        raise ValueError("Egger's test needs studies of different precision (all SEs are equal)")
    x = np.column_stack([np.ones(k), sei])
    alpha = 1.0 - level
    if model == "lm":
        w = 1.0 / v
        wx = x * w[:, None]
        xtwx_inv = np.linalg.inv(x.T @ wx)
        beta = xtwx_inv @ (wx.T @ y)
        df = k - 2
        sigma2 = float((w * (y - x @ beta) ** 2).sum()) / df
        se = np.sqrt(sigma2 * np.diag(xtwx_inv))
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = beta[1] / se[1]
        pvalue = float(2.0 * stats.t.sf(abs(stat), df))
        crit = stats.t.isf(alpha / 2, df)
        return EggerTest(
            stat=float(stat),
            pvalue=pvalue,
            df=float(df),
            slope=float(beta[1]),
            slope_se=float(se[1]),
            limit_estimate=float(beta[0]),
            limit_ci_low=float(beta[0] - crit * se[0]),
            limit_ci_high=float(beta[0] + crit * se[0]),
            tau2=0.0,
            k=k,
            model="lm",
            method=None,
        )
    if model != "rma":
        raise ValueError(f"unknown model {model!r}; choose 'lm' or 'rma'")
    fit = meta_regression(y, v, sei, method=method, r2=False, level=level)
    return EggerTest(
        stat=float(fit.stat[1]),
        pvalue=float(fit.pvalue[1]),
        df=math.nan,
        slope=float(fit.coef[1]),
        slope_se=float(fit.se[1]),
        limit_estimate=float(fit.coef[0]),
        limit_ci_low=float(fit.ci_low[0]),
        limit_ci_high=float(fit.ci_high[0]),
        tau2=float(fit.tau2),
        k=k,
        model="rma",
        method=method,
    )


# ---------------------------------------------------------------------------------------
# Begg's rank correlation test


@dataclass(frozen=True)
class BeggTest:
    """Begg & Mazumdar (1994) rank correlation test, as metafor's ``ranktest``: Kendall's
    tau (tau-b) between the standardized deviates (yi - theta)/sqrt(vi - 1/sum w), theta
    the common-effect estimate, and vi. p-value exact (``exact`` True) when there are no
    ties, else the normal approximation with R's tie-corrected variance of S."""

    tau: float
    pvalue: float
    exact: bool
    k: int

    def summary_row(self) -> dict[str, Any]:
        """The test as one record: tau (Kendall's), pval, exact (False: normal approximation
        for ties), k."""
        return {"tau": self.tau, "pval": self.pvalue, "exact": self.exact, "k": self.k}

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame."""
        return one_row_frame(self.summary_row())


def _kendall_cdf(q: int, n: int) -> float:
    """P(T <= q) for T the number of concordant pairs of n untied observations (the
    Mahonian distribution of inversions), as R's ``pkendall``."""
    dist = np.array([1.0])
    for m in range(2, n + 1):
        new = np.zeros(dist.size + m - 1)
        for j in range(m):
            new[j : j + dist.size] += dist
        dist = new / m
    if q < 0:
        return 0.0
    return float(min(1.0, dist[: q + 1].sum()))


def _tie_counts(x: np.ndarray) -> np.ndarray:
    _, counts = np.unique(x, return_counts=True)
    return counts[counts > 1].astype(float)


def begg_test(yi: object, vi: object) -> BeggTest:
    """Rank correlation test for funnel-plot asymmetry; needs k >= 3."""
    y, v = check_inputs(yi, vi)
    n = y.size
    if n < 3:
        raise ValueError("Begg's rank test needs at least three studies")
    w = 1.0 / v
    theta = float((w * y).sum() / w.sum())
    vstar = v - 1.0 / w.sum()
    resid = y - theta
    # a residual at rounding level is a tie with theta, not a sign (identical effects)
    resid[np.abs(resid) <= 8 * np.finfo(float).eps * max(np.abs(y).max(), abs(theta))] = 0.0
    ystar = resid / np.sqrt(vstar)
    dx = np.sign(ystar[:, None] - ystar[None, :])
    dy = np.sign(v[:, None] - v[None, :])
    iu = np.triu_indices(n, 1)
    s = float((dx * dy)[iu].sum())
    n0 = n * (n - 1) / 2
    n1 = float(np.count_nonzero(dx[iu] == 0))
    n2 = float(np.count_nonzero(dy[iu] == 0))
    if n0 in (n1, n2):
        raise ValueError("Begg's test is undefined: all standardized effects or all variances tie")
    tau = s / math.sqrt((n0 - n1) * (n0 - n2))
    ties = min(np.unique(ystar).size, np.unique(v).size) < n
    if not ties:
        q = round((tau + 1) * n * (n - 1) / 4)
        p = 1.0 - _kendall_cdf(q - 1, n) if q > n * (n - 1) / 4 else _kendall_cdf(q, n)
        return BeggTest(tau=tau, pvalue=min(2.0 * p, 1.0), exact=True, k=n)
    xt, yt = _tie_counts(ystar), _tie_counts(v)
    big_s = tau * math.sqrt((n0 - (xt * (xt - 1)).sum() / 2) * (n0 - (yt * (yt - 1)).sum() / 2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = (xt * (xt - 1) * (2 * xt + 5)).sum()
    vu = (yt * (yt - 1) * (2 * yt + 5)).sum()
    v1 = (xt * (xt - 1)).sum() * (yt * (yt - 1)).sum()
    v2 = (xt * (xt - 1) * (xt - 2)).sum() * (yt * (yt - 1) * (yt - 2)).sum()
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = big_s / math.sqrt(var_s)
    return BeggTest(tau=tau, pvalue=float(special.erfc(abs(z) / math.sqrt(2.0))), exact=False, k=n)


# ---------------------------------------------------------------------------------------
# Trim and fill


@dataclass(frozen=True)
class TrimAndFill:
    """Duval & Tweedie's trim and fill, as metafor's ``trimfill.rma.uni``.

    ``k0`` studies are estimated missing on ``side`` (metafor's rule: the side opposite to
    the sign of the slope of yi on sei); they are filled as mirror images 2 mu - yi of the
    k0 most extreme studies about the trimmed estimate mu, and the model is refitted to the
    k + k0 studies (estimate, se, CI, p, tau2, I2 below). With k0 = 0 the result is the
    original fit and ``filled_yi``/``filled_vi`` are empty."""

    k0: int
    se_k0: float
    side: str
    estimator: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    pvalue: float
    tau2: float
    i2: float
    q: float
    k: int
    filled_yi: np.ndarray
    filled_vi: np.ndarray
    original_estimate: float
    original_ci_low: float
    original_ci_high: float
    method: str

    def summary_row(self) -> dict[str, Any]:
        """The result as one record, in metafor's ``trimfill`` terms: method (of tau2), k0,
        se_k0, side, estimator, then the fit to the k + k0 studies (estimate, se, zval,
        pval, ci_low, ci_high, tau2, i2, q, k) and the original fit's original_estimate,
        original_ci_low, original_ci_high. The filled studies are ``filled_yi``/``filled_vi``."""
        return {
            "method": self.method,
            "k0": self.k0,
            "se_k0": self.se_k0,
            "side": self.side,
            "estimator": self.estimator,
            "estimate": self.estimate,
            "se": self.se,
            "zval": self.stat,
            "pval": self.pvalue,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "tau2": self.tau2,
            "i2": self.i2,
            "q": self.q,
            "k": self.k,
            "original_estimate": self.original_estimate,
            "original_ci_low": self.original_ci_low,
            "original_ci_high": self.original_ci_high,
        }

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame indexed by the method."""
        return one_row_frame(self.summary_row(), "method")


def _first_ranks(x: np.ndarray) -> np.ndarray:
    """R's rank(x, ties.method = "first")."""
    r = np.empty(x.size)
    r[np.argsort(x, kind="stable")] = np.arange(1, x.size + 1)
    return r


_DEFAULT_THRESHOLD = 1e-5  # metafor's default control: trimfill refits without the user's


def _side_slope(y: np.ndarray, v: np.ndarray, method: str) -> float:
    """Slope of yi on sei in metafor's side regression, from centred sums (so an exactly
    symmetric funnel gives exactly 0, as metafor, and the side "left")."""
    sei = np.sqrt(v)
    if np.ptp(sei) <= 1e-12 * sei.max():
        raise ValueError(
            "cannot choose the side automatically when all studies have the same variance; "
            "pass side='left' or side='right'"
        )
    x = np.column_stack([np.ones(y.size), sei])
    tau2 = _rma_mods(y, v, x, method, threshold=_DEFAULT_THRESHOLD, maxiter=100).tau2
    w = 1.0 / (v + tau2)
    sw = math.fsum(w)
    sc = sei - math.fsum(w * sei) / sw
    yc = y - math.fsum(w * y) / sw
    return math.fsum(w * sc * yc) / math.fsum(w * sc * sc)


def _fit_intercept(y: np.ndarray, v: np.ndarray, method: str, threshold: float) -> _RmaFit:
    return _rma_mods(y, v, np.ones((y.size, 1)), method, threshold=threshold, maxiter=100)


def trim_and_fill(
    yi: object,
    vi: object,
    method: str = "REML",
    estimator: str = "L0",
    side: str | None = None,
    maxiter: int = 100,
) -> TrimAndFill:
    """Trim and fill (Duval & Tweedie 2000) with estimator "L0" (default), "R0" or "Q0".

    ``method``: "REML" (default), "ML", "DL" or "EE". ``side`` None chooses it as metafor
    does. As metafor, the fits inside the algorithm and the refit with the filled studies
    use metafor's default convergence (Fisher scoring to a change of 1e-5); the original
    fit (reported when k0 = 0) is converged tightly. Needs k >= 3.
    """
    y, v = check_inputs(yi, vi)
    k = y.size
    if k < 3:
        raise ValueError("trim and fill needs at least three studies")
    if estimator not in ("L0", "R0", "Q0"):
        raise ValueError(f"unknown estimator {estimator!r}; choose L0, R0 or Q0")
    original = pool(y, v, method=method)
    if side is None:
        side = "right" if _side_slope(y, v, method) < 0 else "left"
    elif side not in ("left", "right"):
        raise ValueError("side must be 'left', 'right' or None")
    sgn = -1.0 if side == "right" else 1.0
    ys = sgn * y
    ix = np.argsort(ys, kind="stable")
    ys, vs = ys[ix], v[ix]
    k0, k0_prev, it = 0, -1, 0
    beta = math.nan
    se_k0 = math.nan
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > maxiter:
            raise ValueError("the trim-and-fill algorithm did not converge")
        beta = float(_fit_intercept(ys[: k - k0], vs[: k - k0], method, _DEFAULT_THRESHOLD).beta[0])
        yc = ys - beta
        signed = np.sign(yc) * _first_ranks(np.abs(yc))
        if estimator == "R0":
            neg = -signed[signed < 0]
            k0f = (k - (neg.max() if neg.size else -math.inf)) - 1
            se_k0 = math.sqrt(2 * max(0.0, k0f) + 2)
        else:
            sr = float(signed[signed > 0].sum())
            if estimator == "L0":
                k0f = (4 * sr - k * (k + 1)) / (2 * k - 1)
            else:
                disc = 2 * k * k - 4 * sr + 0.25
                if disc < 0:
                    raise ValueError(
                        "the Q0 estimator is undefined for these data (metafor stops too); "
                        "use estimator='L0' or 'R0'"
                    )
                k0f = k - 0.5 - math.sqrt(disc)
            var_sr = (
                k * (k + 1) * (2 * k + 1)
                + 10 * k0f**3
                + 27 * k0f**2
                + 17 * k0f
                - 18 * k * k0f**2
                - 18 * k * k0f
                + 6 * k * k * k0f
            ) / 24
            if estimator == "L0":
                se_k0 = 4 * math.sqrt(max(var_sr, 0.0)) / (2 * k - 1)
            else:
                se_k0 = (
                    2
                    * math.sqrt(max(var_sr, 0.0))
                    / math.sqrt((k - 0.5) ** 2 - k0f * (2 * k - k0f - 1))
                )
        k0 = int(max(0, _round_half_even(k0f)))
        se_k0 = max(0.0, se_k0)
    if k0 == 0:
        filled_yi, filled_vi = np.empty(0), np.empty(0)
        refit = {f: getattr(original, f) for f in _REFIT}
    else:
        filled_yi = sgn * (2.0 * beta - ys[k - k0 :])
        filled_vi = vs[k - k0 :].copy()
        refit = _refit(np.concatenate([y, filled_yi]), np.concatenate([v, filled_vi]), method)
    return TrimAndFill(
        k0=k0,
        se_k0=se_k0,
        side=side,
        estimator=estimator,
        **refit,
        filled_yi=filled_yi,
        filled_vi=filled_vi,
        original_estimate=original.estimate,
        original_ci_low=original.ci_low,
        original_ci_high=original.ci_high,
        method=method,
    )


#: the fields of TrimAndFill that describe the fit to the k + k0 studies
_REFIT = ("estimate", "se", "ci_low", "ci_high", "stat", "pvalue", "tau2", "i2", "q", "k")


def _refit(y: np.ndarray, v: np.ndarray, method: str) -> dict[str, Any]:
    """The fit to the studies with the filled ones (``_REFIT``), under metafor's default
    control as trimfill.rma.uni refits: Wald z at 95%, I2 as ``pool`` reports it."""
    fit = _fit_intercept(y, v, method, _DEFAULT_THRESHOLD)
    est, se = float(fit.beta[0]), float(math.sqrt(fit.vb[0, 0]))
    stat, pval, _ = wald_or_t(est, se, None, 0.95)
    q = cochran_q(y, 1.0 / v)
    k = y.size
    i2 = i2_common(q, k - 1) if method == "EE" else i2_h2(fit.tau2, typical_variance(v))[0]
    fields = (est, se, est - Z975 * se, est + Z975 * se, stat, pval, fit.tau2, i2, q, k)
    return dict(zip(_REFIT, fields, strict=True))


def _round_half_even(x: float) -> float:
    """R's round(): halves to even (IEC 60559), as Python's round."""
    return float(round(x))


# ---------------------------------------------------------------------------------------
# Funnel plot data


@dataclass(frozen=True)
class FunnelData:
    """What a contour-enhanced funnel plot (Peters et al. 2008) needs, as tidy columns.

    ``points``: yi, sei, vi per study. ``funnel``: the pseudo 95% confidence region
    estimate +/- z sei over the ``sei`` grid (columns sei, lower, upper). ``contours``:
    long format (level, sei, lower, upper): for each significance level the boundaries
    0 +/- z_(1-(1-level)/2) sei, as metafor's ``funnel(refline = 0, level = ...)``; a study
    outside the ``level`` band is significant at 1 - level (two-sided)."""

    points: dict[str, np.ndarray]
    funnel: dict[str, np.ndarray]
    contours: dict[str, np.ndarray]
    estimate: float
    levels: tuple[float, ...]
    sei_max: float


def funnel_data(
    yi: object,
    vi: object,
    estimate: float | None = None,
    levels: tuple[float, ...] = (0.90, 0.95, 0.99),
    n_grid: int = 2,
) -> FunnelData:
    """Points and contour lines of a funnel plot with the standard error on the y axis.

    ``estimate`` defaults to the REML pooled estimate. The boundaries are straight lines in
    sei, so ``n_grid`` = 2 points (sei = 0 and the largest sei) describe them exactly; ask
    for more to draw with a renderer that interpolates.
    """
    y, v = check_inputs(yi, vi)
    if any(not 0 < lv < 1 for lv in levels):
        raise ValueError("levels must lie strictly between 0 and 1")
    if n_grid < 2:
        raise ValueError("n_grid must be at least 2")
    sei = np.sqrt(v)
    est = pool(y, v).estimate if estimate is None else float(estimate)
    sei_max = float(sei.max())
    grid = np.linspace(0.0, sei_max, n_grid)
    lvls = tuple(sorted(float(lv) for lv in levels))
    lv_col, s_col, lo_col, hi_col = [], [], [], []
    for lv in lvls:
        z = stats.norm.isf((1.0 - lv) / 2.0)
        lv_col.append(np.full(grid.size, lv))
        s_col.append(grid)
        lo_col.append(-z * grid)
        hi_col.append(z * grid)
    return FunnelData(
        points={"yi": y, "sei": sei, "vi": v},
        funnel={"sei": grid, "lower": est - Z975 * grid, "upper": est + Z975 * grid},
        contours={
            "level": np.concatenate(lv_col),
            "sei": np.concatenate(s_col),
            "lower": np.concatenate(lo_col),
            "upper": np.concatenate(hi_col),
        },
        estimate=est,
        levels=lvls,
        sei_max=sei_max,
    )
