"""Sensitivity analyses: leave-one-out, cumulative, influence diagnostics, Baujat and GOSH;
arrays in, results out, each with a tidy ``summary_frame()`` that the pages' frames
(core.views.sensitivity) and the command line read.

Each analysis is many fits of the same model to subsets of the studies. The fits are done
at once with ``core.stats.pooling.pool_many``: one row per fit, a study left out of a row has
vi = inf (weight 0). Definitions follow R's metafor (``leave1out``, ``cumul``,
``influence.rma.uni`` and ``gosh`` for ``rma.uni`` models without moderators).

As metafor, a fit of a single study reports tau2 = 0, Q = 0, I2 = 0 and H2 = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from core.stats.pooling import PoolTable, check_inputs, pool_many

__all__ = [
    "Baujat",
    "Cumulative",
    "Gosh",
    "Influence",
    "LeaveOneOut",
    "baujat",
    "cumulative",
    "gosh",
    "influence",
    "leave_one_out",
]


def _single_study_heterogeneity(tab: PoolTable) -> tuple[np.ndarray, np.ndarray]:
    """I2 and H2 with metafor's values (0 and 1) for rows that hold one study."""
    one = tab.k == 1
    return np.where(one, 0.0, tab.i2), np.where(one, 1.0, tab.h2)


# ---------------------------------------------------------------------------------------
# Leave-one-out


@dataclass(frozen=True)
class LeaveOneOut(PoolTable):
    """Row i: the model refitted without study i (data order), as metafor's ``leave1out``."""

    def summary_frame(self) -> pd.DataFrame:
        """``PoolTable.summary_frame`` indexed by ``omitted``, the data position of the study
        left out."""
        frame = super().summary_frame()
        frame.index.name = "omitted"
        return frame


def _refit_fields(tab: PoolTable) -> dict[str, Any]:
    """The fields of a table of refits, with metafor's I2 = 0 and H2 = 1 for one study."""
    i2, h2 = _single_study_heterogeneity(tab)
    return {f.name: getattr(tab, f.name) for f in fields(tab)} | {"i2": i2, "h2": h2}


def _leave_one_out_table(
    y: np.ndarray, v: np.ndarray, method: str, ci: str, level: float = 0.95
) -> PoolTable:
    k = y.size
    yy = np.broadcast_to(y, (k, k))
    vv = np.tile(v, (k, 1))
    np.fill_diagonal(vv, np.inf)
    return pool_many(yy, vv, method=method, ci=ci, level=level)


def leave_one_out(
    yi: object, vi: object, method: str = "REML", ci: str = "wald", level: float = 0.95
) -> LeaveOneOut:
    """Refit the model k times, each time without one study (tau2 re-estimated).

    Vectorised: the k fits are the rows of a (k x k) array whose diagonal is left out.
    Needs k >= 2.
    """
    y, v = check_inputs(yi, vi)
    if y.size < 2:
        raise ValueError("leave-one-out needs at least two studies")
    return LeaveOneOut(**_refit_fields(_leave_one_out_table(y, v, method, ci, level)))


# ---------------------------------------------------------------------------------------
# Cumulative


@dataclass(frozen=True)
class Cumulative(PoolTable):
    """Row j: the model fitted to the first j+1 studies in ``order`` (0-based indices into
    the data), as metafor's ``cumul``. Rows are in the cumulative order, not data order."""

    order: np.ndarray

    def summary_frame(self) -> pd.DataFrame:
        """``PoolTable.summary_frame`` with ``added``, the data position of the study each step
        adds, indexed by ``step`` (0-based)."""
        frame = super().summary_frame()
        frame["added"] = self.order
        frame.index.name = "step"
        return frame


def cumulative(
    yi: object,
    vi: object,
    order: object = None,
    method: str = "REML",
    ci: str = "wald",
    level: float = 0.95,
) -> Cumulative:
    """Cumulative meta-analysis: add the studies one at a time in ``order``.

    ``order`` is a permutation of 0..k-1 (e.g. ``np.argsort(year, kind="stable")``);
    None keeps the data order. Vectorised as one (k x k) lower-triangular fit.
    """
    y, v = check_inputs(yi, vi)
    k = y.size
    if order is None:
        idx = np.arange(k)
    else:
        idx = np.asarray(order)
        if idx.shape != (k,) or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError("order must hold one integer index per study")
        if not np.array_equal(np.sort(idx), np.arange(k)):
            raise ValueError("order must be a permutation of 0..k-1 (each study exactly once)")
    ys, vs = y[idx], v[idx]
    inrow = np.tril(np.ones((k, k), dtype=bool))
    vv = np.where(inrow, vs, np.inf)
    yy = np.broadcast_to(ys, (k, k))
    tab = pool_many(yy, vv, method=method, ci=ci, level=level)
    return Cumulative(order=idx.copy(), **_refit_fields(tab))


# ---------------------------------------------------------------------------------------
# Influence diagnostics


@dataclass(frozen=True)
class Influence:
    """Case diagnostics of metafor's ``influence.rma.uni`` (Viechtbauer & Cheung 2010),
    one entry per study in data order. With p = 1 (intercept only), w = 1/(vi + tau2),
    mu the full-data estimate, and mu(-i), vb(-i), tau2(-i) from the fit without study i:

    rstudent  (yi - mu(-i)) / sqrt(s2w(-i) (vi + tau2(-i)) + vb(-i))
    dffits    (mu - mu(-i)) / sqrt(s2w(-i) hat_i (vi + tau2(-i)))
    cooks_d   (mu - mu(-i))^2 / vb,                 vb = s2w / sum w
    cov_r     vb(-i) / vb
    dfbetas   (mu - mu(-i)) / sqrt(s2w(-i) / sum_j 1/(vj + tau2(-i)))
    hat       w_i / sum w;  weight = 100 hat (percent)
    s2w is 1 with Wald intervals and the Hartung-Knapp factor sum w (yi - mu)^2 / (k - 1)
    with ``ci="hksj"`` (metafor's ``test="knha"``), s2w(-i) that of the fit without study i.
    influential: |dffits| > 3 sqrt(p/(k-p)) or pchisq(cooks_d, p) > 0.5 or hat > 3p/k or
    |dfbetas| > 1 (metafor 3.8's rule).
    """

    rstudent: np.ndarray
    dffits: np.ndarray
    cooks_d: np.ndarray
    cov_r: np.ndarray
    dfbetas: np.ndarray
    tau2_del: np.ndarray
    q_del: np.ndarray
    hat: np.ndarray
    weight: np.ndarray
    influential: np.ndarray
    method: str

    def summary_frame(self) -> pd.DataFrame:
        """One row per study (data order) with metafor's ``influence`` columns: rstudent,
        dffits, cook_d, cov_r, dfbetas, tau2_del, qe_del, hat, weight, influential."""
        return pd.DataFrame(
            {
                "rstudent": self.rstudent,
                "dffits": self.dffits,
                "cook_d": self.cooks_d,
                "cov_r": self.cov_r,
                "dfbetas": self.dfbetas,
                "tau2_del": self.tau2_del,
                "qe_del": self.q_del,
                "hat": self.hat,
                "weight": self.weight,
                "influential": self.influential,
            }
        ).rename_axis("study")


def influence(yi: object, vi: object, method: str = "REML", ci: str = "wald") -> Influence:
    """Influence diagnostics of a random-effects (or common-effect, ``method="EE"``) model
    with Wald or (``ci="hksj"``) Hartung-Knapp inference, as metafor's ``influence``.

    Needs k >= 3 (each leave-one-out fit must keep at least two studies to mean anything;
    metafor itself stops at k = 1).
    """
    y, v = check_inputs(yi, vi)
    k = y.size
    if k < 3:
        raise ValueError("influence diagnostics need at least three studies")
    full = pool_many(y, v, method=method, ci=ci)
    mu, tau2 = float(full.estimate[0]), float(full.tau2[0])
    w = 1.0 / (v + tau2)
    sw = w.sum()
    hat = w / sw
    loo = _leave_one_out_table(y, v, method, ci)
    mu_del, tau2_del = loo.estimate, loo.tau2
    vb_del = loo.se**2
    sw_all = (1.0 / (v[None, :] + tau2_del[:, None])).sum(axis=1)
    if ci == "hksj":  # the fits' se^2 = s2w / sum w
        vb = float(full.se[0]) ** 2
        s2w_del = vb_del * (sw_all - 1.0 / (v + tau2_del))
    else:
        vb = 1.0 / sw
        s2w_del = np.ones(k)
    resid = y - mu_del
    resid = np.where(np.abs(resid) < 100 * np.finfo(float).eps, 0.0, resid)
    rstudent = resid / np.sqrt(s2w_del * (v + tau2_del) + vb_del)
    dfb = mu - mu_del
    dffits = dfb / np.sqrt(s2w_del * hat * (tau2_del + v))
    cooks_d = dfb**2 / vb
    cov_r = vb_del / vb
    dfbetas = dfb / np.sqrt(s2w_del / sw_all)
    p = 1
    influential = (
        (np.abs(dffits) > 3.0 * math.sqrt(p / (k - p)))
        | (stats.chi2.cdf(cooks_d, p) > 0.5)
        | (hat > 3.0 * p / k)
        | (np.abs(dfbetas) > 1.0)
    )
    return Influence(
        rstudent=rstudent,
        dffits=dffits,
        cooks_d=cooks_d,
        cov_r=cov_r,
        dfbetas=dfbetas,
        tau2_del=tau2_del,
        q_del=loo.q,
        hat=hat,
        weight=100.0 * hat,
        influential=influential,
        method=method,
    )


# ---------------------------------------------------------------------------------------
# GOSH


GOSH_METHODS = ("EE", "DL")


@dataclass(frozen=True)
class Gosh:
    """Graphical display of study heterogeneity (Olkin, Dahabreh & Trikalinos 2012): one
    row per subset of studies. ``membership[s, i]`` is True when study i is in subset s.
    ``exhaustive`` is True when every non-empty subset is present (else a seeded random
    sample, with replacement, of non-empty subsets). As metafor's ``gosh``, I2 and H2 come
    from Q for both models: I2 = 100 max(0, Q - (k-1)) / Q, H2 = Q / (k-1); a subset of
    one study has Q = 0, I2 = 0, H2 = 1."""

    estimate: np.ndarray
    se: np.ndarray
    q: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    tau2: np.ndarray
    k: np.ndarray
    membership: np.ndarray
    exhaustive: bool
    method: str

    def summary_frame(self) -> pd.DataFrame:
        """One row per subset: estimate, se, q, i2, h2, tau2, k (which studies each subset
        holds is ``membership``)."""
        cols = ("estimate", "se", "q", "i2", "h2", "tau2", "k")
        return pd.DataFrame({c: getattr(self, c) for c in cols}).rename_axis("subset")


def _all_subsets(k: int) -> np.ndarray:
    codes = np.arange(1, 2**k, dtype=np.int64)
    return ((codes[:, None] >> np.arange(k, dtype=np.int64)) & 1).astype(bool)


def _random_subsets(k: int, n: int, rng: np.random.Generator) -> np.ndarray:
    m = rng.random((n, k)) < 0.5
    empty = ~m.any(axis=1)
    while empty.any():
        m[empty] = rng.random((int(empty.sum()), k)) < 0.5
        empty = ~m.any(axis=1)
    return m


def _gosh_chunk(m: np.ndarray, y: np.ndarray, v: np.ndarray, method: str) -> tuple[np.ndarray, ...]:
    """Closed-form fits of every row of the membership matrix ``m`` (float 0/1)."""
    w = 1.0 / v
    ks = m.sum(axis=1)
    sw = m @ w
    swy = m @ (w * y)
    swy2 = m @ (w * y * y)
    mu_ee = swy / sw
    q = np.maximum(swy2 - swy * mu_ee, 0.0)
    df = ks - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        # metafor's gosh takes I2 and H2 from Q for both models (its fast path)
        i2 = np.where(q > 0, 100.0 * np.maximum(q - df, 0.0) / q, 0.0)
        h2 = q / df
        if method == "EE":
            tau2 = np.zeros_like(sw)
            mu, se = mu_ee, 1.0 / np.sqrt(sw)
        else:  # DL
            sw2 = m @ (w * w)
            tau2 = np.where(df > 0, np.maximum((q - df) / (sw - sw2 / sw), 0.0), 0.0)
            ws = m / (v[None, :] + tau2[:, None])
            sws = ws.sum(axis=1)
            mu = (ws @ y) / sws
            se = 1.0 / np.sqrt(sws)
    one = ks == 1
    return mu, se, q, np.where(one, 0.0, i2), np.where(one, 1.0, h2), tau2, ks


def gosh(
    yi: object,
    vi: object,
    method: str = "EE",
    max_subsets: int = 1_000_000,
    seed: int | None = 0,
    chunk_size: int = 1 << 16,
) -> Gosh:
    """Fit the model to subsets of the studies, as metafor's ``gosh`` (common effect "EE"
    or DerSimonian-Laird "DL"; closed forms, so each chunk is a few matrix products).

    All 2^k - 1 non-empty subsets when that count is <= ``max_subsets`` (so every k <= 19
    with the default, as metafor's ``subsets = 10^6``), else ``max_subsets`` random subsets
    drawn with ``seed``. Memory stays bounded: fits run in chunks of ``chunk_size`` rows.
    """
    if method not in GOSH_METHODS:
        raise ValueError(f"GOSH supports methods {', '.join(GOSH_METHODS)}, not {method!r}")
    y, v = check_inputs(yi, vi)
    k = y.size
    if max_subsets < 1:
        raise ValueError("max_subsets must be at least 1")
    # Q and the estimates are shift invariant/equivariant: centre y to limit cancellation.
    centre = float(np.average(y, weights=1.0 / v))
    yc = y - centre
    exhaustive = k < 63 and 2**k - 1 <= max_subsets
    if exhaustive:
        membership = _all_subsets(k)
    else:
        membership = _random_subsets(k, max_subsets, np.random.default_rng(seed))
    n = membership.shape[0]
    out = [np.empty(n) for _ in range(6)]
    ks = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk_size):
        block = membership[start : start + chunk_size].astype(float)
        res = _gosh_chunk(block, yc, v, method)
        for arr, part in zip(out, res[:6], strict=True):
            arr[start : start + block.shape[0]] = part
        ks[start : start + block.shape[0]] = res[6]
    mu, se, q, i2, h2, tau2 = out
    return Gosh(
        estimate=mu + centre,
        se=se,
        q=q,
        i2=i2,
        h2=h2,
        tau2=tau2,
        k=ks,
        membership=membership,
        exhaustive=exhaustive,
        method=method,
    )


# ---------------------------------------------------------------------------------------
# Baujat plot data


@dataclass(frozen=True)
class Baujat:
    """Coordinates of metafor's ``baujat.rma`` for an intercept-only model, data order.

    x  (yi - mu)^2 / (vi + tau2): the squared Pearson residual (for the common-effect model,
       the study's contribution to Q);
    y  (mu(-i) - mu)^2 / vb(-i): the squared shift of the pooled estimate when study i is
       left out, over the variance of the estimate without it (Hartung-Knapp scaled when
       ``ci="hksj"``, as metafor's ``test="knha"``).
    """

    x: np.ndarray
    y: np.ndarray
    method: str
    ci: str

    def summary_frame(self) -> pd.DataFrame:
        """One row per study (data order): x, y."""
        return pd.DataFrame({"x": self.x, "y": self.y}).rename_axis("study")


def baujat(yi: object, vi: object, method: str = "REML", ci: str = "wald") -> Baujat:
    """Baujat et al. (2002) heterogeneity/influence coordinates. Needs k >= 2."""
    y, v = check_inputs(yi, vi)
    if y.size < 2:
        raise ValueError("a Baujat plot needs at least two studies")
    full = pool_many(y, v, method=method, ci=ci)
    mu, tau2 = float(full.estimate[0]), float(full.tau2[0])
    loo = _leave_one_out_table(y, v, method, ci)
    return Baujat(
        x=(y - mu) ** 2 / (tau2 + v),
        y=(loo.estimate - mu) ** 2 / loo.se**2,
        method=method,
        ci=ci,
    )
