"""Mantel-Haenszel and Peto pooling of 2x2 tables, as metafor's ``rma.mh`` and ``rma.peto``.

Per table: a events of n1 (treated), c events of n2 (control), b = n1 - a, d = n2 - c,
N = n1 + n2. The pooled estimates use the raw counts (no continuity correction):

  OR  exp(ln OR_MH), OR_MH = sum(a d / N) / sum(b c / N); variance of ln OR_MH by
      Robins, Breslow & Greenland (1986)
  RR  RR_MH = sum(a n2 / N) / sum(c n1 / N); variance by Greenland & Robins (1985)
  RD  RD_MH = sum((a n2 - c n1) / N) / sum(n1 n2 / N); variance by Sato (1989)
  Peto ln OR = sum(O - E) / sum(V), E = n1 (a + c) / N,
       V = n1 n2 (a + c)(b + d) / (N^2 (N - 1)), se = 1 / sqrt(sum V)

Heterogeneity as metafor prints it: the per-table effect sizes of ``escalc`` with ``add``,
``to`` and ``drop00`` (metafor's defaults for these models: 1/2, "only0", TRUE; they touch only
the per-table yi and vi, never the pooled estimate) give k.yi tables with a finite yi; Cochran's
Q = sum((yi - est)^2 / vi) about the MH estimate, on k.yi - 1 df. Peto's Q is
sum((O - E)^2 / V) - (sum(O - E))^2 / sum(V) (tables with V > 0), on k.yi - 1 df.
I2 = 100 max(0, Q - df) / Q, H2 = Q / df; with k.yi <= 1 (Peto: fewer than two tables with
V > 0), Q = 0, its p = 1, I2 = 0 and H2 = 1, as metafor gives them.

Weights (percent, as metafor's ``weights``): MH OR b c / N, RR c n1 / N, RD n1 n2 / N; Peto V.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from core.stats.effects import Measure, ZeroCellRule, double_zero, escalc
from core.stats.heterogeneity import i2_common
from core.stats.pooling import PoolResult, intervals, wald_or_t
from core.stats.tidy import one_row_frame


@dataclass(frozen=True)
class FixedResult:
    """A common-effect pooled estimate on the analysis scale (log OR/RR or RD)."""

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    stat: float
    pvalue: float
    q: float
    q_pvalue: float
    i2: float
    k: int
    method: str
    measure: str
    note: str | None = None
    h2: float = math.nan
    k_yi: int = 0
    weights: tuple[float, ...] = ()

    def summary_row(self) -> dict[str, Any]:
        """``PoolResult.summary_row`` of :func:`as_pool_result` (model "MH" or "PETO", tau2
        0, no prediction interval, df = k.yi - 1)."""
        return as_pool_result(self).summary_row()

    def summary_frame(self) -> pd.DataFrame:
        """:meth:`summary_row` as a one-row frame indexed by the model."""
        return one_row_frame(self.summary_row(), "model")


def _tables(ai: object, n1i: object, ci: object, n2i: object) -> tuple[np.ndarray, ...]:
    a, n1, c, n2 = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (ai, n1i, ci, n2i))
    if not (a.shape == n1.shape == c.shape == n2.shape) or a.size == 0:
        raise ValueError("ai, n1i, ci and n2i must be non-empty and of the same length")
    if np.any((a < 0) | (c < 0) | (a > n1) | (c > n2)):
        raise ValueError("events must lie between 0 and the arm size")
    return a, n1 - a, c, n2 - c, n1, n2, n1 + n2


def _finish(
    est: float,
    se: float,
    het: tuple[float, int, bool],
    method: str,
    measure: str,
    w: np.ndarray,
    level: float,
) -> FixedResult:
    """The result; ``het`` = (Q, k.yi, whether Q has degrees of freedom)."""
    q, k_yi, has_df = het
    with np.errstate(divide="ignore", invalid="ignore"):  # se = 0: R's 0/0 = NaN, x/0 = ±Inf
        stat, pval, z = (float(x) for x in wald_or_t(np.float64(est), np.float64(se), None, level))
    ci_low, ci_high = intervals(est, se, 0.0, z, "EE")[:2]
    df = k_yi - 1
    if has_df and df > 0:
        q = max(0.0, q)
        q_p = float(special.chdtrc(df, q))
        # as R's max(0, NaN): I2 undefined when Q is infinite (a table with vi = 0)
        i2 = math.nan if math.isinf(q) else i2_common(q, df)
        h2 = q / df
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0
    total = float(w.sum())
    return FixedResult(
        estimate=est,
        se=se,
        ci_low=ci_low,
        ci_high=ci_high,
        stat=stat,
        pvalue=pval,
        q=q,
        q_pvalue=q_p,
        i2=i2,
        k=int(w.size),
        method=method,
        measure=measure,
        h2=h2,
        k_yi=k_yi,
        weights=tuple(float(x) for x in 100.0 * w / total),
    )


def _yi_count(
    measure: Measure, a, n1, c, n2, add: float, to: ZeroCellRule, drop00: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-table yi, vi of ``escalc`` with the zero-cell options; NaN where not finite."""
    es = escalc(measure, a, n1, c, n2, add=add, to=to, drop00=drop00)
    return es.yi, es.vi


def _peto_k_yi(a, n1, c, n2, add: float, to: ZeroCellRule, drop00: bool) -> int:
    """Tables with a finite per-table Peto log OR (O - E) / V after the zero-cell options (as
    metafor's ``escalc("PETO")``, which ``rma.peto`` counts as k.yi)."""
    es = escalc("OR", a, n1, c, n2, add=add, to=to, drop00=drop00)
    dropped = double_zero(a, n1, c, n2) if drop00 else np.zeros(a.shape, dtype=bool)
    inc = np.where(es.corrected, add, 0.0)
    a, c, n1, n2 = a + inc, c + inc, n1 + 2 * inc, n2 + 2 * inc
    n = n1 + n2
    v = n1 * n2 * (a + c) * (n - a - c) / (n**2 * (n - 1))
    return int(((v > 0) & ~dropped).sum())


def _cochran_q(
    measure: Measure, a, n1, c, n2, est: float, add: float, to: ZeroCellRule, drop00: bool
) -> tuple[float, int, bool]:
    yi, vi = _yi_count(measure, a, n1, c, n2, add, to, drop00)
    ok = np.isfinite(yi) & np.isfinite(vi)
    k_yi = int(ok.sum())
    with np.errstate(divide="ignore", invalid="ignore"):  # vi = 0 (RD, to="none"): Q = inf
        q = float(np.sum((yi[ok] - est) ** 2 / vi[ok]))
    return q, k_yi, k_yi > 1


def mantel_haenszel(
    ai: object,
    n1i: object,
    ci: object,
    n2i: object,
    measure: Measure = "OR",
    level: float = 0.95,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = True,
) -> FixedResult:
    """Mantel-Haenszel common-effect estimate of OR (log scale), RR (log scale) or RD, as
    ``metafor::rma.mh(measure, add, to, drop00)``; ``add``, ``to``, ``drop00`` act on the
    per-table yi, vi (Q, I2, H2) only."""
    a, b, c, d, n1, n2, n = _tables(ai, n1i, ci, n2i)
    if measure == "OR":
        r, s = np.sum(a * d / n), np.sum(b * c / n)
        if r == 0 or s == 0:
            raise ValueError("the Mantel-Haenszel odds ratio is 0 or infinite for these tables")
        p, q = (a + d) / n, (b + c) / n
        var = (
            np.sum(p * a * d / n) / (2 * r**2)
            + np.sum(p * b * c / n + q * a * d / n) / (2 * r * s)
            + np.sum(q * b * c / n) / (2 * s**2)
        )
        est = math.log(r / s)
        w = b * c / n
    elif measure == "RR":
        r, s = np.sum(a * n2 / n), np.sum(c * n1 / n)
        if r == 0 or s == 0:
            raise ValueError("the Mantel-Haenszel risk ratio is 0 or infinite for these tables")
        var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (r * s)
        est = math.log(r / s)
        w = c * n1 / n
    elif measure == "RD":
        w = n1 * n2 / n
        sw = np.sum(w)
        est = float(np.sum((a * n2 - c * n1) / n) / sw)
        p1, p2 = n1 / n, n2 / n
        num = est * np.sum(c * p1**2 - a * p2**2 + p1 * p2 * (n2 - n1) / 2)
        var = (num + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2) / sw**2
    else:
        raise ValueError(f"measure must be OR, RR or RD, not {measure!r}")
    het = _cochran_q(measure, a, n1, c, n2, est, add, to, drop00)
    return _finish(est, math.sqrt(float(var)), het, "MH", measure, w, level)


def peto(
    ai: object,
    n1i: object,
    ci: object,
    n2i: object,
    level: float = 0.95,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = True,
) -> FixedResult:
    """Peto's one-step log odds ratio (Yusuf et al. 1985), as ``metafor::rma.peto``;
    ``add``, ``to``, ``drop00`` change only k.yi (the df of Q)."""
    a, b, c, d, n1, n2, n = _tables(ai, n1i, ci, n2i)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = n1 * (a + c) / n
        v = n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))
    v = np.where(np.isfinite(v), v, 0.0)
    sv = float(v.sum())
    if sv <= 0:
        raise ValueError("Peto's odds ratio needs at least one table with events and non-events")
    oe = a - e
    est = float(oe.sum()) / sv
    pos = v > 0
    q = float(np.sum(oe[pos] ** 2 / v[pos]) - oe.sum() ** 2 / sv)
    k_yi = _peto_k_yi(a, n1, c, n2, add, to, drop00)
    het = (q, k_yi, int(pos.sum()) > 1)
    return _finish(est, 1 / math.sqrt(sv), het, "Peto", "OR", v, level)


def as_pool_result(res: FixedResult, level: float = 0.95) -> PoolResult:
    """``res`` as the pages' pooled result: method ``MH`` or ``PETO``, Wald CI, tau2 = 0, no
    prediction interval, Q on k.yi - 1 df, the model's weights (percent)."""
    nan = math.nan
    return PoolResult(
        estimate=float(res.estimate),
        se=float(res.se),
        wald_se=float(res.se),
        hk_se=nan,
        ci_low=float(res.ci_low),
        ci_high=float(res.ci_high),
        stat=float(res.stat),
        pvalue=float(res.pvalue),
        tau2=0.0,
        i2=float(res.i2),
        h2=float(res.h2),
        q=float(res.q),
        q_pvalue=float(res.q_pvalue),
        df=max(res.k_yi - 1, 0),
        pi_low=nan,
        pi_high=nan,
        k=res.k,
        method="MH" if res.method == "MH" else "PETO",
        ci="wald",
        level=level,
        weights=res.weights,
        converged=True,
        note=res.note,
    )


def pool_tables(
    ai: object,
    n1i: object,
    ci: object,
    n2i: object,
    measure: Measure,
    method: str,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = True,
    level: float = 0.95,
) -> PoolResult:
    """Mantel-Haenszel (``method="MH"``) or Peto (``"PETO"``, odds ratio only) as a
    :class:`PoolResult`."""
    if method == "MH":
        res = mantel_haenszel(ai, n1i, ci, n2i, measure, level, add, to, drop00)
    elif method == "PETO" and measure == "OR":
        res = peto(ai, n1i, ci, n2i, level, add, to, drop00)
    else:
        raise ValueError(f"{method} with {measure}: Peto gives odds ratios only")
    return as_pool_result(res, level)
