"""core.fmt: the one way numbers are printed. Hand-worked values at every boundary of each rule,
and hypothesis invariants: a shown ratio parses back within its rounding (or is a bound that
holds), and no float ever takes more than six characters."""

from __future__ import annotations

import doctest
import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import fmt


def test_module_doctest() -> None:
    assert doctest.testmod(fmt).failed == 0


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0.3612, "0.36"),
        (1.0, "1.00"),
        (0.005, "0.005"),  # three decimals from 0.001 to 0.01
        (0.0042, "0.004"),
        (0.01, "0.01"),
        (0.001, "0.001"),
        (0.0009999, "<0.001"),
        (5e-324, "<0.001"),
        (0.0, "0"),
        (-0.0, "0"),
        (999.0, "999.00"),
        (998.996, "999.00"),
        (999.01, ">999"),
        (1500.0, ">999"),
        (1e200, ">999"),
        (1.7976931348623157e308, ">999"),
        (math.inf, "∞"),
        (math.nan, "–"),
        (-math.inf, "–"),
        (-0.5, "–"),
        (None, "–"),
        (np.float64(0.359), "0.36"),
    ],
)
def test_ratio(x: float | None, text: str) -> None:
    assert fmt.ratio(x) == text


def test_ratio_ci() -> None:
    assert fmt.ratio_ci(0.246, 0.523) == "0.25–0.52"
    assert fmt.ratio_ci(0.246, 0.523, " to ") == "0.25 to 0.52"
    assert fmt.ratio_ci(0.5, 1500.0) == "0.50–>999"
    assert fmt.ratio_ci(0.0, math.inf) == "0–∞"
    assert fmt.ratio_ci(math.nan, 2.0) == fmt.ratio_ci(math.nan, math.nan) == "not estimable"
    assert fmt.ratio_ci(None, 2.0) == "not estimable"


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.0426, "0.043"),
        (0.001, "0.001"),
        (0.000999, "< 0.001"),
        (0.0, "< 0.001"),
        (1.0, "1.000"),
        (math.nan, "–"),
        (math.inf, "–"),
        (1.5, "–"),
        (-0.1, "–"),
        (None, "–"),
    ],
)
def test_p_value(p: float, text: str) -> None:
    assert fmt.p_value(p) == text


def test_percent() -> None:
    assert fmt.percent(12.34) == "12.3%"
    assert fmt.percent(0.0) == "0.0%"
    assert fmt.percent(64.5, 0) == "64%"  # halves to even, as Python's format
    assert fmt.percent(math.nan) == fmt.percent(None) == "–"


def test_per_1000() -> None:
    assert fmt.per_1000(0.2281) == "228 per 1000"
    assert fmt.per_1000(0.0125) == "12 per 1000"  # 12.5 rounds half to even
    assert fmt.per_1000(0.3, 0.15, 0.451) == "300 per 1000 (150 to 451)"
    assert fmt.per_1000(0.3, None, 0.4) == "300 per 1000"
    assert fmt.per_1000(None) == fmt.per_1000(math.nan) == "–"


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (357347, "357,347"),
        (815, "815"),
        (0, "0"),
        (np.int64(2**63 - 1), "9,223,372,036,854,775,807"),
        (4 * 9 * 10**18 + 200, "36,000,000,000,000,000,200"),  # Python ints keep every digit
        (1411.0, "1,411"),
        (1e308, "1e+308"),
        (2.0**53, "9.007e+15"),
        (12.5, "12.5"),
        (math.inf, "inf"),
        (math.nan, "–"),
        (None, "–"),
    ],
)
def test_count(n: float | None, text: str) -> None:
    assert fmt.count(n) == text


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_ratio_parses_back_within_its_rounding(x: float) -> None:
    text = fmt.ratio(x)
    assert len(text) <= 6
    if text == "–":
        assert math.isnan(x) or x < 0
    elif text == "∞":
        assert x == math.inf
    elif text == ">999":
        assert x > fmt.RATIO_MAX
    elif text == "<0.001":
        assert 0 < x < fmt.RATIO_MIN
    else:
        half = 0.5 * 10.0 ** -_decimals(text)
        assert abs(float(text) - x) <= half * (1 + 1e-9)
        assert _decimals(text) == (2 if x >= 0.01 else 3 if x > 0 else 0)


@given(st.floats(min_value=0, allow_nan=False), st.floats(min_value=0, allow_nan=False))
def test_ratio_is_monotone(a: float, b: float) -> None:
    """A larger ratio never reads smaller (bounds and rounding included)."""
    lo, hi = sorted((a, b))
    order = {"0": -2.0, "<0.001": -1.0, ">999": 1e4, "∞": math.inf}
    shown = [order.get(fmt.ratio(x)) or float(fmt.ratio(x)) for x in (lo, hi)]
    assert shown[0] <= shown[1]


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_p_value_never_long(p: float) -> None:
    text = fmt.p_value(p)
    assert len(text) <= 7
    if text == "–":
        assert not 0 <= p <= 1
    elif text not in ("–", "< 0.001"):
        assert abs(float(text) - p) <= 0.0005 * (1 + 1e-9)


@given(st.integers(min_value=-(2**70), max_value=2**70))
def test_count_parses_back_exactly(n: int) -> None:
    text = fmt.count(n)
    assert int(text.replace(",", "")) == n
    assert all(len(g) == 3 for g in text.lstrip("-").split(",")[1:])


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_count_of_any_float_is_short(x: float) -> None:
    """Never hundreds of digits: at most 22 characters (-9,007,199,254,740,991)."""
    assert len(fmt.count(x)) <= 22


@pytest.mark.parametrize(
    ("call", "text"),
    [
        (lambda: fmt.tau2(0.012345), "0.0123"),
        (lambda: fmt.tau2(0.0), "0.0000"),
        (lambda: fmt.tau2(math.nan), "–"),
        (lambda: fmt.tau(0.11096), "0.1110"),
        (lambda: fmt.coefficient(-0.02154), "-0.0215"),
        (lambda: fmt.rank_correlation(0.12449), "0.124"),
        (lambda: fmt.diagnostic(-1.22474), "-1.225"),
        (lambda: fmt.diagnostic(None), "–"),
        (lambda: fmt.stat(7.315), "7.32"),  # 7.315 is stored just above the half
        (lambda: fmt.alpha(0.1), "0.10"),
        (lambda: fmt.alpha(0.05), "0.05"),
        (lambda: fmt.change(20.0), "+20.0%"),
        (lambda: fmt.change(-4.04), "-4.0%"),
        (lambda: fmt.change(math.inf), "–"),
        (lambda: fmt.share(49.99), "49.9%"),  # truncated: never rounds up to 50%
        (lambda: fmt.share(50.0), "50%"),
        (lambda: fmt.percent_number(12.34), "12.3"),
        (lambda: fmt.whole(12.5), "12"),  # Python's round: halves to even
        (lambda: fmt.whole(1024.4), "1,024"),
        (lambda: fmt.years(2.0), "2"),
        (lambda: fmt.years(2.5), "2.5"),
        (lambda: fmt.follow_up_years(28 / 12), "2.3"),
        (lambda: fmt.number(0.5), "0.5"),
        (lambda: fmt.number(1e308), "1e+308"),
        (lambda: fmt.significant(0.123456), "0.1235"),
        (lambda: fmt.significant(5e-324, 3), "4.94e-324"),
        (lambda: fmt.megabytes(20_000_001), "20.0 MB"),
    ],
)
def test_named_rules(call: Callable[[], str], text: str) -> None:
    assert call() == text
