"""Inverse-variance pooling: common effect and random effects, as R's metafor ``rma``.

Notation (intercept-only model): yi effects, vi sampling variances, wi = 1/(vi + tau2),
mu = sum(wi yi) / sum(wi), se = 1/sqrt(sum wi), Q = sum((yi - mu_EE)^2 / vi).

tau2 estimators (Viechtbauer 2005; Veroniki et al. 2016, Res Synth Methods 7:55):
  DL   (Q - (k-1)) / (sum w - sum w^2 / sum w),  w = 1/vi, truncated at 0
  HE   (sum (yi - ybar)^2 - (k-1)/k sum vi) / (k-1), truncated at 0
  HS   (Q - k) / sum w, truncated at 0
  SJ   tau0 Q(tau0) / (k-1), tau0 = sum (yi - ybar)^2 / k
  PM   root of Q(tau2) = k-1, where Q(tau2) = sum wi (yi - mu)^2 (generalized Q)
  EB   empirical Bayes; for the intercept-only model its root is that of PM
  ML   root of sum wi^2 (yi - mu)^2 = sum wi
  REML root of sum wi^2 (yi - mu)^2 = sum wi - sum wi^2 / sum wi

The iterative estimators are solved by safeguarded Newton steps (a bracket kept from the
sign of the estimating equation, bisection when a step leaves it), to a step below
1e-13 (relative), within ``MAX_ITER`` iterations. All work is vectorised over rows so that
many fits (leave-one-out, cumulative, GOSH) run as one array computation: a study that a
row leaves out has vi = inf (weight 0) and yi = 0.

Heterogeneity as metafor reports it: I2 = 100 tau2 / (tau2 + s2) and H2 = (tau2 + s2) / s2
with s2 = (k-1) sum w / ((sum w)^2 - sum w^2) (Higgins & Thompson 2002, eq. 9); for the
common-effect model I2 = 100 max(0, Q - (k-1)) / Q and H2 = Q / (k-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from scipy import special, stats

Method = Literal["EE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB"]
CIMethod = Literal["wald", "hksj"]

METHODS: tuple[str, ...] = ("REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE")
ITERATIVE: frozenset[str] = frozenset({"REML", "ML", "PM", "EB"})
CI_METHODS: tuple[str, ...] = ("wald", "hksj")
MAX_ITER = 200
#: metafor warns when max(vi) / min(vi) reaches 1 / evtol = 1e7 (its default ``evtol``)
VARIANCE_RATIO_WARN = 1e7
_RTOL = 1e-13
_ATOL = 1e-15

METHOD_LABELS: dict[str, str] = {
    "REML": "restricted maximum likelihood",
    "DL": "DerSimonian-Laird",
    "PM": "Paule-Mandel",
    "ML": "maximum likelihood",
    "HS": "Hunter-Schmidt",
    "SJ": "Sidik-Jonkman",
    "HE": "Hedges",
    "EB": "empirical Bayes",
    "EE": "common effect (inverse variance)",
}


# ---------------------------------------------------------------------------------------
# Array helpers: rows are separate fits, columns are studies; vi = inf means "not in row".


def _as_rows(yi: object, vi: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim == 1:
        y, v = y[None, :], v[None, :]
    if y.shape != v.shape:
        raise ValueError(f"yi and vi differ in shape: {y.shape} vs {v.shape}")
    return y, v


class _Rows(NamedTuple):
    """What every estimator needs, computed once per call: y (0 where a study is not in its
    row), v, common-effect weights w = 1/v, k, sum w, sum w^2, Q and the unweighted mean
    and residual sum of squares (for HE and SJ)."""

    y: np.ndarray
    v: np.ndarray
    w: np.ndarray
    k: np.ndarray
    sw: np.ndarray
    sw2: np.ndarray
    q: np.ndarray
    inrow: np.ndarray | None  # None: every study is in every row


def _prepare(y: np.ndarray, v: np.ndarray) -> _Rows:
    finite = np.isfinite(v)
    inrow = None if finite.all() else finite
    if inrow is not None:
        y = np.where(inrow, y, 0.0)
    k = finite.sum(axis=1)
    w = 1.0 / v
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    r = y - mu[:, None]
    if inrow is not None:
        r = np.where(inrow, r, 0.0)
    q = (w * r * r).sum(axis=1)
    return _Rows(y, v, w, k, sw, (w * w).sum(axis=1), q, inrow)


def _unweighted_rss(r: _Rows) -> np.ndarray:
    """sum (yi - ybar)^2 over the studies in each row."""
    ybar = r.y.sum(axis=1) / r.k
    dev = r.y - ybar[:, None]
    if r.inrow is not None:
        dev = np.where(r.inrow, dev, 0.0)
    return (dev * dev).sum(axis=1)


def _typical_variance(r: _Rows) -> np.ndarray:
    """s2 = (k-1) sum w / ((sum w)^2 - sum w^2), w = 1/vi (Higgins & Thompson 2002)."""
    return (r.k - 1) * r.sw / (r.sw**2 - r.sw2)


# ---------------------------------------------------------------------------------------
# tau2 estimators (closed forms); errors are ignored by the caller's np.errstate


def _tau2_dl(r: _Rows) -> np.ndarray:
    return np.where(r.k > 1, np.maximum((r.q - (r.k - 1)) / (r.sw - r.sw2 / r.sw), 0.0), 0.0)


def _tau2_he(r: _Rows) -> np.ndarray:
    sv = (r.v if r.inrow is None else np.where(r.inrow, r.v, 0.0)).sum(axis=1)
    t = (_unweighted_rss(r) - (r.k - 1) / r.k * sv) / (r.k - 1)
    return np.where(r.k > 1, np.maximum(t, 0.0), 0.0)


def _tau2_hs(r: _Rows) -> np.ndarray:
    return np.where(r.k > 1, np.maximum((r.q - r.k) / r.sw, 0.0), 0.0)


def _tau2_sj(r: _Rows) -> np.ndarray:
    tau0 = _unweighted_rss(r) / r.k
    qw = _prepare(r.y, r.v + tau0[:, None]).q
    return np.where(r.k > 1, np.maximum(tau0 * qw / (r.k - 1), 0.0), 0.0)


def _score(
    method: str, y: np.ndarray, v: np.ndarray, t: np.ndarray, target: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimating equation g(tau2) (root = estimate; g > 0 means the root lies above), its
    derivative dg/dtau2 and the Fisher information of metafor's scoring step, for each row.

    REML: g = y'PPy - tr(P), info = tr(PP); ML: g = y'PPy - sum w, info = sum w^2;
    PM/EB (and the Q-profile, "QP"): g = Q(tau2) - target, dg = -sum w^2 r^2."""
    w = 1.0 / (v + t[:, None])
    s1 = w.sum(axis=1)
    w2 = w * w
    mu = (w * y).sum(axis=1) / s1
    r = y - mu[:, None]
    wr2 = w2 * r * r
    a = wr2.sum(axis=1)
    if method in ("PM", "EB", "QP"):
        # Q(tau2) - target; dQ/dtau2 = -sum w^2 r^2 (the mu-derivative term vanishes)
        return (w * r * r).sum(axis=1) - target, -a, a
    b = (wr2 * w).sum(axis=1)
    c = (w2 * r).sum(axis=1)
    s2w = w2.sum(axis=1)
    da = -2.0 * b + 2.0 * c * c / s1
    if method == "ML":
        return a - s1, da + s2w, s2w
    s3w = (w2 * w).sum(axis=1)
    ratio = s2w / s1
    dtr_p = -s2w + 2.0 * s3w / s1 - ratio * ratio
    return a - (s1 - ratio), da - dtr_p, s2w - 2.0 * s3w / s1 + ratio * ratio


@dataclass(frozen=True)
class _Solve:
    tau2: np.ndarray
    converged: np.ndarray
    iterations: int


def _newton_bracketed(
    method: str,
    y: np.ndarray,
    v: np.ndarray,
    t: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    active: np.ndarray,
    target: np.ndarray | None,
    max_iter: int,
) -> _Solve:
    """A root of g in [lo, hi] for the active rows by Newton steps from t, keeping the bracket
    (g(lo) > 0 > g(hi)); a step that leaves it, or a non-negative slope, is replaced by
    bisection (or by doubling while hi is still unknown)."""
    converged = ~active
    iterations = 0
    while iterations < max_iter and not converged.all():
        iterations += 1
        g, dg, _ = _score(method, y, v, t, target)
        lo = np.where(g > 0, t, lo)
        hi = np.where(g < 0, t, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            cand = t - g / dg
        bad = ~np.isfinite(cand) | (cand <= lo) | (cand >= hi) | (dg >= 0)
        fallback = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * t + 1.0)
        new = np.where(bad, fallback, cand)
        new = np.where(converged | (g == 0), t, new)
        step = np.abs(new - t)
        converged = converged | (step <= _ATOL + _RTOL * np.abs(t)) | (g == 0)
        t = new
    return _Solve(tau2=t, converged=converged, iterations=iterations)


def _solve_root(
    method: str,
    y: np.ndarray,
    v: np.ndarray,
    start: np.ndarray,
    target: np.ndarray | None = None,
    max_iter: int = MAX_ITER,
) -> _Solve:
    """Root of a decreasing estimating equation (PM, EB, Q-profile) in tau2 >= 0.

    Rows whose equation is <= 0 at tau2 = 0 get tau2 = 0; the others a bracketed Newton root."""
    m = y.shape[0]
    g0, _, _ = _score(method, y, v, np.zeros(m), target)
    active = g0 > 0
    t = np.where(active, np.maximum(start, 0.0), 0.0)
    return _newton_bracketed(
        method, y, v, t, np.zeros(m), np.full(m, np.inf), active, target, max_iter
    )


_GRID = np.geomspace(1e-6, 1.0, 25)


def _solve_likelihood(
    method: str, y: np.ndarray, v: np.ndarray, start: np.ndarray, max_iter: int = MAX_ITER
) -> _Solve:
    """ML or REML tau2: the maximum that metafor's Fisher scoring reaches from ``start`` (HE),
    followed, as metafor does, by its ``ll0check`` (a maximum lower than the likelihood at
    tau2 = 0 gives way to 0).

    The likelihood can have two maxima (or one on the boundary and one inside). Scoring goes
    uphill from the start, so the root wanted is the first one in the direction the score
    points at the start: above it when g(start) > 0; below it when g(start) < 0 (bracketed by
    0 when g(0) > 0; otherwise the highest sign change + to - found on a geometric grid of
    (0, start], or the boundary 0 when there is none). Each root is then found by bracketed
    Newton steps."""
    m = y.shape[0]
    zeros = np.zeros(m)
    inf = np.full(m, np.inf)
    t = np.maximum(start, 0.0)
    g0, _, _ = _score(method, y, v, zeros)
    gs, _, _ = _score(method, y, v, t)
    up = (gs > 0) | ((t == 0) & (g0 > 0))
    down = (t > 0) & (gs < 0) & (g0 > 0)
    lo = np.where(up, t, zeros)
    hi = np.where(down, t, inf)
    hard = np.flatnonzero((t > 0) & (gs < 0) & (g0 <= 0))
    if hard.size:
        n = _GRID.size
        pts = t[hard, None] * _GRID[None, :]  # (hard rows, grid)
        gg, _, _ = _score(
            method,
            np.repeat(y[hard], n, axis=0),
            np.repeat(v[hard], n, axis=0),
            pts.ravel(),
        )
        positive = gg.reshape(hard.size, n) > 0
        found = positive.any(axis=1)
        # highest grid point with g > 0; the next one up has g <= 0 (the last is the start)
        top = (n - 1 - np.argmax(positive[:, ::-1], axis=1))[found]
        rows = hard[found]
        lo[rows] = pts[found, top]
        hi[rows] = pts[found, top + 1]
        t[hard[~found]] = 0.0
        t[rows] = lo[rows]
        down[rows] = True
    active = up | down
    sol = _newton_bracketed(method, y, v, t, lo, hi, active, None, max_iter)
    t = np.where(active, sol.tau2, t)
    # metafor's ll0check: an inside maximum lower than the likelihood at tau2 = 0 gives way to 0
    lower = (t > 0) & (g0 <= 0)
    if lower.any():
        drop = _loglik(method, y, v, zeros) - _loglik(method, y, v, t) > 1e-13
        t = np.where(lower & drop, 0.0, t)
    return _Solve(tau2=t, converged=sol.converged, iterations=sol.iterations)


def _loglik(method: str, y: np.ndarray, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """ML or REML log-likelihood of the intercept-only model at tau2 = t, per row."""
    vt = v + t[:, None]
    w = 1.0 / vt
    sw = w.sum(axis=1)
    mu = (w * y).sum(axis=1) / sw
    rss = (w * (y - mu[:, None]) ** 2).sum(axis=1)
    logdet = np.where(np.isfinite(vt), np.log(vt), 0.0).sum(axis=1)
    k = np.isfinite(v).sum(axis=1)
    if method == "ML":
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * rss
    return -0.5 * (k - 1) * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * np.log(sw) - 0.5 * rss


@dataclass(frozen=True)
class Tau2Fit:
    """tau2 for each row; ``converged`` False means the DL value stands in (see ``note``)."""

    tau2: np.ndarray
    converged: np.ndarray
    iterations: int
    note: str | None


def tau2_many(y: np.ndarray, v: np.ndarray, method: str) -> Tau2Fit:
    """tau2 by ``method`` for every row of (y, v); vi = inf marks a study not in the row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _tau2(_prepare(*_as_rows(y, v)), method)


def _tau2(r: _Rows, method: str) -> Tau2Fit:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    m = r.k.size
    ones = np.ones(m, dtype=bool)
    if method == "EE":
        return Tau2Fit(np.zeros(m), ones, 0, None)
    closed = {"DL": _tau2_dl, "HE": _tau2_he, "HS": _tau2_hs, "SJ": _tau2_sj}
    if method in closed:
        return Tau2Fit(closed[method](r), ones, 0, None)
    if method in ("PM", "EB"):
        sol = _solve_root(method, r.y, r.v, _tau2_dl(r), (r.k - 1).astype(float))
    else:
        sol = _solve_likelihood(method, r.y, r.v, _tau2_he(r))
    tau2 = np.where(r.k > 1, sol.tau2, 0.0)
    conv = sol.converged | (r.k <= 1)
    note = None
    if not conv.all():
        tau2 = np.where(conv, tau2, _tau2_dl(r))
        note = (
            f"{method} did not converge in {MAX_ITER} iterations for "
            f"{int((~conv).sum())} fit(s); the DerSimonian-Laird tau2 is used there instead"
        )
    return Tau2Fit(tau2, conv, sol.iterations, note)


# ---------------------------------------------------------------------------------------
# Pooled estimates


@dataclass(frozen=True)
class PoolTable:
    """Pooled results for many fits at once (one entry per row), for sensitivity analyses."""

    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    stat: np.ndarray
    pvalue: np.ndarray
    tau2: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    q: np.ndarray
    q_pvalue: np.ndarray
    k: np.ndarray
    pi_low: np.ndarray
    pi_high: np.ndarray
    converged: np.ndarray
    weights: np.ndarray  # percent, same shape as the inputs; 0 where a study is not in a row
    method: str
    ci: str
    note: str | None


def pool_many(
    yi: object,
    vi: object,
    method: str = "REML",
    ci: str = "wald",
    level: float = 0.95,
) -> PoolTable:
    """Pool every row of a (fits x studies) array; vi = inf leaves a study out of a row.

    The building block of ``pool``, leave-one-out, cumulative and GOSH analyses.
    """
    if ci not in CI_METHODS:
        raise ValueError(f"unknown CI method {ci!r}; choose 'wald' or 'hksj'")
    with np.errstate(divide="ignore", invalid="ignore"):
        r = _prepare(*_as_rows(yi, vi))
        fit = _tau2(r, method)
        t, k, q = fit.tau2, r.k, r.q
        w = 1.0 / (r.v + t[:, None])
        sw = w.sum(axis=1)
        mu = (w * r.y).sum(axis=1) / sw
        se = 1.0 / np.sqrt(sw)
        df = k - 1
        q_p = np.where(df > 0, special.chdtrc(np.maximum(df, 1), q), 1.0)
        if method == "EE":
            i2 = np.where(q > 0, 100.0 * np.maximum(q - df, 0.0) / q, 0.0)
            h2 = q / df
        else:
            s2 = _typical_variance(r)
            i2 = 100.0 * t / (t + s2)
            h2 = (t + s2) / s2
        alpha = 1.0 - level
        flat = False
        if ci == "hksj":
            res = r.y - mu[:, None]
            if r.inrow is not None:
                res = np.where(r.inrow, res, 0.0)
            wald_se = se
            se = np.sqrt((w * res * res).sum(axis=1) / df / sw)
            flat = bool(np.any((df > 0) & (se <= 1e-8 * wald_se)))
            stat = mu / se
            crit = np.where(df > 0, special.stdtrit(np.maximum(df, 1), 1.0 - alpha / 2), np.nan)
            pval = np.where(df > 0, 2.0 * special.stdtr(np.maximum(df, 1), -np.abs(stat)), np.nan)
        else:
            crit = np.full(mu.shape, -special.ndtri(alpha / 2))
            stat = mu / se
            pval = special.erfc(np.abs(stat) / math.sqrt(2.0))
        half = crit * se
        if method == "EE":
            pi_low = pi_high = np.full(mu.shape, np.nan)
        else:
            pi_half = crit * np.sqrt(se * se + t)
            pi_low, pi_high = mu - pi_half, mu + pi_half
        weights = 100.0 * w / sw[:, None]
    return PoolTable(
        estimate=mu,
        se=se,
        ci_low=mu - half,
        ci_high=mu + half,
        stat=stat,
        pvalue=pval,
        tau2=t,
        i2=np.where(k > 1, i2, np.nan),
        h2=np.where(k > 1, h2, np.nan),
        q=q,
        q_pvalue=q_p,
        k=k,
        pi_low=pi_low,
        pi_high=pi_high,
        converged=fit.converged,
        weights=weights,
        method=method,
        ci=ci,
        note=_hksj_note(fit.note) if flat else fit.note,
    )


def _hksj_note(note: str | None) -> str:
    """Add to ``note`` that identical estimates leave Hartung-Knapp an interval of no width."""
    flat = (
        "the study estimates are identical, so the Hartung-Knapp SE is 0 and its interval has "
        "no width (metafor gives the same); the Wald CI is the one to read here"
    )
    return flat if note is None else f"{note}; {flat}"


@dataclass(frozen=True)
class PoolResult:
    """One pooled estimate on the analysis scale (log ratio or difference), as metafor's
    ``rma`` prints it. ``stat`` is z (Wald) or t on ``df`` = k-1 (Hartung-Knapp)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    pvalue: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_pvalue: float
    df: int
    pi_low: float
    pi_high: float
    k: int
    method: str
    ci: str
    level: float
    weights: tuple[float, ...]
    converged: bool
    note: str | None

    @property
    def tau(self) -> float:
        return math.sqrt(self.tau2)

    @property
    def dist(self) -> str:
        return "t" if self.ci == "hksj" else "z"


def check_inputs(yi: object, vi: object) -> tuple[np.ndarray, np.ndarray]:
    """1-d float arrays of equal length with finite yi and positive finite vi, or ValueError."""
    y = np.atleast_1d(np.asarray(yi, dtype=float))
    v = np.atleast_1d(np.asarray(vi, dtype=float))
    if y.ndim != 1 or y.shape != v.shape:
        raise ValueError("yi and vi must be 1-d and of the same length")
    if y.size == 0:
        raise ValueError("no studies to pool")
    if not np.isfinite(y).all():
        raise ValueError("every yi must be a finite number")
    if not (np.isfinite(v).all() and (v > 0).all()):
        raise ValueError("every vi must be a positive finite number")
    return y, v


def pool(
    yi: object,
    vi: object,
    method: str = "REML",
    ci: str = "wald",
    level: float = 0.95,
) -> PoolResult:
    """Pool effect sizes ``yi`` with sampling variances ``vi``.

    ``method``: "EE" (common effect) or a tau2 estimator (REML default, DL, PM, ML, HS, SJ,
    HE, EB). ``ci``: "wald" (z) or "hksj" (Hartung-Knapp-Sidik-Jonkman, t on k-1 df, no
    truncation of the scale factor, as metafor's ``test="knha"``). The prediction interval is
    estimate +/- crit sqrt(se^2 + tau2), crit = z or t(k-1) to match ``ci``; undefined (NaN)
    for the common-effect model. With k = 1 the estimate is the study itself, tau2 = 0 and
    I2, H2 are undefined.
    """
    y, v = check_inputs(yi, vi)
    tab = pool_many(y, v, method=method, ci=ci, level=level)
    note = tab.note
    if y.size == 1:
        note = "one study: the pooled result is that study's own estimate"
    elif v.max() >= VARIANCE_RATIO_WARN * v.min():
        spread = (
            f"the largest sampling variance is {v.max() / v.min():.1e} times the smallest; as "
            "metafor warns, the results may not be numerically stable"
        )
        note = spread if note is None else f"{note}; {spread}"
    return PoolResult(
        estimate=float(tab.estimate[0]),
        se=float(tab.se[0]),
        ci_low=float(tab.ci_low[0]),
        ci_high=float(tab.ci_high[0]),
        stat=float(tab.stat[0]),
        pvalue=float(tab.pvalue[0]),
        tau2=float(tab.tau2[0]),
        i2=float(tab.i2[0]),
        h2=float(tab.h2[0]),
        q=float(tab.q[0]),
        q_pvalue=float(tab.q_pvalue[0]),
        df=int(y.size - 1),
        pi_low=float(tab.pi_low[0]),
        pi_high=float(tab.pi_high[0]),
        k=int(y.size),
        method=method,
        ci=ci,
        level=level,
        weights=tuple(float(x) for x in tab.weights[0]),
        converged=bool(tab.converged[0]),
        note=note,
    )


# ---------------------------------------------------------------------------------------
# Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's confint()


@dataclass(frozen=True)
class Tau2CI:
    """Q-profile CI for tau2, and the matching I2 and H2 bounds (percent for I2).

    ``note`` says when a bound lies beyond the searched range [0, tau2_max] (then the bound
    shown is tau2_max, as metafor prints it) or when the interval is the null set."""

    tau2: float
    tau2_low: float
    tau2_high: float
    i2_low: float
    i2_high: float
    h2_low: float
    h2_high: float
    level: float
    note: str | None


def tau2_ci(yi: object, vi: object, method: str = "REML", level: float = 0.95) -> Tau2CI:
    """Bounds are the tau2 values where the generalized Q equals the chi2(k-1) quantiles:
    Q(tau2_low) = chi2_{1-alpha/2}, Q(tau2_high) = chi2_{alpha/2}; a bound is 0 when
    Q(0) already lies below its quantile. As metafor's ``confint``, the search range is
    [0, max(100, 10 tau2)] with tau2 from ``method``. I2 and H2 bounds follow from s2."""
    y, v = check_inputs(yi, vi)
    k = y.size
    if k < 2:
        raise ValueError("a confidence interval for tau2 needs at least two studies")
    alpha = 1.0 - level
    crit = np.array([stats.chi2.isf(alpha / 2, k - 1), stats.chi2.ppf(alpha / 2, k - 1)])
    yy, vv = np.vstack([y, y]), np.vstack([v, v])
    sol = _solve_root("QP", yy, vv, np.zeros(2), crit)
    tau2 = float(tau2_many(y, v, method).tau2[0])
    tau2_max = max(100.0, 10.0 * tau2)
    lo, hi = (min(float(x), tau2_max) for x in sol.tau2)
    notes = []
    if hi == 0.0:
        notes.append("the interval is the null set (Q at tau2 = 0 is below both quantiles)")
    if float(sol.tau2[1]) > tau2_max:
        notes.append(f"the upper bound lies above the searched range; shown as > {tau2_max:g}")
    if float(sol.tau2[0]) > tau2_max:
        notes.append(f"the lower bound lies above the searched range; shown as > {tau2_max:g}")
    s2 = float(_typical_variance(_prepare(y[None, :], v[None, :]))[0])
    return Tau2CI(
        tau2=tau2,
        tau2_low=lo,
        tau2_high=hi,
        i2_low=100.0 * lo / (lo + s2),
        i2_high=100.0 * hi / (hi + s2),
        h2_low=(lo + s2) / s2,
        h2_high=(hi + s2) / s2,
        level=level,
        note="; ".join(notes) or None,
    )
