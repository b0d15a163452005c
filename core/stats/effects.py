"""Per-study effect sizes on the analysis scale.

Conventions follow R's metafor ``escalc`` so that numbers agree with it:

- log odds ratio  yi = ln(a d / (b c)),   vi = 1/a + 1/b + 1/c + 1/d
- log risk ratio  yi = ln((a/n1) / (c/n2)), vi = 1/a - 1/n1 + 1/c - 1/n2
- risk difference yi = a/n1 - c/n2,       vi = p1 (1 - p1)/n1 + p2 (1 - p2)/n2
- Peto log OR     yi = (a - E) / V,        vi = 1 / V, E = n1 (a + c) / N,
                  V = n1 n2 (a + c)(b + d) / (N^2 (N - 1))   (rma.peto's per-study estimates)

with ``add = 1/2`` added to all four cells of the tables that have a zero cell
(metafor's ``to = "only0"``, applied to all three measures as metafor does);
``to = "all"`` adds it to every table, ``"if0all"`` to every table when any has a zero cell,
``"none"`` switches the correction off. ``drop00 = True`` leaves out (yi, vi = NaN) the tables
with no events, or only events, in both arms (metafor's ``drop00``; FALSE in ``escalc``, TRUE
in ``rma.mh`` and ``rma.peto``).

The risk difference is on the absolute scale (a proportion, as metafor and RevMan print it;
null value 0); the others are log ratios (null value 1 after ``exp``): :func:`is_ratio`,
:func:`to_shown`.

Hazard ratios enter as ln(HR) with SE from the 95% CI, (ln hi - ln lo) / (2 z_0.975),
or from a two-sided p-value, |ln HR| / z_(1 - p/2).

Ratios are shown as exp(log ratio); ``LOG_MAX`` = ln(largest double) ~ 709.78 bounds what
can be back-transformed, and ``exp_ratio`` gives inf (or 0) beyond it instead of raising.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats

Measure = Literal["OR", "RR", "RD", "PETO"]
ZeroCellRule = Literal["only0", "none", "all", "if0all"]

_MEASURES = ("OR", "RR", "RD", "PETO")
ZERO_CELL_RULES: tuple[str, ...] = ("only0", "all", "if0all", "none")

LOG_MAX = math.log(sys.float_info.max)
#: z at 0.975, the critical value of a 95% Wald interval (R's qnorm(0.975))
Z975 = float(stats.norm.isf(0.025))


def exp_ratio(x: float) -> float:
    """exp(x) for a log ratio: inf above ``LOG_MAX`` (where ``math.exp`` raises), NaN kept."""
    return math.inf if x > LOG_MAX else math.exp(x)


def exp_ratios(x: object) -> np.ndarray:
    """``exp_ratio`` elementwise: inf beyond ``LOG_MAX`` without numpy's overflow warning."""
    a = np.asarray(x, dtype=float)
    with np.errstate(over="ignore"):
        return np.exp(a)


def is_ratio(measure: str) -> bool:
    """True for the ratio measures (OR, RR, HR: analysed as logs, null value 1), False for
    the risk difference (RD: absolute scale, null value 0)."""
    return measure != "RD"


def null_value(measure: str) -> float:
    """The value of 'no difference' as shown: 1 for a ratio, 0 for the risk difference."""
    return 1.0 if is_ratio(measure) else 0.0


def to_shown(measure: str, x: float) -> float:
    """A value on the analysis scale as shown: exp(log ratio) for a ratio (``exp_ratio``),
    the risk difference itself (a proportion)."""
    return exp_ratio(x) if is_ratio(measure) else float(x)


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes for k studies: ``yi`` on the analysis scale, ``vi`` sampling variances.

    ``corrected`` marks the studies whose table received the continuity correction.
    """

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    corrected: np.ndarray

    @property
    def k(self) -> int:
        return int(self.yi.size)


def _as_float(x: object) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


def escalc(
    measure: Measure,
    ai: object,
    n1i: object,
    ci: object,
    n2i: object,
    add: float = 0.5,
    to: ZeroCellRule = "only0",
    drop00: bool = False,
) -> EffectSizes:
    """Effect sizes from 2x2 tables: events ``ai`` of ``n1i`` (treated), ``ci`` of ``n2i``.

    Mirrors ``metafor::escalc(measure, ai, bi, ci, di, add=1/2, to="only0", drop00=FALSE)``.
    A log ratio that stays undefined after correction (``to="none"`` with a zero cell)
    is returned as NaN, never as +/-inf; so are the tables ``drop00`` leaves out (no events,
    or only events, in both arms), which also get no correction.
    """
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of {_MEASURES}, not {measure!r}")
    a, n1, c, n2 = (_as_float(v) for v in (ai, n1i, ci, n2i))
    if not (a.shape == n1.shape == c.shape == n2.shape):
        raise ValueError("ai, n1i, ci and n2i must have the same length")
    b, d = n1 - a, n2 - c
    if np.any(a < 0) or np.any(c < 0) or np.any(b < 0) or np.any(d < 0):
        raise ValueError("events must lie between 0 and the arm size")

    dropped = double_zero(a, n1, c, n2) if drop00 else np.zeros(a.shape, dtype=bool)
    has_zero = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~dropped
    if to == "only0":
        corrected = has_zero
    elif to == "all":
        corrected = ~dropped
    elif to == "if0all":
        corrected = np.full(a.shape, bool(has_zero.any())) & ~dropped
    elif to == "none":
        corrected = np.zeros(a.shape, dtype=bool)
    else:
        raise ValueError(f"unknown zero-cell rule {to!r}")
    inc = np.where(corrected, add, 0.0)
    a, b, c, d = a + inc, b + inc, c + inc, d + inc
    n1, n2 = a + b, c + d

    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            yi = np.log(a) + np.log(d) - np.log(b) - np.log(c)
            vi = 1 / a + 1 / b + 1 / c + 1 / d
        elif measure == "RR":
            yi = np.log(a / n1) - np.log(c / n2)
            vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
        elif measure == "PETO":
            n = n1 + n2
            v = n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))
            yi = (a - n1 * (a + c) / n) / v
            vi = 1 / v
        else:
            p1, p2 = a / n1, c / n2
            yi = p1 - p2
            vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
    bad = ~np.isfinite(yi) | ~np.isfinite(vi) | dropped
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad, np.nan, vi)
    return EffectSizes(yi=yi, vi=vi, measure=measure, corrected=corrected)


def double_zero(a: np.ndarray, n1: np.ndarray, c: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Tables with no events in both arms, or only events in both (metafor's ``drop00``)."""
    return ((a == 0) & (c == 0)) | ((a == n1) & (c == n2))


@dataclass(frozen=True)
class LogRatio:
    """A log ratio with its standard error and how the SE was derived."""

    yi: float
    se: float
    derivation: str

    @property
    def vi(self) -> float:
        return self.se**2


@lru_cache(maxsize=16)
def z_two_sided(level: float) -> float:
    """z_{1-(1-level)/2}, computed once per level (scipy's ppf costs ~0.1 ms a call, which
    adds up over 50,000 studies)."""
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def log_hr_from_ci(hr: float, ci_low: float, ci_high: float, level: float = 0.95) -> LogRatio:
    """ln(HR) and SE = (ln hi - ln lo) / (2 z_{1-(1-level)/2}) from a reported CI."""
    if not (0 < ci_low <= hr <= ci_high) or not math.isfinite(ci_high):
        raise ValueError(f"need 0 < ci_low <= hr <= ci_high, got {ci_low}, {hr}, {ci_high}")
    z = z_two_sided(level)
    se = (math.log(ci_high) - math.log(ci_low)) / (2 * z)
    if se <= 0:
        raise ValueError("the confidence interval has zero width")
    return LogRatio(
        yi=math.log(hr),
        se=se,
        derivation=f"SE from the {level:.0%} CI: (ln {ci_high:g} - ln {ci_low:g}) / (2 x {z:.4f})",
    )


def log_hr_from_p(hr: float, p: float, z: float | None = None) -> LogRatio:
    """ln(HR) and SE = |ln HR| / z_{1-p/2} from a two-sided p-value.

    ``z``: z_{1-p/2} when the caller has it already (``stats.norm.isf(p / 2)`` over a column
    of p-values at once); computed here otherwise."""
    if not (hr > 0 and math.isfinite(hr)) or hr == 1:
        raise ValueError(
            f"need a finite HR > 0 other than 1 (an HR of 1 carries no SE information through "
            f"its p-value), got {hr:g}"
        )
    if not 0 < p < 1:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    if z is None:
        z = float(stats.norm.isf(p / 2))
    return LogRatio(
        yi=math.log(hr),
        se=abs(math.log(hr)) / z,
        derivation=f"SE from the two-sided p = {p:g}: |ln {hr:g}| / {z:.4f}",
    )


def events_from_rate(n: int, rate_percent: float) -> int:
    """Events by time t from a survival (or DFS) rate in percent and the arm size.

    events = round(n x (1 - rate/100)), halves rounded up. This is an approximation
    (it ignores censoring before t); it is how the published meta-analysis built its
    2-year OS and 1-year DFS odds ratios.
    """
    if n < 0 or not 0 <= rate_percent <= 100:
        raise ValueError(f"need n >= 0 and 0 <= rate <= 100, got n={n}, rate={rate_percent}")
    exact = n * (100 - rate_percent) / 100
    # A rate printed to one or two decimals is rarely exact in binary: round to 9 places
    # first so that 0.5 really is a half.
    return math.floor(round(exact, 9) + 0.5)
