"""Hostile links: whatever query string arrives, parse_query returns a valid ViewState that
round-trips through encode_query, and says what it ignored (property tests)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.state.view import (
    FIELDS,
    MAX_IDS,
    MAX_NOTICES,
    ParseResult,
    ViewState,
    encode_query,
    parse_query,
)

KEYS = [f.key for f in FIELDS]
NASTY_VALUES = [
    "NaN", "nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e-400", "0x10", "1_000",
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)",
    "../../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "%00", "\x00", "\u202e", "\ufeff",
    "ＲＣＴ", "𝟐", "２", "ö", "💥", "'; DROP TABLE studies;--", "{{7*7}}", "${7*7}", "%s%s%n",
    "none", "", " ", ",", ",,,", "1" * 10_000, "a" * 100_000,
]  # fmt: skip

_key = st.sampled_from([*KEYS, "v", "V", "Exclude", " design ", "", "utm_source", "x" * 5000])
_key |= st.text(max_size=30)
_value = st.sampled_from(NASTY_VALUES) | st.text(max_size=60)
_value |= st.sampled_from([v for f in FIELDS for v in f.allowed])
_pair = st.tuples(_key, _value)


def _encode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


def _assert_valid(result: ParseResult) -> None:
    """A valid state, bounded notices, and a link that reopens the same view silently."""
    state = result.state
    assert isinstance(state, ViewState)
    assert state == ViewState(**state.to_dict())  # every field passes the constructor's checks
    assert len(state.exclude) <= MAX_IDS
    assert len(result.notices) <= MAX_NOTICES + 1
    for notice in result.notices:
        assert isinstance(notice, str) and 0 < len(notice) < 400
        assert "<" not in notice and ">" not in notice  # user text reduced to safe characters
    again = parse_query(encode_query(state))
    assert again == ParseResult(state, ())


def _changes_nothing(pairs: list[tuple[str, str]]) -> bool:
    """True when every pair is one the parser may drop silently (blank, tracker, own key)."""
    from core.state.view import SILENT_KEYS, SILENT_PREFIXES

    for key, value in pairs:
        k = key.strip().lower()
        if not k and not value.strip():
            continue
        if k in SILENT_KEYS or k.startswith(SILENT_PREFIXES):
            continue
        return False
    return True


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_pair, max_size=30))
def test_random_hostile_pairs(pairs: list[tuple[str, str]]) -> None:
    for query in (_encode(pairs), "?" + _encode(pairs), pairs, dict(pairs)):
        _assert_valid(parse_query(query))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=20), _value), min_size=1, max_size=10))
def test_unknown_keys_are_named_in_a_notice(pairs: list[tuple[str, str]]) -> None:
    known = {k.lower() for k in KEYS} | {"v", "estimator"}
    pairs = [(k, v) for k, v in pairs if k.strip().lower() not in known]
    result = parse_query(_encode(pairs))
    _assert_valid(result)
    assert result.state == ViewState()
    if not _changes_nothing(pairs):
        assert result.notices, pairs


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([f for f in FIELDS if f.kind in ("enum", "flag")]), _value)
def test_invalid_choice_keeps_the_default_with_a_notice(spec, value: str) -> None:
    result = parse_query(_encode([("v", "2"), (spec.key, value)]))  # today's defaults
    _assert_valid(result)
    accepted = spec.canonical(value.strip())
    if not value.strip():
        assert result == ParseResult(ViewState(), ())
    elif accepted is None:
        assert getattr(result.state, spec.name) == spec.default
        assert any(f"({spec.key})" in n and "ignored" in n for n in result.notices)
    else:
        want = accepted == "1" if spec.kind == "flag" else accepted
        assert result == ParseResult(ViewState().replace(**{spec.name: want}), ())


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("exclude=../../etc/passwd", "not valid study ids"),
        ("exclude=%3Cscript%3Ealert(1)%3C/script%3E", "not valid study ids"),
        ("design=%3Cimg%20src=x%20onerror=alert(1)%3E", "not one of"),
        ("qmin=NaN", "is not a number"),
        ("qmin=inf", "is not a number"),
        ("t_os=-inf", "is not a number"),
        ("t_os=1e309", "is not a number"),
        ("t_os=0", "is not a number"),
        ("method=" + "A" * 100_000, "is not one of"),
        ("x" * 100_000 + "=1", "Unknown link parameter"),
        ("=orphan", "A value without a name"),
        ("%E2%80%AE=%F0%9F%92%A5", "Unknown link parameter"),
        ("outcome=OS&outcome=DFS", "more than once"),
        ("v=999", "newer version"),
        ("v=-1", "not a version number"),
        ("pi=maybe", "not one of"),
        ("%ZZ=%ZZ", "Unknown link parameter"),
        ("design=%FF%FE", "not one of"),
    ],
)
def test_hostile_link_is_reported(query: str, expect: str) -> None:
    result = parse_query(query)
    _assert_valid(result)
    assert any(expect in n for n in result.notices), result.notices


EMPTY_LINKS = ["", "?", "&&&", "?&&&", "&=&=&", "=", "#frag", "?#", "&" * 10_000]


@pytest.mark.parametrize("query", EMPTY_LINKS)
def test_empty_links_open_the_default_view(query: str) -> None:
    assert parse_query(query) == ParseResult(ViewState(), ())


def test_ten_thousand_excluded_ids_are_capped_with_a_notice() -> None:
    query = "&".join(f"exclude=S{i:05d}" for i in range(10_000))
    result = parse_query(query)
    _assert_valid(result)
    assert len(result.state.exclude) == MAX_IDS
    assert any(f"only the first {MAX_IDS} ids kept; 9500 more ignored" in n for n in result.notices)
    # the same ids as one comma-separated value
    assert parse_query("exclude=" + ",".join(f"S{i:05d}" for i in range(10_000))) == result


def test_repeated_keys_keep_the_last_value_and_say_so() -> None:
    result = parse_query("method=DL&method=PM&METHOD=ml")
    _assert_valid(result)
    assert result.state.method == "ML"
    assert any("more than once" in n for n in result.notices)


def test_percent_encoded_keys_and_values_are_decoded_once() -> None:
    assert parse_query("m%65thod=DL").state.method == "DL"
    assert parse_query("method=%44L").state.method == "DL"
    double = parse_query("method=%2544L")  # %25 is '%': decoded once gives '%44L', not 'DL'
    assert double.state.method == "REML" and double.notices


def test_many_notices_are_summarised() -> None:
    result = parse_query("&".join(f"junk{i}=1" for i in range(500)))
    _assert_valid(result)
    assert result.notices[-1] == f"... and {500 - MAX_NOTICES} more"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes(data: bytes) -> None:
    _assert_valid(parse_query(data))
    _assert_valid(parse_query(quote(data)))
