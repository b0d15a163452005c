"""The random-effects model yi = x_i' beta + u_i + e_i, u_i ~ N(0, tau2), e_i ~ N(0, vi), as
R's metafor ``rma``: the estimators over a design matrix X (intercept-only = a column of
ones) and the one-fit root finders.

With W = diag(1/(vi + tau2)) and P = W - W X (X'WX)^-1 X'W (metafor's notation; y is centred
as metafor does when it estimates tau2), the estimators are (Viechtbauer 2005; Veroniki et al.
2016, Res Synth Methods 7:55):

  EE    tau2 = 0
  DL    (y'P0 y - (k-p)) / tr(P0), P0 = P at tau2 = 0, truncated at 0
  HE    (y'(I - H) y - tr((I - H) V)) / (k-p), H the OLS hat matrix, truncated at 0
  HS    (y'P0 y - k) / sum(1/vi), truncated at 0
  SJ    tau0 y'P(tau0) y / (k-p), tau0 = mean((yi - ybar)^2)
  REML  root of y'PPy = tr(P)
  ML    root of y'PPy = sum w
  PM/EB root of y'Py = k-p

Here are the pieces over X; the decisions (which estimator, starting values, ll0check, the
DL fallback, the notes) are core.stats.pooling's one control flow ``_tau2``, whose design
backend (``tau2_design``) calls ``closed_form``, ``score`` and ``loglik`` below. The scalar
root finders serve every one-fit backend: ``newton`` (bracketed Newton steps),
``root_above_zero`` for PM and EB, ``fisher_root`` (metafor's Fisher scoring path, finished
by ``newton``) for ML and REML; pooling runs the same decisions row-wise for many fits at
once (``pool_many``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np
from scipy import linalg

#: metafor's Fisher scoring as the reference results were made (rma control: stepadj = 0.5,
#: threshold = 1e-12, maxiter = 10000); the path decides which maximum ML and REML report
FISHER_STEPADJ = 0.5
FISHER_THRESHOLD = 1e-12
FISHER_MAXITER = 10000
#: a path that converged going down to below this is at the boundary maximum 0
_LEFTOVER = 1e-10

#: a float (one fit) or an array (one value per row)
_F = TypeVar("_F", float, np.ndarray)
#: g(tau2), dg/dtau2 and the Fisher information of the scoring step at tau2
Score = Callable[[float], tuple[float, float, float]]


def settle(t: _F, g: _F) -> _F:
    """Where Fisher scoring stops: a path that converged going down to below ``_LEFTOVER``
    is at the boundary maximum 0 (metafor reports the leftover, about 1e-13); floats (one
    fit) or one value per row."""
    return t * ((g >= 0) | (t >= _LEFTOVER))


def newton(
    score: Score,
    t: float,
    lo: float,
    hi: float,
    max_iter: int,
    rtol: float = 1e-13,
    atol: float = 1e-15,
) -> tuple[float, bool]:
    """A root of a decreasing g in [lo, hi] (g(lo) > 0 > g(hi)) by Newton steps from t,
    keeping the bracket; a step that leaves it, or a non-negative slope, is replaced by
    bisection (or by doubling while hi is still unknown), to a step below atol + rtol |t|.
    (root, converged)."""
    for _ in range(max_iter):
        g, dg, _ = score(t)
        if g == 0:
            return t, True
        if g > 0:
            lo = t
        elif g < 0:
            hi = t
        new = t - g / dg if dg < 0 else math.nan
        if not (math.isfinite(new) and lo < new < hi):
            new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * t + 1.0
            if new <= lo or new >= hi:  # the bracket is two adjacent floats
                return t, True
        if abs(new - t) <= atol + rtol * abs(t):
            return new, True
        t = new
    return t, False


def root_above_zero(
    score: Score, start: float, max_iter: int, rtol: float = 1e-13, atol: float = 1e-15
) -> tuple[float, bool]:
    """Root of a decreasing estimating equation (PM, EB) in tau2 >= 0: 0 when g(0) <= 0,
    else ``newton`` from ``start``. (tau2, converged)."""
    if not score(0.0)[0] > 0:
        return 0.0, True
    return newton(score, max(start, 0.0), 0.0, math.inf, max_iter, rtol, atol)


def too_unequal(v: np.ndarray) -> ValueError:
    """The error of a fit whose sampling variances are so many orders of magnitude apart
    that a sum or trace of weights loses all its digits (0, or negative: positive in exact
    arithmetic)."""
    return ValueError(
        f"the largest sampling variance is {v.max() / v.min():.1e} times the smallest: "
        "the weights are too unequal for this fit (a sum of weights rounds to 0)"
    )


@contextmanager
def weights_in_range(v: np.ndarray) -> Iterator[None]:
    """Turn the ZeroDivisionError of a fit whose sums of weights round to 0 into
    :func:`too_unequal`'s ValueError."""
    try:
        yield
    except ZeroDivisionError as err:
        raise too_unequal(v) from err


def fisher_root(
    score: Score,
    start: float,
    max_iter: int,
    bracket: bool = True,
    threshold: float = FISHER_THRESHOLD,
    maxiter: int = FISHER_MAXITER,
) -> tuple[float, bool]:
    """The root of an ML or REML estimating equation g that metafor's Fisher scoring reaches
    from ``start``: its path t += FISHER_STEPADJ g/I (the step halved while it would leave
    tau2 >= 0) goes uphill to the nearest maximum ahead, or past it when a step is long.

    The path is walked step by step, exactly, until the root it goes to is bracketed: by
    two path points with g of opposite sign, or, where the Newton step -g/dg agrees with
    the Fisher step g/I within a factor 2 (g nearly linear there), by a probe 1.5 Newton
    steps ahead where g has changed sign (or, at or below 0, with g(0) <= 0: the boundary).
    Probing farther, where g bends, can bracket a maximum beyond the one the path reaches.
    Bracketed ``newton`` steps (``max_iter`` at most) then finish the root.
    ``bracket=False`` is metafor's loop itself: it stops where a step is <= ``threshold``.
    Checked against a transcription of metafor's loop in tests/unit/test_pooling_properties.
    (tau2, converged)."""
    t = max(start, 0.0)
    prev_t = prev_g = math.nan
    for _ in range(maxiter):
        g, dg, info = score(t)
        if g == 0 or not math.isfinite(g) or (t == 0 and g < 0):
            return t, True
        if bracket:
            if prev_g == prev_g and (g > 0) != (prev_g > 0):
                lo, hi = (t, prev_t) if g > 0 else (prev_t, t)
                break
            if dg < 0 and -0.5 * dg <= info <= -2.0 * dg:
                nt = -g / dg
                probe = max(t + 1.5 * nt, 0.0)
                gp = score(probe)[0]
                if probe == 0 and gp <= 0:
                    return 0.0, True
                if (gp > 0) != (g > 0) or gp == 0:
                    lo, hi = (t, probe) if g > 0 else (probe, t)
                    t += nt
                    if not lo < t < hi:
                        t = 0.5 * (lo + hi)
                    break
        step = FISHER_STEPADJ * g / info if bracket else g / info
        while t + step < 0:  # metafor's step halving at the boundary
            step *= 0.5
        if abs(step) <= threshold:
            return (settle(t + step, g) if bracket else t + step), True
        prev_t, prev_g, t = t, g, t + step
    else:
        return t, False
    return newton(score, t, lo, hi, max_iter)


# ---------------------------------------------------------------------------------------
# Any design matrix: linear algebra at a given tau2 (O(k p^2), P never formed)


class WLS:
    """Weighted least squares at one tau2: beta = (X'WX)^-1 X'Wy, r = y - X beta."""

    __slots__ = ("a_inv", "beta", "r", "w", "x")

    def __init__(self, x: np.ndarray, y: np.ndarray, v: np.ndarray, tau2: float) -> None:
        self.x = x
        self.w = w = 1.0 / (v + tau2)
        xw = x * w[:, None]
        a = x.T @ xw
        self.a_inv = linalg.inv(a, check_finite=False)
        self.a_inv = 0.5 * (self.a_inv + self.a_inv.T)
        self.beta = self.a_inv @ (xw.T @ y)
        self.r = y - x @ self.beta

    def p_times(self, u: np.ndarray) -> np.ndarray:
        """P u = W u - W X (X'WX)^-1 X'W u."""
        w, x = self.w, self.x
        return w * u - w * (x @ (self.a_inv @ (x.T @ (w * u))))

    def ypy(self) -> float:
        """y'Py = sum w r^2 (the generalized Q)."""
        return float((self.w * self.r * self.r).sum())

    def tr_p(self) -> float:
        b2 = self.x.T @ (self.x * (self.w**2)[:, None])
        return float(self.w.sum() - np.sum(self.a_inv * b2))

    def tr_pp(self) -> float:
        x, w, ai = self.x, self.w, self.a_inv
        b2 = x.T @ (x * (w**2)[:, None])
        b3 = x.T @ (x * (w**3)[:, None])
        m = ai @ b2
        return float((w**2).sum() - 2.0 * np.sum(ai * b3) + np.sum(m * m.T))


def score(
    method: str, x: np.ndarray, y: np.ndarray, v: np.ndarray, t: float, target: float
) -> tuple[float, float, float]:
    """Estimating equation g(tau2) (g > 0: the root lies above), dg/dtau2 and the Fisher
    information of metafor's scoring step. PM/EB: g = y'Py - target, dg = -y'PPy;
    ML: g = y'PPy - sum w, information sum w^2; REML: g = y'PPy - tr(P), information
    tr(PP); with d(y'PPy)/dtau2 = -2 y'PPPy."""
    f = WLS(x, y, v, t)
    u = f.w * f.r  # P y
    uu = float((u * u).sum())
    if method in ("PM", "EB"):
        return f.ypy() - target, -uu, uu
    upu = float(u @ f.p_times(u))
    if method == "ML":
        s2 = float((f.w**2).sum())
        return uu - float(f.w.sum()), -2.0 * upu + s2, s2
    tr_pp = f.tr_pp()
    return uu - f.tr_p(), -2.0 * upu + tr_pp, tr_pp


def loglik(x: np.ndarray, y: np.ndarray, v: np.ndarray, t: float, reml: bool) -> float:
    """ML log-likelihood -k/2 log(2 pi) - 1/2 sum log(vi + t) - y'Py/2; REML's on k-p
    with -1/2 log det(X'WX) added."""
    f = WLS(x, y, v, t)
    k, p = x.shape
    rss = f.ypy()
    if not reml:
        return -0.5 * k * math.log(2 * math.pi) - 0.5 * float(np.log(v + t).sum()) - 0.5 * rss
    _, logdet = np.linalg.slogdet(x.T @ (x * f.w[:, None]))
    return (
        -0.5 * (k - p) * math.log(2 * math.pi)
        - 0.5 * float(np.log(v + t).sum())
        - 0.5 * logdet
        - 0.5 * rss
    )


def closed_form(method: str, x: np.ndarray, yc: np.ndarray, v: np.ndarray) -> float:
    """DL, HS, HE or SJ tau2 for design ``x`` (``yc``: y centred), truncated at 0."""
    k, p = x.shape
    if method in ("DL", "HS"):
        f0 = WLS(x, yc, v, 0.0)
        rss = f0.ypy()
        if method == "DL":
            tr = f0.tr_p()
            if not tr > 0:  # digits lost (one vi ~1e-18 beside the others): no estimate
                raise too_unequal(v)
            t = (rss - (k - p)) / tr
        else:
            t = (rss - k) / float((1 / v).sum())
    elif method == "HE":
        ols = WLS(x, yc, np.ones(k), 0.0)  # w = 1: OLS
        # tr((I - H) V) = sum v - tr((X'X)^-1 X'VX)
        tr_pv = float(v.sum() - np.sum(ols.a_inv * (x.T @ (x * v[:, None]))))
        t = (float((ols.r**2).sum()) - tr_pv) / (k - p)
    elif method == "SJ":
        tau0 = float(np.mean((yc - yc.mean()) ** 2))
        if tau0 <= 0:
            return 0.0
        t = tau0 * WLS(x, yc, v, tau0).ypy() / (k - p)
    else:
        raise ValueError(f"{method!r} has no closed form")
    return max(0.0, t)
