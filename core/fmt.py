"""Numbers as the explorer prints them: one rule per kind of number, used by every page, chart,
report, export and the command line, so that one number reads the same everywhere.

=========  =================================================================================
ratio      two decimals from 0.01 to 999, three from 0.001 to 0.01; beyond that a bound,
           ``<0.001`` or ``>999`` (never hundreds of digits); exactly 0 is ``0``, +inf ``∞``,
           NaN and negative values (not a ratio) ``–``. At most 6 characters.
ratio_ci   ``low–high`` (or another separator), ``not estimable`` when a bound is NaN;
           ratio_with_ci: ``est [low, high]`` as the charts show it
difference a risk difference as a proportion (as metafor and RevMan print it): two decimals,
           ``-0.11``; ``-0.00`` is ``0.00``; NaN ``–``. ``effect``, ``effect_ci``,
           ``effect_with_ci``: ratio or difference by the measure (RD: difference)
p_value    ``< 0.001`` below 0.001, else three decimals; NaN or outside [0, 1] ``–``;
           p_equals: ``p = 0.042`` or ``p < 0.001`` as a footer prints it
stat       a test statistic or Q (and Egger's slope on SE): two decimals (``-2.45``); NaN ``–``
tau2, tau  the between-study variance and SD: four decimals (``0.0123``), as metafor prints them
coef       ``coefficient``: a meta-regression coefficient, log scale, four decimals (``-0.0215``)
rank_corr  ``rank_correlation``: Kendall's tau: three decimals (``0.124``); ``diagnostic``:
           an influence diagnostic (rstudent, DFFITS, Cook's d, hat), three decimals
alpha      a significance level or threshold: two decimals (``0.05``, ``0.10``)
percent    one decimal (or ``decimals``) and ``%`` (``percent_number``: no ``%``); NaN ``–``.
           ``change``: signed, ``+20.3%``;
           ``share``: truncated (never rounded up to a threshold), ``.0`` dropped: ``49.9%``
per_1000   ``round(1000 r) per 1000`` (Python's round: halves to even), with its CI;
           ``whole``: any other quantity as a rounded whole number (``12 fewer``)
years      a time point in years as set: shortest form (``2``, ``2.5``); ``follow_up_years``:
           a follow-up duration (months / 12), one decimal (``2.3``)
number     a setting or a value quoted from the data: Python's ``g`` (``0.5``, ``1e+308``);
           ``significant``: a computed value quoted in a message, four significant digits
megabytes  a size in MB (10^6 bytes), one decimal: ``20.0 MB``
count      a whole number with thousands separators (``357,347``); a float beyond 2^53 (no
           longer an exact count) in four significant digits (``1e+308``)
=========  =================================================================================

>>> ratio(0.3612), ratio(0.0042), ratio(0.0004), ratio(1500.0), ratio(1e200)
('0.36', '0.004', '<0.001', '>999', '>999')
>>> ratio_ci(0.25, 0.52), p_value(0.0004), percent(12.34), per_1000(0.2281), count(357347)
('0.25–0.52', '< 0.001', '12.3%', '228 per 1000', '357,347')
>>> tau2(0.01234), stat(7.314), change(20.31), years(2.5), number(0.5), megabytes(20_000_001)
('0.0123', '7.31', '+20.3%', '2.5', '0.5', '20.0 MB')

Charts (Vega-Lite's d3-format) and table columns (Streamlit's printf) format some numbers
themselves: their spellings of the same rules are the ``D3_*`` and ``PRINTF_*`` constants.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Final

#: Ratios above this read as ``>999``; below ``RATIO_MIN`` as ``<0.001``.
RATIO_MAX: Final = 999.0
RATIO_MIN: Final = 0.001
MISSING: Final = "–"
NOT_ESTIMABLE: Final = "not estimable"
#: Floats at or above 2^53 are no longer exact whole numbers.
EXACT_FLOAT: Final = 2.0**53

# Vega-Lite (d3-format) spellings, for charts that format numbers themselves.
#: Axis ticks: the shortest form (0.5, 1, 2).
D3_AXIS = "~g"
#: A computed value in a tooltip (a log ratio, its SE, a Baujat coordinate): three decimals.
D3_TOOLTIP = ".3f"
#: A value already in percent (I²): one decimal, as ``percent``.
D3_PERCENT = ".1f"
#: A proportion (survival) as a percent with one decimal, and its axis in whole percent.
D3_PROPORTION = ".1%"
D3_PROPORTION_AXIS = "%"
#: Months of follow-up: one decimal.
D3_MONTHS = ".1f"

# Streamlit's (printf) spellings, for table columns and number inputs.
#: A count or a score: a whole number.
PRINTF_WHOLE = "%d"
#: An entered value (an HR, a CI bound): four significant digits.
PRINTF_ENTERED = "%.4g"
#: A percent typed by the user (an assumed risk): one decimal.
PRINTF_ONE_DECIMAL = "%.1f"


def ratio(x: float | None) -> str:
    """A ratio (OR, HR, ratio of ORs): '0.36', '0.004', '<0.001', '>999', '0', '∞' or '–'."""
    if x is None or math.isnan(x) or x < 0:
        return MISSING
    if math.isinf(x):
        return "∞"
    if x == 0:
        return "0"
    if x > RATIO_MAX:
        return f">{RATIO_MAX:.0f}"
    if x < RATIO_MIN:
        return f"<{RATIO_MIN:g}"
    return f"{x:.2f}" if x >= 0.01 else f"{x:.3f}"


def ratio_ci(low: float | None, high: float | None, sep: str = "–") -> str:
    """'0.25–0.52' (``sep`` between the bounds), or 'not estimable' when a bound is missing."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return NOT_ESTIMABLE
    return f"{ratio(low)}{sep}{ratio(high)}"


def ratio_with_ci(est: float, low: float, high: float) -> str:
    """A ratio and its CI as the charts print them: '0.80 [0.60, 1.07]', an unbounded side as
    0 or ∞ ('0.80 [0, ∞]'), '0.80 [CI not estimable]' when a bound is NaN."""
    if math.isnan(low) or math.isnan(high):
        return f"{ratio(est)} [CI {NOT_ESTIMABLE}]"
    return f"{ratio(est)} [{ratio(low)}, {ratio(high)}]"


def difference(x: float | None) -> str:
    """A risk difference as a proportion: '-0.11', '0.05', '0.00'; NaN or None '–'."""
    if x is None or not math.isfinite(x):
        return MISSING
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def effect(measure: str, x: float | None) -> str:
    """``difference`` for the risk difference (RD), else ``ratio``; x on the shown scale."""
    return difference(x) if measure == "RD" else ratio(x)


def effect_ci(measure: str, low: float | None, high: float | None, sep: str = "–") -> str:
    """``ratio_ci`` or, for RD, '-0.20 to -0.01' style bounds joined by ``sep`` (a dash
    between negative numbers would misread, so RD always uses ' to ')."""
    if measure != "RD":
        return ratio_ci(low, high, sep)
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return NOT_ESTIMABLE
    return f"{difference(low)} to {difference(high)}"


def effect_with_ci(measure: str, est: float, low: float, high: float) -> str:
    """``ratio_with_ci`` or, for RD, '-0.11 [-0.20, -0.01]'."""
    if measure != "RD":
        return ratio_with_ci(est, low, high)
    if math.isnan(low) or math.isnan(high):
        return f"{difference(est)} [CI {NOT_ESTIMABLE}]"
    return f"{difference(est)} [{difference(low)}, {difference(high)}]"


def p_value(p: float | None) -> str:
    """'0.042', '< 0.001', or '–' when p is missing or not a probability (NaN, outside 0-1)."""
    if p is None or not 0.0 <= p <= 1.0:
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_equals(p: float | None) -> str:
    """'p = 0.042', 'p < 0.001' or 'p = –' (the forest plot's footer, as RevMan prints it)."""
    shown = p_value(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def stat(x: float | None) -> str:
    """A test statistic (z, t) or Cochran's Q: two decimals ('-2.45', '7.31'); '–' when
    missing or not finite."""
    return _fixed(x, 2)


def _fixed(x: float | None, decimals: int) -> str:
    """``x`` with ``decimals`` decimals, '–' when missing or not finite."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:.{decimals}f}"


def tau2(x: float | None) -> str:
    """The between-study variance τ²: four decimals ('0.0123'), as metafor prints it; '–'
    when missing."""
    return _fixed(x, 4)


def tau(x: float | None) -> str:
    """The between-study standard deviation τ (or its posterior median and CrI bounds): four
    decimals ('0.1109'), as metafor prints it; '–' when missing."""
    return _fixed(x, 4)


def coefficient(x: float | None) -> str:
    """A meta-regression coefficient on the log scale: four decimals ('-0.0215'), as
    metafor's ``rma`` table prints it; '–' when missing."""
    return _fixed(x, 4)


def rank_correlation(x: float | None) -> str:
    """Kendall's rank correlation (Begg's test): three decimals ('0.124'); '–' when missing."""
    return _fixed(x, 3)


def diagnostic(x: float | None) -> str:
    """An influence diagnostic (studentized residual, DFFITS, Cook's distance, covariance
    ratio, hat, QE after deletion): three decimals, as metafor's ``influence()`` prints them;
    '–' when missing."""
    return _fixed(x, 3)


def percent_number(x: float | None) -> str:
    """A value in percent under a '(%)' header (a weight column): one decimal, no sign
    ('12.3'), as ``percent`` without its '%'; '–' when missing."""
    return _fixed(x, 1)


def alpha(x: float) -> str:
    """A significance level or a p-value threshold: two decimals ('0.05', '0.10')."""
    return _fixed(x, 2)


def probability(p: float | None) -> str:
    """A posterior probability in percent, never rounded to certainty: '98%', '> 99.9%',
    '< 0.1%', '–' when missing or not a probability."""
    if p is None or not 0.0 <= p <= 1.0:
        return MISSING
    if p > 0.999:
        return "> 99.9%"
    if p < 0.001:
        return "< 0.1%"
    if p > 0.99 or p < 0.01:
        return f"{100 * p:.1f}%"
    return f"{100 * p:.0f}%"


def percent(x: float | None, decimals: int = 1) -> str:
    """A value already in percent (I², a weight): '12.3%', or '–' when missing."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:.{decimals}f}%"


def change(x: float | None) -> str:
    """A change already in percent, signed, one decimal ('+20.3%', '-4.0%'); '–' when
    missing."""
    if x is None or not math.isfinite(x):
        return MISSING
    return f"{x:+.1f}%"


def share(x: float) -> str:
    """A share of the weight in percent, set against a threshold: truncated to one decimal
    (never rounded up to the threshold), a trailing '.0' dropped ('49.9%', '50%')."""
    text = f"{math.floor(x * 10 + 1e-6) / 10:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def per_1000(risk: float | None, low: float | None = None, high: float | None = None) -> str:
    """A risk (a proportion) per 1000 patients: '228 per 1000', with its CI when both bounds
    are given: '228 per 1000 (150 to 320)'; '–' when the risk is missing."""
    if risk is None or not math.isfinite(risk):
        return MISSING
    text = f"{round(1000 * risk)} per 1000"
    if low is not None and high is not None and math.isfinite(low) and math.isfinite(high):
        text += f" ({round(1000 * low)} to {round(1000 * high)})"
    return text


def whole(x: float) -> str:
    """A quantity shown as a whole number (a difference per 1000, a compression ratio):
    Python's round (halves to even), with thousands separators ('12', '1,024')."""
    return count(round(x))


def years(t: float) -> str:
    """A time point in years as the user set it, shortest form: '2', '2.5'."""
    return number(t)


def follow_up_years(x: float) -> str:
    """A follow-up duration in years (months / 12): one decimal ('2.3')."""
    return f"{x:.1f}"


def number(x: float) -> str:
    """A setting or a value quoted from the data (a quality score, a prior's scale, the
    zero-cell add, an HR as entered): Python's ``g``, six significant digits ('0.5',
    '1e+308')."""
    return f"{x:g}"


def significant(x: float, digits: int = 4) -> str:
    """A computed value quoted in a message or a derivation: ``digits`` significant digits
    ('0.1235', '1.798e+308')."""
    return f"{x:.{digits}g}"


def megabytes(n: float) -> str:
    """A size in bytes as megabytes (10^6 bytes), one decimal: '20.0 MB'."""
    return f"{n / 1_000_000:.1f} MB"


def count(n: float | None) -> str:
    """A count: '357,347'; a float that is not an exact whole number below 2^53 in four
    significant digits ('1e+308', '12.5'); '–' when missing."""
    if n is None:
        return MISSING
    if isinstance(n, Integral):
        return f"{int(n):,}"
    x = float(n)
    if math.isfinite(x) and x == int(x) and abs(x) < EXACT_FLOAT:
        return f"{int(x):,}"
    return MISSING if math.isnan(x) else significant(x)
