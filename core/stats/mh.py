"""Mantel-Haenszel and Peto pooling of 2x2 tables, as metafor's ``rma.mh`` and ``rma.peto``.

Per table: a events of n1 (treated), c events of n2 (control), b = n1 - a, d = n2 - c,
N = n1 + n2. The pooled estimates use the raw counts (no continuity correction):

  OR  exp(ln OR_MH), OR_MH = sum(a d / N) / sum(b c / N); variance of ln OR_MH by
      Robins, Breslow & Greenland (1986)
  RR  RR_MH = sum(a n2 / N) / sum(c n1 / N); variance by Greenland & Robins (1985)
  RD  RD_MH = sum((a n2 - c n1) / N) / sum(n1 n2 / N); variance by Sato (1989)
  Peto ln OR = sum(O - E) / sum(V), E = n1 (a + c) / N,
       V = n1 n2 (a + c)(b + d) / (N^2 (N - 1)), se = 1 / sqrt(sum V)

Cochran's Q uses the per-table effect sizes of ``escalc`` (1/2 added to tables with a zero
cell; tables without events, or with only events, in both arms dropped), about the MH
estimate; I2 = 100 max(0, Q - (k-1)) / Q. Peto's Q is sum((O - E)^2 / V) - (sum(O - E))^2
/ sum(V).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from core.stats.effects import Measure, escalc


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


def _tables(ai: object, n1i: object, ci: object, n2i: object) -> tuple[np.ndarray, ...]:
    a, n1, c, n2 = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (ai, n1i, ci, n2i))
    if not (a.shape == n1.shape == c.shape == n2.shape) or a.size == 0:
        raise ValueError("ai, n1i, ci and n2i must be non-empty and of the same length")
    if np.any((a < 0) | (c < 0) | (a > n1) | (c > n2)):
        raise ValueError("events must lie between 0 and the arm size")
    return a, n1 - a, c, n2 - c, n1, n2, n1 + n2


def _finish(
    est: float, se: float, q: float, kq: int, method: str, measure: str, k: int, level: float
) -> FixedResult:
    z = stats.norm.isf((1 - level) / 2)
    stat = est / se
    df = kq - 1
    q_p = float(special.chdtrc(df, q)) if df > 0 else math.nan
    i2 = max(0.0, 100.0 * (q - df) / q) if df > 0 and q > 0 else (0.0 if df > 0 else math.nan)
    return FixedResult(
        estimate=est,
        se=se,
        ci_low=est - z * se,
        ci_high=est + z * se,
        stat=stat,
        pvalue=float(special.erfc(abs(stat) / math.sqrt(2))),
        q=q,
        q_pvalue=q_p,
        i2=i2,
        k=k,
        method=method,
        measure=measure,
    )


def _cochran_q(measure: Measure, a, n1, c, n2, est: float) -> tuple[float, int]:
    keep = ~(((a == 0) & (c == 0)) | ((a == n1) & (c == n2)))
    es = escalc(measure, a[keep], n1[keep], c[keep], n2[keep])
    ok = np.isfinite(es.yi)
    return float(np.sum((es.yi[ok] - est) ** 2 / es.vi[ok])), int(ok.sum())


def mantel_haenszel(
    ai: object, n1i: object, ci: object, n2i: object, measure: Measure = "OR", level: float = 0.95
) -> FixedResult:
    """Mantel-Haenszel common-effect estimate of OR (log scale), RR (log scale) or RD."""
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
    elif measure == "RR":
        r, s = np.sum(a * n2 / n), np.sum(c * n1 / n)
        if r == 0 or s == 0:
            raise ValueError("the Mantel-Haenszel risk ratio is 0 or infinite for these tables")
        var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (r * s)
        est = math.log(r / s)
    elif measure == "RD":
        sw = np.sum(n1 * n2 / n)
        est = float(np.sum((a * n2 - c * n1) / n) / sw)
        p1, p2 = n1 / n, n2 / n
        num = est * np.sum(c * p1**2 - a * p2**2 + p1 * p2 * (n2 - n1) / 2)
        var = (num + np.sum(a * (n2 - c) / n + c * (n1 - a) / n) / 2) / sw**2
    else:
        raise ValueError(f"measure must be OR, RR or RD, not {measure!r}")
    q, kq = _cochran_q(measure, a, n1, c, n2, est)
    return _finish(est, math.sqrt(float(var)), q, kq, "MH", measure, a.size, level)


def peto(ai: object, n1i: object, ci: object, n2i: object, level: float = 0.95) -> FixedResult:
    """Peto's one-step log odds ratio (Yusuf et al. 1985)."""
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
    return _finish(est, 1 / math.sqrt(sv), q, int(pos.sum()), "Peto", "OR", a.size, level)
