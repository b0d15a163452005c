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

PM and EB are solved by safeguarded Newton steps (a bracket kept from the sign of the
estimating equation, bisection when a step leaves it), to a step below 1e-13 (relative),
within ``MAX_ITER`` iterations. The ML and REML likelihoods can have more than one maximum:
there the root is the one metafor's Fisher scoring reaches from its start (HE), found by
following its path until the root ahead is bracketed (see ``fisher_root``).
One control flow (``_tau2``: the estimators, ML/REML with metafor's ll0check, the DL
fallback; ``_fit``: the pooled result) runs on the intercept-only backends ``_Rows``, numpy
arrays whose rows are separate fits (``pool_many``: leave-one-out, cumulative, GOSH as one
array computation; a study that a row leaves out has vi = inf, weight 0, and yi = 0), and
``_LoopStudies``/``_ArrayStudies``, one fit in Python floats (``pool``), where numpy's
per-call overhead would be most of the time; ``_tau2`` also runs on ``_Design``, one fit over
any design matrix X (``tau2_design``: meta-regression, common-tau2 subgroups, the
mixed-effects Egger test). Each backend brings its closed forms, its likelihood (for
ll0check), its elementwise operations (``xp``) and its root finders (row-wise
``_solve_root`` and ``_fisher_path`` here, the scalar ``root_above_zero`` and
``fisher_root`` of core.stats.rma).

Heterogeneity as metafor reports it: I2 = 100 tau2 / (tau2 + s2) and H2 = tau2 / s2 + 1
with s2 = (k-1) sum w / ((sum w)^2 - sum w^2) (Higgins & Thompson 2002, eq. 9); for the
common-effect model I2 = 100 max(0, Q - (k-1)) / Q and H2 = Q / (k-1).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

import numpy as np
import pandas as pd
from scipy import special, stats

from core.stats.heterogeneity import i2_h2, typical_variance
from core.stats.rma import (
    FISHER_MAXITER,
    FISHER_STEPADJ,
    FISHER_THRESHOLD,
    Score,
    fisher_root,
    root_above_zero,
    settle,
)
from core.stats.rma import closed_form as design_closed_form
from core.stats.rma import loglik as design_loglik
from core.stats.rma import score as design_score
from core.stats.tidy import one_row_frame

Method = Literal["EE", "DL", "REML", "PM", "ML", "HS", "SJ", "HE", "EB"]
CIMethod = Literal["wald", "hksj"]
#: a float (one fit) or an array (one value per row) in formulas shared by both
_F = TypeVar("_F", float, np.ndarray)

METHODS: tuple[str, ...] = ("REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE")
ITERATIVE: frozenset[str] = frozenset({"REML", "ML", "PM", "EB"})
CI_METHODS: tuple[str, ...] = ("wald", "hksj")
MAX_ITER = 200
#: metafor's ll0check: a root whose likelihood is this much below the one at 0 gives way to 0
LL0_TOL = 1e-13
#: metafor warns when max(vi) / min(vi) reaches 1 / evtol = 1e7 (its default ``evtol``)
VARIANCE_RATIO_WARN = 1e7
_RTOL = 1e-13
_ATOL = 1e-15

# ---------------------------------------------------------------------------------------
# Backends for one control flow (``_tau2``, ``_fit`` below): many fits as numpy rows, or
# one fit in Python floats (and, for ``_tau2``, one fit over a design matrix). Each gives
# ``xp`` (the elementwise operations) and the sums over the studies; the estimators, the
# solver's decisions and the result are written once.


class _RowOps:
    """Elementwise operations on one value per row (numpy; the caller's np.errstate turns a
    zero denominator into inf or nan)."""

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return np.where(cond, a, b)

    maximum = staticmethod(np.maximum)
    sqrt = staticmethod(np.sqrt)
    log = staticmethod(np.log)
    abs = staticmethod(np.abs)
    logical_not = staticmethod(np.logical_not)
    erfc = staticmethod(special.erfc)
    ndtri = staticmethod(special.ndtri)
    chdtrc = staticmethod(special.chdtrc)
    stdtr = staticmethod(special.stdtr)
    stdtrit = staticmethod(special.stdtrit)

    @staticmethod
    def any(x: Any) -> bool:
        return bool(np.any(x))

    @staticmethod
    def count(x: Any) -> int:
        return int(np.count_nonzero(x))


class _FloatOps:
    """The same operations on Python floats (one fit), where numpy's per-call overhead would
    be most of the time. ``where`` evaluates both branches, so a zero denominator raises
    ZeroDivisionError (``pool`` then hands the fit to the row-wise backend)."""

    @staticmethod
    def where(cond: Any, a: Any, b: Any) -> Any:
        return a if cond else b

    maximum = max  # as np.maximum for maximum(x, 0.0) with x first: max(nan, 0.0) is nan
    sqrt = math.sqrt
    log = math.log
    abs = abs
    logical_not = operator.not_
    erfc = math.erfc
    any = bool
    count = int

    @staticmethod
    def ndtri(p: float) -> float:
        return float(special.ndtri(p))

    @staticmethod
    def chdtrc(df: float, x: float) -> float:
        return float(special.chdtrc(df, x))

    @staticmethod
    def stdtr(df: float, t: float) -> float:
        return float(special.stdtr(df, t))

    @staticmethod
    def stdtrit(df: float, p: float) -> float:
        return float(special.stdtrit(df, p))


class _Weighted(NamedTuple):
    """Sums over the studies at a tau2 (wi = 1/(vi + tau2)): s1 = sum w, mu = sum w y / s1,
    q = sum w (y - mu)^2 (generalized Q); ``w`` the weights themselves (rows only)."""

    s1: Any
    mu: Any
    q: Any
    w: Any = None


class _Tau2Fits(Protocol):
    """What ``_tau2`` needs from a backend, per fit (a float, or one value per row): k
    studies and p columns of the design (1: intercept only)."""

    xp: Any
    k: Any
    p: int
    #: ll0check's threshold and tolerance (``_ll0check``)
    threshold: float
    ll0_tol: float

    def full(self, x: Any) -> Any:
        """``x`` for every fit."""

    def closed_form(self, method: str) -> Any:
        """DL, HE, HS or SJ tau2, truncated at 0."""

    def root(self, method: str, start: Any, target: Any) -> tuple[Any, Any]:
        """PM/EB: root of Q(tau2) = target in tau2 >= 0, from ``start``: (tau2, converged)."""

    def fisher(self, method: str, start: Any) -> tuple[Any, Any]:
        """ML/REML: the root metafor's Fisher scoring reaches from ``start`` (before
        ll0check): (tau2, converged)."""

    def loglik_drop(self, method: str, t: Any) -> Any:
        """ll(0) - ll(t), the ML or REML log-likelihood (metafor's ll0check)."""


class _Fits(_Tau2Fits, Protocol):
    """What ``_fit`` needs besides (intercept-only backends): at tau2 = 0 sw = sum 1/vi,
    sw2 = sum 1/vi^2 and Cochran's Q."""

    sw: Any
    sw2: Any
    q: Any

    def at(self, t: Any) -> _Weighted | _Sums:
        """The sums at tau2 = t (s1, mu, q: see ``_Weighted``)."""

    def unweighted(self) -> tuple[Any, Any]:
        """sum (yi - ybar)^2 and sum vi (HE, SJ)."""

    def log1p_sum(self, t: Any) -> Any:
        """sum log(1 + t/vi) (the ML/REML likelihood)."""

    def percent_weights(self, t: Any, at: Any) -> Any:
        """100 wi / sum w at tau2 = t."""


class _InterceptOnly:
    """The intercept-only backends' closed forms and likelihood drop, written on the sums
    they hold (``_CLOSED_FORMS``, ``_loglik_drop``)."""

    p = 1
    threshold = FISHER_THRESHOLD
    ll0_tol = LL0_TOL

    def closed_form(self: Any, method: str) -> Any:
        return _CLOSED_FORMS[method](self)

    def loglik_drop(self: Any, method: str, t: Any) -> Any:
        return _loglik_drop(self, method, t)


# ---------------------------------------------------------------------------------------
# Row-wise backend: rows are separate fits, columns are studies; vi = inf means "not in row".


def _as_rows(yi: object, vi: object) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if y.ndim == 1:
        y, v = y[None, :], v[None, :]
    if y.shape != v.shape:
        raise ValueError(f"yi and vi differ in shape: {y.shape} vs {v.shape}")
    return y, v


class _Rows(_InterceptOnly):
    """Many fits at once: y (0 where a study is not in its row), v, w = 1/v, and per row k,
    sum w, sum w^2 and Q. The sums at the last tau2 asked for are kept (the ll0check and
    the result both need those at the estimate)."""

    xp = _RowOps

    def __init__(self, y: np.ndarray, v: np.ndarray) -> None:
        finite = np.isfinite(v)
        self.inrow = None if finite.all() else finite
        self.y = y if self.inrow is None else np.where(self.inrow, y, 0.0)
        self.v = v
        self.k = finite.sum(axis=1)
        self.w = 1.0 / v
        base = self._weighted(self.w)
        self.sw, self.q = base.s1, base.q
        self.sw2 = (self.w * self.w).sum(axis=1)
        self._last: tuple[np.ndarray, _Weighted] | None = None

    def _weighted(self, w: np.ndarray) -> _Weighted:
        s1 = w.sum(axis=1)
        mu = (w * self.y).sum(axis=1) / s1
        r = self.y - mu[:, None]
        if self.inrow is not None:
            r = np.where(self.inrow, r, 0.0)
        return _Weighted(s1, mu, (w * r * r).sum(axis=1), w)

    def full(self, x: Any) -> np.ndarray:
        return np.full(self.k.shape, x)

    def at(self, t: np.ndarray) -> _Weighted:
        if self._last is None or not np.array_equal(self._last[0], t):
            self._last = (t, self._weighted(1.0 / (self.v + t[:, None])))
        return self._last[1]

    def unweighted(self) -> tuple[np.ndarray, np.ndarray]:
        ybar = self.y.sum(axis=1) / self.k
        dev = self.y - ybar[:, None]
        v = self.v
        if self.inrow is not None:
            dev = np.where(self.inrow, dev, 0.0)
            v = np.where(self.inrow, v, 0.0)
        return (dev * dev).sum(axis=1), v.sum(axis=1)

    def log1p_sum(self, t: np.ndarray) -> np.ndarray:
        return np.log1p(self.w * t[:, None]).sum(axis=1)

    def root(self, method: str, start: np.ndarray, target: np.ndarray) -> tuple[Any, Any]:
        sol = _solve_root(method, self.y, self.v, start, target)
        return sol.tau2, sol.converged

    def fisher(self, method: str, start: np.ndarray) -> tuple[Any, Any]:
        y, v = self.y, self.v
        path = _fisher_path(method, y, v, start, FISHER_MAXITER)
        sol = _newton_bracketed(method, y, v, path.t, path.lo, path.hi, path.newton, None, MAX_ITER)
        return np.where(path.newton, sol.tau2, path.t), path.converged & sol.converged

    def percent_weights(self, t: np.ndarray, at: _Weighted) -> np.ndarray:
        return 100.0 * at.w / at.s1[:, None]


def _rowdot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum over each row of a * b, without the temporary."""
    return np.einsum("ij,ij->i", a, b)


def _score(
    method: str,
    y: np.ndarray,
    v: np.ndarray,
    t: np.ndarray,
    target: np.ndarray | None = None,
    slope: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimating equation g(tau2) (root = estimate; g > 0 means the root lies above), its
    derivative dg/dtau2 and the Fisher information of the scoring step, for each row
    (``slope=False``: g only, the other two nan).

    PM/EB (and the Q-profile, "QP"): g = Q(tau2) - target, dg = -sum w^2 r^2 (the
    mu-derivative term vanishes; information -dg); ML and REML: see ``_likelihood_score``.
    Written with in-place products: this is most of the time of leave-one-out and GOSH."""
    w = np.add(v, t[:, None])
    np.reciprocal(w, out=w)
    s1 = w.sum(axis=1)
    r = y - (_rowdot(w, y) / s1)[:, None]
    if method in ("PM", "EB", "QP"):
        wr = w * r
        a = _rowdot(wr, wr)
        return _rowdot(wr, r) - target, -a, a
    wr = np.multiply(w, r, out=r)
    a = _rowdot(wr, wr)
    w2 = w * w
    s2 = w2.sum(axis=1)
    if not slope:
        nan = np.full_like(s1, np.nan)
        return _likelihood_score(method, s1, a, nan, nan, s2, nan)[0], nan, nan
    c = _rowdot(w, wr)
    s3 = _rowdot(w2, w)
    wr *= wr  # w^2 r^2
    g, dg, info = _likelihood_score(method, s1, a, _rowdot(wr, w), c, s2, s3)
    bad = np.flatnonzero(_cancelled(method, info, s2))
    if bad.size:
        exact = _tr_pp(w[bad])
        dg[bad] += exact - info[bad]
        info[bad] = exact
    return g, dg, info


def _cancelled(method: str, info: _F, s2: _F) -> _F:
    """Whether REML's tr(PP) = s2 - 2 s3/s1 + (s2/s1)^2 lost its digits: with one weight
    far above the others the three terms are nearly equal (variance ratios of 1e8 and up)."""
    return (method == "REML") & ~(info > 1e-6 * s2)


def _tr_pp(w: np.ndarray) -> np.ndarray:
    """tr(PP) per row without cancellation: P_ii = wi oi / s1 with oi = s1 - wi, and
    sum over j != i of P_ij^2 = (wi / s1)^2 ei with ei = s2 - wi^2; for the largest weight oi
    and ei are summed over the other studies, not subtracted."""
    s1, s2 = w.sum(axis=1), (w * w).sum(axis=1)
    rows, top = np.arange(w.shape[0]), w.argmax(axis=1)
    rest = w.copy()
    rest[rows, top] = 0.0
    o = s1[:, None] - w
    e = s2[:, None] - w * w
    o[rows, top] = rest.sum(axis=1)
    e[rows, top] = (rest * rest).sum(axis=1)
    p = w / s1[:, None]
    return ((p * o) ** 2).sum(axis=1) + (p * p * e).sum(axis=1)


def _likelihood_score(
    method: str, s1: _F, a: _F, b: _F, c: _F, s2: _F, s3: _F
) -> tuple[_F, _F, _F]:
    """ML or REML estimating equation, its derivative and metafor's Fisher information from
    the sums over the studies at tau2 (wi = 1/(vi + tau2), ri = yi - mu): s1 = sum w,
    a = sum w^2 r^2, b = sum w^3 r^2, c = sum w^2 r, s2 = sum w^2, s3 = sum w^3; floats (one
    fit) or arrays (one per row).

    ML: g = y'PPy - sum w = a - s1, information sum w^2; REML: g = y'PPy - tr(P) =
    a - (s1 - s2/s1), information tr(PP) = s2 - 2 s3/s1 + (s2/s1)^2; with
    d(y'PPy)/dtau2 = -2b + 2c^2/s1 and dtr(P)/dtau2 = -tr(PP)."""
    da = -2.0 * b + 2.0 * c * c / s1
    if method == "ML":
        return a - s1, da + s2, s2
    ratio = s2 / s1
    tr_pp = s2 - 2.0 * s3 / s1 + ratio * ratio
    return a - (s1 - ratio), da + tr_pp, tr_pp


@dataclass(frozen=True)
class _Solve:
    tau2: np.ndarray
    converged: np.ndarray


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
    return _Solve(tau2=t, converged=converged)


def _solve_root(
    method: str, y: np.ndarray, v: np.ndarray, start: np.ndarray, target: np.ndarray | None
) -> _Solve:
    """Root of a decreasing estimating equation (PM, EB, Q-profile) in tau2 >= 0.

    Rows whose equation is <= 0 at tau2 = 0 get tau2 = 0; the others a bracketed Newton root."""
    m = y.shape[0]
    g0 = _score(method, y, v, np.zeros(m), target)[0]
    active = g0 > 0
    t = np.where(active, np.maximum(start, 0.0), 0.0)
    return _newton_bracketed(
        method, y, v, t, np.zeros(m), np.full(m, np.inf), active, target, MAX_ITER
    )


class _Path(NamedTuple):
    """Where ``_fisher_path`` leaves each row: finished at ``t`` (``newton`` False), or with
    the root bracketed in [lo, hi] (g(lo) > 0 > g(hi)) for Newton steps from ``t``."""

    t: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    newton: np.ndarray
    converged: np.ndarray


def _fisher_path(
    method: str, y: np.ndarray, v: np.ndarray, start: np.ndarray, max_iter: int
) -> _Path:
    """``fisher_root`` for every row at once. Rows leave the loop as they finish, so a row
    that has to walk the whole path costs only its own arithmetic."""
    m = y.shape[0]
    t = np.maximum(start, 0.0)
    lo, hi = np.zeros(m), np.full(m, np.inf)
    newton = np.zeros(m, dtype=bool)
    converged = np.ones(m, dtype=bool)
    idx = np.arange(m)
    ya, va, ta = y, v, t.copy()
    prev_t = prev_g = np.full(m, np.nan)
    iterations = 0
    while idx.size:
        if iterations == max_iter:
            converged[idx] = False
            t[idx] = ta
            break
        iterations += 1
        g, dg, info = _score(method, ya, va, ta)
        up = g > 0
        # finished: a root, a non-number, or the boundary 0 with the score pointing down
        stop = (g == 0) | ~np.isfinite(g) | ((ta == 0) & (g < 0))
        final = ta.copy()
        # a path step that crossed a root brackets it
        crossed = ~stop & ~np.isnan(prev_g) & (up != (prev_g > 0))
        lo_a, hi_a = np.where(up, ta, prev_t), np.where(up, prev_t, ta)
        start_a = ta.copy()
        near = ~stop & ~crossed & (dg < 0) & (-0.5 * dg <= info) & (info <= -2.0 * dg)
        if near.any():
            j = np.flatnonzero(near)
            nt = -g[j] / dg[j]
            probe = np.maximum(ta[j] + 1.5 * nt, 0.0)
            gp = _score(method, ya[j], va[j], probe, slope=False)[0]
            to_zero = (probe == 0) & (gp <= 0)
            stop[j[to_zero]] = True
            final[j[to_zero]] = 0.0
            flip = ~to_zero & (((gp > 0) != up[j]) | (gp == 0))
            jf = j[flip]
            crossed[jf] = True
            lo_a[jf] = np.where(up[jf], ta[jf], probe[flip])
            hi_a[jf] = np.where(up[jf], probe[flip], ta[jf])
            start_a[jf] = ta[jf] + nt[flip]
        walk = ~stop & ~crossed
        step = np.where(walk, FISHER_STEPADJ * g / info, 0.0)
        below = walk & (ta + step < 0)
        while below.any():  # metafor's step halving at the boundary
            step = np.where(below, 0.5 * step, step)
            below = walk & (ta + step < 0)
        small = walk & (np.abs(step) <= FISHER_THRESHOLD)
        stop |= small
        final = np.where(small, settle(ta + step, g), final)
        t[idx[stop]] = final[stop]
        rows = idx[crossed]
        lo[rows], hi[rows] = lo_a[crossed], hi_a[crossed]
        t[rows] = np.where(
            (start_a[crossed] > lo[rows]) & (start_a[crossed] < hi[rows]),
            start_a[crossed],
            0.5 * (lo[rows] + hi[rows]),
        )
        newton[rows] = True
        prev_t, prev_g, ta = ta, g, ta + step
        keep = ~(stop | crossed)
        if not keep.all():
            idx, ya, va, ta = idx[keep], ya[keep], va[keep], ta[keep]
            prev_t, prev_g = prev_t[keep], prev_g[keep]
    return _Path(t, lo, hi, newton, converged)


# ---------------------------------------------------------------------------------------
# One-fit backend (``pool``): the sums in Python floats, by plain loops up to _LOOP_MAX_K
# studies and by 1-d numpy dot products beyond; the roots by core.stats.rma's scalar
# ``root_above_zero`` and ``fisher_root``, whose decisions ``_solve_root`` and
# ``_fisher_path`` above take row-wise. tests/unit/test_pooling_properties.py holds the two
# backends equal.

#: up to this many studies, Python loops over floats are faster than numpy calls
_LOOP_MAX_K = 32


class _Sums(NamedTuple):
    """Sums over one fit's studies at tau2 = t, wi = 1/(vi + t), ri = yi - mu: s1 = sum w,
    mu = sum w y / s1, q = sum w r^2 (generalized Q), s2 = sum w^2 and, for the estimating
    equations (nan when not asked for), a = sum w^2 r^2, b = sum w^3 r^2, c = sum w^2 r,
    s3 = sum w^3."""

    s1: float
    mu: float
    q: float
    s2: float
    a: float = math.nan
    b: float = math.nan
    c: float = math.nan
    s3: float = math.nan


class _OneFit(_InterceptOnly):
    """One fit's studies; the sums at a tau2 are asked for more than once (at 0: Q and the
    ll0check; at the estimate: the ll0check and the result), so each is computed once."""

    xp = _FloatOps
    y: Any
    v: Any
    k: int
    v_min: float
    v_max: float

    def __init__(self) -> None:
        """Called by the subclasses once they hold the studies."""
        self._last: dict[float, _Sums] = {}
        base = self.sums(0.0)
        self.sw, self.sw2, self.q = base.s1, base.s2, base.q

    def sums(self, t: float, score: bool = False) -> _Sums:
        got = self._last.get(t)
        if got is None or (score and math.isnan(got.a)):
            got = self._last[t] = self._sums(t, score)
        return got

    def _sums(self, t: float, score: bool) -> _Sums:
        raise NotImplementedError

    def full(self, x: Any) -> Any:
        return x

    def at(self, t: float) -> _Sums:
        return self.sums(t)

    def root(self, method: str, start: float, target: float) -> tuple[Any, Any]:
        return root_above_zero(_score_one(method, self, target), start, MAX_ITER)

    def fisher(self, method: str, start: float) -> tuple[Any, Any]:
        return fisher_root(_score_one(method, self), start, MAX_ITER, maxiter=FISHER_MAXITER)


class _LoopStudies(_OneFit):
    """One fit's studies as lists of floats, summed by Python loops (fastest for small k)."""

    def __init__(self, y: np.ndarray, v: np.ndarray) -> None:
        self.y: list[float] = y.tolist()
        self.v: list[float] = v.tolist()
        self.k = len(self.y)
        self.v_min, self.v_max = min(self.v), max(self.v)
        super().__init__()

    def _sums(self, t: float, score: bool) -> _Sums:
        """All the sums, whatever ``score`` says: in this loop they cost little."""
        w = [1.0 / (x + t) for x in self.v]
        s1 = sum(w)
        mu = sum(map(operator.mul, w, self.y)) / s1
        q = a = b = c = s2 = s3 = 0.0
        for wi, yi in zip(w, self.y, strict=True):
            r = yi - mu
            wr = wi * r
            ww = wi * wi
            q += wr * r
            a += wr * wr
            b += wi * wr * wr
            c += wi * wr
            s2 += ww
            s3 += ww * wi
        return _Sums(s1, mu, q, s2, a, b, c, s3)

    def unweighted(self) -> tuple[float, float]:
        ybar = sum(self.y) / self.k
        return sum((x - ybar) * (x - ybar) for x in self.y), sum(self.v)

    def log1p_sum(self, t: float) -> float:
        return sum(math.log1p(t / x) for x in self.v)

    def percent_weights(self, t: float, at: _Sums) -> tuple[float, ...]:
        return tuple(100.0 * (1.0 / (x + t)) / at.s1 for x in self.v)


class _ArrayStudies(_OneFit):
    """One fit's studies as 1-d arrays, summed by dot products (fastest for large k)."""

    def __init__(self, y: np.ndarray, v: np.ndarray) -> None:
        self.y, self.v, self.k = y, v, y.size
        self.v_min, self.v_max = float(v.min()), float(v.max())
        super().__init__()

    def _sums(self, t: float, score: bool) -> _Sums:
        w = 1.0 / (self.v + t)
        s1 = float(w.sum())
        mu = float(w @ self.y) / s1
        r = self.y - mu
        wr = w * r
        if not score:
            return _Sums(s1, mu, float(wr @ r), float(w @ w))
        ww = w * w
        return _Sums(
            s1,
            mu,
            float(wr @ r),
            float(ww.sum()),
            float(wr @ wr),
            float((w * wr) @ wr),
            float(w @ wr),
            float(ww @ w),
        )

    def unweighted(self) -> tuple[float, float]:
        dev = self.y - float(self.y.sum()) / self.k
        return float(dev @ dev), float(self.v.sum())

    def log1p_sum(self, t: float) -> float:
        return float(np.log1p(t / self.v).sum())

    def percent_weights(self, t: float, at: _Sums) -> tuple[float, ...]:
        return tuple((100.0 * (1.0 / (self.v + t)) / at.s1).tolist())


_Studies = _LoopStudies | _ArrayStudies


def _studies(y: np.ndarray, v: np.ndarray) -> _Studies:
    return _LoopStudies(y, v) if y.size <= _LOOP_MAX_K else _ArrayStudies(y, v)


def _score_one(method: str, s: _OneFit, target: float = 0.0) -> Score:
    """g(tau2), dg/dtau2 and the Fisher information of one fit, as ``_score`` (PM and EB:
    Q(tau2) - target)."""

    def score(t: float) -> tuple[float, float, float]:
        m = s.sums(t, score=True)
        if method in ("PM", "EB"):
            return m.q - target, -m.a, m.a
        g, dg, info = _likelihood_score(method, m.s1, m.a, m.b, m.c, m.s2, m.s3)
        if _cancelled(method, info, m.s2):
            exact = float(_tr_pp(1.0 / (np.asarray(s.v) + t)[None, :])[0])
            return g, dg + exact - info, exact
        return g, dg, info

    return score


# ---------------------------------------------------------------------------------------
# Design-matrix backend (meta-regression, common-tau2 subgroups, the mixed-effects Egger
# test): one fit over any X, by core.stats.rma's linear algebra and scalar root finders


class Control(NamedTuple):
    """metafor's own Fisher scoring loop (``fisher_root`` with ``bracket=False``), stopped
    where a step is <= ``threshold`` or after ``maxiter`` steps, and its ll0check with
    tolerance ``ll0_tol``: how an rma.uni fit under a given ``control`` ends."""

    threshold: float
    maxiter: int
    ll0_tol: float


class _Design:
    """One fit yi = x_i' beta + u_i + e_i over design ``x`` (k x p); ``yc`` is y centred,
    as metafor uses it to estimate tau2. Closed forms, estimating equations and
    log-likelihoods over X are core.stats.rma's ``closed_form``, ``score`` and ``loglik``
    (REML's likelihood on k-p with -1/2 log det(X'WX)). ML and REML follow metafor's path
    to its root (``fisher_root``), or, with a ``control``, its loop itself."""

    xp = _FloatOps

    def __init__(
        self, x: np.ndarray, yc: np.ndarray, v: np.ndarray, control: Control | None = None
    ) -> None:
        self.x, self.yc, self.v = x, yc, v
        self.k, self.p = x.shape
        self.control = control
        self.threshold = FISHER_THRESHOLD if control is None else control.threshold
        self.ll0_tol = LL0_TOL if control is None else control.ll0_tol

    def full(self, x: Any) -> Any:
        return x

    def closed_form(self, method: str) -> float:
        return design_closed_form(method, self.x, self.yc, self.v)

    def _score(self, method: str, target: float) -> Score:
        x, yc, v = self.x, self.yc, self.v
        return lambda t: design_score(method, x, yc, v, t, target)

    def root(self, method: str, start: float, target: float) -> tuple[Any, Any]:
        return root_above_zero(self._score(method, target), start, MAX_ITER, 1e-14, 1e-16)

    def fisher(self, method: str, start: float) -> tuple[Any, Any]:
        c = self.control
        if c is None:
            return fisher_root(self._score(method, 0.0), start, MAX_ITER)
        return fisher_root(
            self._score(method, 0.0), start, 0, False, c.threshold, maxiter=c.maxiter
        )

    def loglik_drop(self, method: str, t: float) -> float:
        reml = method == "REML"
        x, yc, v = self.x, self.yc, self.v
        return design_loglik(x, yc, v, 0.0, reml) - design_loglik(x, yc, v, t, reml)


@dataclass(frozen=True)
class Tau2Estimate:
    """tau2 of one fit; ``converged`` False means the DL value stands in (see ``note``)."""

    tau2: float
    converged: bool
    note: str | None


def tau2_design(
    method: str, x: np.ndarray, yc: np.ndarray, v: np.ndarray, control: Control | None = None
) -> Tau2Estimate:
    """tau2 by ``method`` for the model with design ``x`` (k x p, k > p); ``yc`` is y
    centred (as metafor uses it): the estimators over X of core.stats.rma (PM/EB: root of
    y'Py = k-p; ML: y'PPy = sum w; REML: y'PPy = tr(P)), decided by ``_tau2``, the control
    flow of ``pool`` and ``pool_many``; ``control``: see ``Control``."""
    return Tau2Estimate(*_tau2(_Design(x, yc, v, control), method))


# ---------------------------------------------------------------------------------------
# The one control flow: tau2 estimators, ML/REML with ll0check, and the pooled result, for
# any backend (``d``: one fit or many rows, intercept-only or over a design matrix)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")


def _check_ci(ci: str) -> None:
    if ci not in CI_METHODS:
        raise ValueError(f"unknown CI method {ci!r}; choose 'wald' or 'hksj'")


def _nonconvergence_note(method: str, fits: int) -> str:
    return (
        f"{method} did not converge in {MAX_ITER} iterations for {fits} fit(s); the "
        "DerSimonian-Laird tau2 is used there instead"
    )


def _tau2_dl(d: _Fits) -> Any:
    xp, k = d.xp, d.k
    return xp.where(k > 1, xp.maximum((d.q - (k - 1)) / (d.sw - d.sw2 / d.sw), 0.0), 0.0)


def _tau2_he(d: _Fits) -> Any:
    xp, k = d.xp, d.k
    rss, sv = d.unweighted()
    return xp.where(k > 1, xp.maximum((rss - (k - 1) / k * sv) / (k - 1), 0.0), 0.0)


def _tau2_hs(d: _Fits) -> Any:
    xp, k = d.xp, d.k
    return xp.where(k > 1, xp.maximum((d.q - k) / d.sw, 0.0), 0.0)


def _tau2_sj(d: _Fits) -> Any:
    xp, k = d.xp, d.k
    tau0 = d.unweighted()[0] / k
    return xp.where(k > 1, xp.maximum(tau0 * d.at(tau0).q / (k - 1), 0.0), 0.0)


_CLOSED_FORMS = {"DL": _tau2_dl, "HE": _tau2_he, "HS": _tau2_hs, "SJ": _tau2_sj}


def _i2_h2(d: _Fits, tau2: Any) -> tuple[Any, Any]:
    """I2 and H2 of every fit: core.stats.heterogeneity's ``i2_h2`` and ``typical_variance``
    written on the sums that both backends hold, s2 = (k-1) sw / (sw^2 - sw2), for one value
    or one per row."""
    s2 = (d.k - 1) * d.sw / (d.sw * d.sw - d.sw2)
    return 100.0 * tau2 / (tau2 + s2), tau2 / s2 + 1.0


def _tau2(d: _Tau2Fits, method: str) -> tuple[Any, Any, str | None]:
    """tau2 by ``method`` for every fit of ``d``: (tau2, converged, note). PM and EB (one
    root, y'Py decreasing in tau2) from the DL value, ML and REML from HE (metafor's start;
    its Fisher path decides which maximum) with metafor's ll0check; a fit whose root is not
    found gets DL, and the note says so. A fit of one study has tau2 = 0."""
    _check_method(method)
    xp, k = d.xp, d.k
    if method == "EE" or not xp.any(k > 1):
        return d.full(0.0), d.full(True), None
    if method in _CLOSED_FORMS:
        return d.closed_form(method), d.full(True), None
    dl = d.closed_form("DL") if method in ("PM", "EB") else None  # the roots' start
    if dl is not None:
        t, converged = d.root(method, dl, k - d.p)
    else:
        t, converged = d.fisher(method, d.closed_form("HE"))
        t = _ll0check(d, method, t)
    single = k <= 1
    t = xp.where(single, 0.0, t)
    converged = converged | single
    failed = xp.count(xp.logical_not(converged))
    if not failed:
        return t, converged, None
    if dl is None:  # DL only where needed: on a design whose weights lose all digits it has none
        dl = d.closed_form("DL")
    return xp.where(converged, t, dl), converged, _nonconvergence_note(method, failed)


def _ll0check(d: _Tau2Fits, method: str, t: Any) -> Any:
    """metafor's ``ll0check`` for each fit: an ML or REML root t > ``d.threshold``
    (FISHER_THRESHOLD) whose likelihood lies more than ``d.ll0_tol`` (LL0_TOL) below the one
    at tau2 = 0 gives way to 0."""
    xp = d.xp
    check = t > d.threshold
    if not xp.any(check):
        return t
    return xp.where(check & (d.loglik_drop(method, t) > d.ll0_tol), 0.0, t)


def _loglik_drop(d: _Fits, method: str, t: Any) -> Any:
    """ll(0) - ll(t) from the ML log-likelihood -k/2 log(2 pi) - 1/2 sum log(vi + t) - rss/2
    (rss = sum w (y - mu)^2, w = 1/(vi + t)) and REML's, which adds -1/2 log(sum w):
    1/2 sum log(1 + t/vi) + (rss(t) - rss(0))/2 [+ log(sum w(t) / sum w(0))/2 for REML]."""
    at = d.at(t)
    drop = 0.5 * d.log1p_sum(t) + 0.5 * (at.q - d.q)
    return drop + 0.5 * d.xp.log(at.s1 / d.sw) if method == "REML" else drop


class _PerFit(NamedTuple):
    """The fields of a pooled result that ``PoolTable`` (one value per row) and
    ``PoolResult`` (one fit) share; ``weights`` in percent."""

    estimate: Any
    se: Any
    wald_se: Any
    hk_se: Any
    ci_low: Any
    ci_high: Any
    stat: Any
    pvalue: Any
    tau2: Any
    i2: Any
    h2: Any
    q: Any
    q_pvalue: Any
    k: Any
    pi_low: Any
    pi_high: Any
    converged: Any
    weights: Any


def _fit(d: _Fits, method: str, ci: str, level: float) -> tuple[_PerFit, str | None]:
    """The pooled result of every fit of ``d`` and its note: mu and se = 1/sqrt(sum w) at
    the tau2 of ``method``; Q on k-1 df; I2, H2 (module docstring); the CI and prediction
    interval (``intervals``) by Wald z or Hartung-Knapp t on k-1 df (``_test``)."""
    _check_ci(ci)
    xp = d.xp
    tau2, converged, note = _tau2(d, method)
    k, q = d.k, d.q
    df = k - 1
    has_df = df > 0
    at = d.at(tau2)
    mu = at.mu
    wald_se = 1.0 / xp.sqrt(at.s1)
    df1 = xp.maximum(df, 1)  # where df = 0 the value is not used (NaN or 1 stands there)
    q_p = xp.where(has_df, xp.chdtrc(df1, q), 1.0)
    if not xp.any(has_df):  # one study in every fit: I2 and H2 are undefined
        i2 = h2 = d.full(math.nan)
    elif method == "EE":
        i2 = xp.where(q > 0, 100.0 * xp.maximum(q - df, 0.0) / q, 0.0)
        h2 = q / df1
    else:
        i2, h2 = _i2_h2(d, tau2)
    hk_se = xp.where(has_df, xp.sqrt(at.q / df1 / at.s1), math.nan)
    if ci == "hksj":
        se = hk_se
        if xp.any(has_df & (se <= 1e-8 * wald_se)):
            note = _hksj_note(note)
        stat, pval, crit = _test(xp, mu, se, df, level)
    else:
        se = wald_se
        stat, pval, crit = _test(xp, mu, se, None, level)
        crit = d.full(crit)
    ci_low, ci_high, pi_low, pi_high = intervals(mu, se, tau2, crit, method)
    fields = _PerFit(
        mu, se, wald_se, hk_se, ci_low, ci_high, stat, pval, tau2,
        xp.where(k > 1, i2, math.nan), xp.where(k > 1, h2, math.nan), q, q_p, k,
        pi_low, pi_high, converged, d.percent_weights(tau2, at),
    )  # fmt: skip
    return fields, note


def wald_or_t(est: _F, se: _F, df: Any, level: float) -> tuple[_F, _F, Any]:
    """(statistic, two-sided p-value, critical value) of est/se: Wald z (``df`` None) or t
    on ``df`` (Hartung-Knapp, Knapp-Hartung); floats, or arrays (one value per estimate)."""
    xp = _RowOps if isinstance(est, np.ndarray) or isinstance(se, np.ndarray) else _FloatOps
    return _test(xp, est, se, df, level)


def critical_value(df: int | None, level: float) -> float:
    """The 1 - alpha/2 quantile (alpha = 1 - level) of z (``df`` None) or of t on ``df``."""
    return _test(_FloatOps, 0.0, 1.0, df, level)[2]


def _test(xp: Any, est: Any, se: Any, df: Any, level: float) -> tuple[Any, Any, Any]:
    """(statistic, two-sided p-value, critical value) for est/se: Wald z (``df`` None) or t
    on ``df`` (Hartung-Knapp, Knapp-Hartung; NaN where df < 1); crit is the 1 - alpha/2
    quantile, alpha = 1 - level. ``xp``: _FloatOps or _RowOps (one value or many)."""
    alpha = 1.0 - level
    stat = est / se
    if df is None:
        return stat, xp.erfc(xp.abs(stat) / math.sqrt(2.0)), -xp.ndtri(alpha / 2)
    has_df = df > 0
    df1 = xp.maximum(df, 1)
    crit = xp.where(has_df, xp.stdtrit(df1, 1.0 - alpha / 2), math.nan)
    return stat, xp.where(has_df, 2.0 * xp.stdtr(df1, -xp.abs(stat)), math.nan), crit


@dataclass(frozen=True)
class Tau2Fit:
    """tau2 for each row; ``converged`` False means the DL value stands in (see ``note``)."""

    tau2: np.ndarray
    converged: np.ndarray
    note: str | None


def tau2_many(y: np.ndarray, v: np.ndarray, method: str) -> Tau2Fit:
    """tau2 by ``method`` for every row of (y, v); vi = inf marks a study not in the row."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return Tau2Fit(*_tau2(_Rows(*_as_rows(y, v)), method))


# ---------------------------------------------------------------------------------------
# Pooled estimates


@dataclass(frozen=True)
class PoolTable:
    """Pooled results for many fits at once (one entry per row), for sensitivity analyses."""

    estimate: np.ndarray
    se: np.ndarray
    wald_se: np.ndarray  # 1/sqrt(sum w), whichever CI
    hk_se: np.ndarray  # Hartung-Knapp SE, whichever CI; NaN with one study
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

    def summary_frame(self) -> pd.DataFrame:
        """One row per fit: estimate, se, zval (tval with Hartung-Knapp), pval, ci_low,
        ci_high, pi_low, pi_high, tau2, i2, h2, q, q_pval, k, converged."""
        return pd.DataFrame({**summary_columns(self), "k": self.k, "converged": self.converged})


def pool_many(
    yi: object, vi: object, method: str = "REML", ci: str = "wald", level: float = 0.95
) -> PoolTable:
    """Pool every row of a (fits x studies) array; vi = inf leaves a study out of a row.

    The building block of ``pool``, leave-one-out, cumulative and GOSH analyses.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        fields, note = _fit(_Rows(*_as_rows(yi, vi)), method, ci, level)
    return PoolTable(**fields._asdict(), method=method, ci=ci, note=note)


def intervals(mu: _F, se: _F, tau2: _F, crit: _F, method: str) -> tuple[_F, _F, _F, _F]:
    """CI mu +/- crit se and prediction interval mu +/- crit sqrt(se^2 + tau2) (metafor's
    ``predict``; none for the common-effect model): floats or one value per row."""
    half = crit * se
    pi_half = crit * (se * se + tau2) ** 0.5
    if method == "EE":
        pi_half = pi_half * math.nan
    return mu - half, mu + half, mu - pi_half, mu + pi_half


def _hksj_note(note: str | None) -> str:
    """Add to ``note`` that identical estimates leave Hartung-Knapp an interval of no width."""
    flat = (
        "the study estimates are identical, so the Hartung-Knapp SE is 0 and its interval has "
        "no width (metafor gives the same); the Wald CI is the one to read here"
    )
    return flat if note is None else f"{note}; {flat}"


#: Prediction-interval methods: t on k-2 df (Higgins, Thompson & Spiegelhalter 2009), z
#: (metafor's ``predict`` for ``test="z"``), Hartung-Knapp (R meta's ``method.predict="HK"``).
PiMethod = Literal["t", "z", "hksj"]
PI_METHODS: tuple[str, ...] = ("t", "z", "hksj")
#: Studies a prediction interval needs (t on k-2 df needs k >= 3; the others follow, so that
#: a method never turns an interval on or off).
PI_MIN_K = 3
#: The common-effect models (tau2 = 0 by assumption): inverse variance, Mantel-Haenszel, Peto.
COMMON_EFFECT: tuple[str, ...] = ("EE", "MH", "PETO")


@dataclass(frozen=True)
class PredictionInterval:
    """A 95% prediction interval on the analysis scale (log ratio): ``low``, ``high`` are NaN
    when there is none, and ``reason`` says why. ``df`` is the t distribution's (None: z)."""

    method: str
    low: float
    high: float
    df: int | None
    reason: str | None = None

    @property
    def available(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)


def prediction_interval(res: PoolResult, method: str = "t") -> PredictionInterval:
    """The prediction interval of ``res`` by ``method``, at ``res.level``:

      t     mu +/- t(k-2) sqrt(se^2 + tau2), se = 1/sqrt(sum w) (Higgins, Thompson &
            Spiegelhalter 2009, JRSS A 172:137, eq. 12; Cochrane Handbook 10.10.4.3; R meta's
            ``method.predict="HTS"``)
      z     mu +/- z sqrt(se^2 + tau2), as metafor's ``predict`` for ``test="z"``
      hksj  mu +/- t(k-1) sqrt(se_HK^2 + tau2), se_HK the Hartung-Knapp SE, as R meta's
            ``method.predict="HK"`` (metagen, no ad hoc correction) and metafor's ``predict``
            for ``test="knha"``

    whichever CI the fit used; for a Bayesian fit (``method`` "BAYES", core.stats.bayes) its
    posterior predictive interval, whatever ``method`` (also none below :data:`PI_MIN_K`
    studies: there it would be mostly the prior on τ). None for the common-effect model
    (tau2 = 0 by assumption) or with fewer than :data:`PI_MIN_K` studies (the t interval has
    no degrees of freedom left, and a z interval would just repeat the CI)."""
    if method not in PI_METHODS:
        raise ValueError(f"prediction interval {method!r}: choose one of {', '.join(PI_METHODS)}")
    nan = math.nan
    if res.method == "BAYES":  # the posterior predictive interval (core.stats.bayes)
        if res.k < PI_MIN_K:
            reason = (
                f"no prediction interval with fewer than {PI_MIN_K} studies (k = {res.k}): the "
                "posterior predictive interval would rest mostly on the prior on τ"
            )
            return PredictionInterval("bayes", nan, nan, None, reason)
        return PredictionInterval("bayes", res.pi_low, res.pi_high, None)
    if res.method in COMMON_EFFECT:
        reason = "no prediction interval with the common-effect model (it assumes τ² = 0)"
        return PredictionInterval(method, nan, nan, None, reason)
    if res.k < PI_MIN_K:
        reason = f"no prediction interval with fewer than {PI_MIN_K} studies (k = {res.k})"
        return PredictionInterval(method, nan, nan, None, reason)
    upper = 1.0 - (1.0 - res.level) / 2
    df: int | None
    if method == "z":
        df, se, crit = None, res.wald_se, float(special.ndtri(upper))
    elif method == "t":
        df, se = res.k - 2, res.wald_se
        crit = float(special.stdtrit(df, upper))
    else:
        df, se = res.k - 1, res.hk_se
        crit = float(special.stdtrit(df, upper))
    half = crit * math.sqrt(se * se + res.tau2)
    return PredictionInterval(method, res.estimate - half, res.estimate + half, df)


@dataclass(frozen=True)
class PoolResult:
    """One pooled estimate on the analysis scale (log ratio or difference), as metafor's
    ``rma`` prints it. ``stat`` is z (Wald) or t on ``df`` = k-1 (Hartung-Knapp)."""

    estimate: float
    se: float
    wald_se: float  # 1/sqrt(sum w), whichever CI
    hk_se: float  # Hartung-Knapp SE sqrt(sum w (y - mu)^2 / ((k-1) sum w)); NaN with one study
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

    def summary_row(self) -> dict[str, Any]:
        """The fit as one record: model (``method``), estimate, se, zval (tval on df = k-1
        with Hartung-Knapp), pval, ci_low, ci_high, pi_low, pi_high, tau2, i2 (percent), h2,
        q, q_pval, df, k."""
        return {"model": self.method, **summary_columns(self), "df": self.df, "k": self.k}

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame indexed by the model."""
        return one_row_frame(self.summary_row(), "model")


def summary_columns(fit: PoolTable | PoolResult) -> dict[str, Any]:
    """The columns every ``summary_frame`` shares, in metafor's order and names (the statistic
    is ``tval`` with Hartung-Knapp, else ``zval``)."""
    return {
        "estimate": fit.estimate,
        "se": fit.se,
        "tval" if fit.ci == "hksj" else "zval": fit.stat,
        "pval": fit.pvalue,
        "ci_low": fit.ci_low,
        "ci_high": fit.ci_high,
        "pi_low": fit.pi_low,
        "pi_high": fit.pi_high,
        "tau2": fit.tau2,
        "i2": fit.i2,
        "h2": fit.h2,
        "q": fit.q,
        "q_pval": fit.q_pvalue,
    }


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


def _result(fields: _PerFit, method: str, ci: str, level: float, note: str | None) -> PoolResult:
    return PoolResult(
        **fields._asdict(), df=fields.k - 1, method=method, ci=ci, level=level, note=note
    )


def _pool_one(s: _Studies, method: str, ci: str, level: float) -> PoolResult:
    """``pool_many``'s fit of one set of studies, in Python floats (``_OneFit``). Raises
    ZeroDivisionError where numpy would give inf or nan (see ``pool``)."""
    fields, note = _fit(s, method, ci, level)
    return _result(fields, method, ci, level, note)


def _first_row(tab: PoolTable, level: float) -> PoolResult:
    """Row 0 of ``tab`` as a PoolResult."""
    row = _PerFit(*(getattr(tab, f)[0].tolist() for f in _PerFit._fields))
    return _result(row._replace(weights=tuple(row.weights)), tab.method, tab.ci, level, tab.note)


def pool(
    yi: object, vi: object, method: str = "REML", ci: str = "wald", level: float = 0.95
) -> PoolResult:
    """Pool effect sizes ``yi`` with sampling variances ``vi``.

    ``method``: "EE" (common effect) or a tau2 estimator (REML default, DL, PM, ML, HS, SJ,
    HE, EB). ``ci``: "wald" (z) or "hksj" (Hartung-Knapp-Sidik-Jonkman, t on k-1 df, no
    truncation of the scale factor, as metafor's ``test="knha"``). ``pi_low``, ``pi_high``
    are metafor's ``predict``: estimate +/- crit sqrt(se^2 + tau2), crit = z or t(k-1) to
    match ``ci``; undefined (NaN) for the common-effect model. The interval the app shows is
    :func:`prediction_interval` by the user's method (t on k-2 df by default). With k = 1
    the estimate is the study itself, tau2 = 0 and I2, H2 are undefined.

    The fit is ``pool_many``'s (the same ``_fit``), computed in Python floats. Where that
    meets a zero denominator (a Hartung-Knapp SE of 0, identical studies under the
    common-effect model, one weight so much larger than the others that
    sum w - sum w^2 / sum w rounds to 0), numpy's inf and nan carry the result, so such fits
    go through ``pool_many`` itself.
    """
    y, v = check_inputs(yi, vi)
    studies = _studies(y, v)
    try:
        res = _pool_one(studies, method, ci, level)
    except ZeroDivisionError:
        res = _first_row(pool_many(y, v, method=method, ci=ci, level=level), level)
    if res.k == 1:
        return replace(res, note="one study: the pooled result is that study's own estimate")
    if studies.v_max >= VARIANCE_RATIO_WARN * studies.v_min:
        spread = (
            f"the largest sampling variance is {studies.v_max / studies.v_min:.1e} times the "
            "smallest; as metafor warns, the results may not be numerically stable"
        )
        return replace(res, note=spread if res.note is None else f"{res.note}; {spread}")
    return res


# ---------------------------------------------------------------------------------------
# Q-profile confidence interval for tau2 (Viechtbauer 2007), as metafor's confint()


@dataclass(frozen=True)
class Tau2CI:
    """Q-profile CI for tau2, and the matching I2 and H2 (percent for I2) with their bounds.

    ``note`` says when a bound lies beyond the searched range [0, tau2_max] (then the bound
    shown is tau2_max, as metafor prints it) or when the interval is the null set."""

    tau2: float
    tau2_low: float
    tau2_high: float
    i2: float
    h2: float
    i2_low: float
    i2_high: float
    h2_low: float
    h2_high: float
    level: float
    note: str | None

    def summary_frame(self) -> pd.DataFrame:
        """One row per statistic (tau2, tau, i2 in percent, h2) with its estimate, ci_low and
        ci_high, as metafor's ``confint.rma.uni`` prints them."""
        root = math.sqrt
        return pd.DataFrame(
            {
                "estimate": [self.tau2, root(self.tau2), self.i2, self.h2],
                "ci_low": [self.tau2_low, root(self.tau2_low), self.i2_low, self.h2_low],
                "ci_high": [self.tau2_high, root(self.tau2_high), self.i2_high, self.h2_high],
            },
            index=pd.Index(["tau2", "tau", "i2", "h2"], name="statistic"),
        )


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
    s2 = typical_variance(v)
    (i2_low, h2_low), (i2_high, h2_high) = i2_h2(lo, s2), i2_h2(hi, s2)
    i2, h2 = i2_h2(tau2, s2)
    return Tau2CI(
        tau2=tau2,
        tau2_low=lo,
        tau2_high=hi,
        i2=i2,
        h2=h2,
        i2_low=i2_low,
        i2_high=i2_high,
        h2_low=h2_low,
        h2_high=h2_high,
        level=level,
        note="; ".join(notes) or None,
    )
