"""ViewState and its URL codec: a table of links -> states and notices, and property tests."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import operator
import string
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.state import view as S
from core.state.view import (
    DEFAULT_STATE,
    FIELDS,
    MAX_IDS,
    MAX_NOTICES,
    ParseResult,
    ViewState,
    check_exclusions,
    describe_filters,
    describe_measure,
    encode_query,
    fields_markdown,
    parse_query,
    to_query_params,
)

ROOT = Path(__file__).resolve().parents[2]

# (query, changes from the default state, substrings expected in the notices, one per notice)
CASES: list[tuple[str, dict, list[str]]] = [
    # defaults
    ("", {}, []),
    ("?", {}, []),
    ("v=1", {}, []),
    ("v=2", {}, []),
    # the example from the issue
    ("?design=RCT&design=PSM&exclude=Yu2014", {"exclude": ("Yu2014",)}, []),
    # every valid value of every field
    ("indication=PVTT", {"indication": ("PVTT",)}, []),
    ("indication=narrow_margin", {"indication": ("narrow_margin",)}, []),
    ("indication=MVI", {"indication": ("MVI",)}, []),
    ("indication=other", {"indication": ("other",)}, []),
    (
        "indication=other&indication=MVI&indication=narrow_margin&indication=PVTT",
        {"indication": ("PVTT", "narrow_margin", "MVI", "other")},
        [],
    ),
    ("design=RCT", {"design": ("RCT",)}, []),
    ("design=PSM", {"design": ("PSM",)}, []),
    ("design=prospective-nonrandomized", {"design": ("prospective-nonrandomized",)}, []),
    ("design=retrospective", {"design": ("retrospective",)}, []),
    ("design=none", {"design": ()}, []),
    ("rt=internal", {"rt": ("internal",)}, []),
    ("rt=external&rt=internal", {"rt": ("external", "internal")}, []),
    ("rt=none", {"rt": ()}, []),
    ("scope=all", {"scope": "all"}, []),
    ("scope=rim", {}, []),
    ("qmin=5", {"qmin": 5.0}, []),
    ("qmin=0", {"qmin": 0.0}, []),
    ("qmin=6.5", {"qmin": 6.5}, []),
    ("qmin=100", {"qmin": 100.0}, []),
    ("qmin=none", {}, []),
    ("qmin=", {}, []),
    ("exclude=Yu2014&exclude=Wei2019", {"exclude": ("Wei2019", "Yu2014")}, []),
    ("exclude=Kuang2024_RAISE", {"exclude": ("Kuang2024_RAISE",)}, []),
    ("outcome=DFS", {"outcome": "DFS"}, []),
    ("measure=HR", {"measure": "HR"}, []),
    ("t_os=3", {"t_os": 3.0}, []),
    ("t_os=2.0", {}, []),
    ("t_os=1.5", {"t_os": 1.5}, []),
    ("t_dfs=0.5", {"t_dfs": 0.5}, []),
    ("t_dfs=20", {"t_dfs": 20.0}, []),
    *[(f"method={m}", {"method": m}, []) for m in ("DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE")],
    ("ci=hksj", {"ci": "hksj"}, []),
    ("pi=0", {"pi": "0"}, []),
    ("pi=1", {}, []),  # old links: shown = the default method, t
    ("pi=t", {}, []),
    ("pi=z", {"pi": "z"}, []),
    ("pi=hksj", {"pi": "hksj"}, []),
    ("group=indication", {"group": "indication"}, []),
    ("group=design", {"group": "design"}, []),
    ("tpoint=interp", {"tpoint": "interp"}, []),
    ("order=quality", {"order": "quality"}, []),
    ("mod=year", {"mod": "year"}, []),
    ("mod=year&mod=median_fu_months", {"mod": ("year", "median_fu_months")}, []),
    ("mod=score,year,year", {"mod": ("quality", "year")}, []),
    ("group=rt_type", {"group": "rt_type"}, []),  # any column: the dataset is checked later
    ("group=Design", {"group": "design"}, []),
    ("tau2g=common", {"tau2g": "common"}, []),
    ("tau2g=pooled", {"tau2g": "common"}, []),
    ("tf=1", {"tf": True}, []),
    # case, whitespace, separators
    ("method=reml", {}, []),
    ("method=%20dl%20", {"method": "DL"}, []),
    ("METHOD=pm", {"method": "PM"}, []),
    ("design=rct&design=psm&design=Retrospective", {"design": ("RCT", "PSM", "retrospective")}, []),
    ("indication=pvtt&indication=Narrow-Margin", {}, []),
    ("ci=HKSJ", {"ci": "hksj"}, []),
    ("outcome=dfs&measure=hr", {"outcome": "DFS", "measure": "HR"}, []),
    # aliases (old links keep working)
    ("method=FE", {"method": "EE"}, []),
    ("method=CE", {"method": "EE"}, []),
    ("method=fixed", {"method": "EE"}, []),
    ("estimator=DL", {"method": "DL"}, []),
    ("ci=knha", {"ci": "hksj"}, []),
    ("ci=hk", {"ci": "hksj"}, []),
    ("measure=hazard", {"measure": "HR"}, []),
    ("measure=odds", {}, []),
    ("pi=off", {"pi": "0"}, []),
    ("pi=true", {}, []),
    ("pi=HK", {"pi": "hksj"}, []),
    ("pi=knha", {"pi": "hksj"}, []),
    ("tf=true", {"tf": True}, []),
    ("tpoint=interpolated", {"tpoint": "interp"}, []),
    ("design=randomized", {"design": ("RCT",)}, []),
    # comma lists
    ("indication=PVTT,MVI", {"indication": ("PVTT", "MVI")}, []),
    ("design=RCT,%20PSM,retrospective", {"design": ("RCT", "PSM", "retrospective")}, []),
    ("exclude=Yu2014,Wei2019,Yu2014", {"exclude": ("Wei2019", "Yu2014")}, []),
    ("design=RCT%2CPSM", {}, []),
    ("design=RCT,,", {"design": ("RCT",)}, []),
    # repeated keys and duplicates
    ("design=RCT&design=RCT", {"design": ("RCT",)}, []),
    ("exclude=Yu2014&exclude=Yu2014", {"exclude": ("Yu2014",)}, []),
    ("method=DL&method=PM", {"method": "PM"}, ["more than once"]),
    ("method=DL&method=DL", {"method": "DL"}, []),
    ("design=none&design=RCT", {"design": ("RCT",)}, []),
    # full URLs
    (
        "http://localhost:8501/?design=RCT&exclude=Yu2014",
        {"design": ("RCT",), "exclude": ("Yu2014",)},
        [],
    ),
    ("https://example.org/overview?measure=HR#top", {"measure": "HR"}, []),
    ("https://example.org/overview", {}, []),
    ("localhost:8501/studies?outcome=DFS", {"outcome": "DFS"}, []),
    ("/presentation?tf=1", {"tf": True}, []),
    # silently ignored keys
    ("utm_source=chat&embed=true&fbclid=x", {}, []),
    # unknown keys and invalid values: ignored with a notice, default kept
    ("foo=1", {}, ["Unknown link parameter 'foo'"]),
    ("method=bogus", {}, ["method"]),
    ("method=", {}, []),
    ("ci=fast", {}, ["ci"]),
    ("pi=2", {}, ["pi"]),
    ("tf=maybe", {}, ["tf"]),
    ("scope=everything", {}, ["scope"]),
    ("group=1year", {}, ["group"]),  # not a column name (a letter first)
    ("group=rt type", {}, ["group"]),
    ("tau2g=both", {}, ["tau2g"]),
    ("mod=a%20b", {}, ["mod"]),
    ("mod=a,b,c,d,e,f", {"mod": ("a", "b", "c", "d", "e")}, ["only the first 5"]),
    ("design=bogus", {}, ["design"]),
    ("design=RCT&design=bogus", {"design": ("RCT",)}, ["'bogus'"]),
    ("indication=PVTT,xyz", {"indication": ("PVTT",)}, ["'xyz'"]),
    ("qmin=-1", {}, ["qmin"]),
    ("qmin=NaN", {}, ["qmin"]),
    ("qmin=inf", {}, ["qmin"]),
    ("qmin=1e3", {}, ["qmin"]),
    ("qmin=101", {}, ["qmin"]),
    ("qmin=five", {}, ["qmin"]),
    ("t_os=0", {}, ["t_os"]),
    ("t_os=-2", {}, ["t_os"]),
    ("t_os=21", {}, ["t_os"]),
    ("t_dfs=0.0000001", {}, ["t_dfs"]),
    ("t_dfs=1,5", {}, ["t_dfs"]),
    ("exclude=../../etc/passwd", {}, ["not valid study ids"]),
    ("exclude=%3Cscript%3Ealert(1)%3C/script%3E", {}, ["not valid study ids"]),
    ("exclude=" + "a" * 65, {}, ["not valid study ids"]),
    ("exclude=ok&exclude=bad id", {"exclude": ("ok",)}, ["'bad id'"]),
    ("v=3", {}, ["newer version"]),
    ("v=abc", {}, ["not a version"]),
    # certainty judgements and their reasons (free text: commas and dots stay in the reason)
    ("grade=OS.rob.serious", {"grade": ("OS.rob.serious",)}, []),
    (
        "grade=OS.rob.serious&why=OS.rob.Open+label,+no+blinding.",
        {"grade": ("OS.rob.serious",), "why": ("OS.rob.Open label, no blinding.",)},
        [],
    ),
    ("why=%20DFS.rob.a%0Ab%20&why=&why=%20", {"why": ("DFS.rob.a b",)}, []),
    ("why=x&why=x&why=a", {"why": ("a", "x")}, []),
    ("why=" + "y" * 500, {"why": ("y" * S.MAX_TEXT,)}, ["cut to 400 characters"]),
    ("=x", {}, ["without a name"]),
    ("%3Cscript%3E=1", {}, ["'?script?'"]),
]


def _case_id(case: tuple[str, dict, list[str]]) -> str:
    return case[0][:50] or "empty"


#: The default view as links of format version 1 (no ``v``) mean it: rates only where reported.
V1_DEFAULTS = DEFAULT_STATE.replace(tpoint="exact")
#: Links of the table that set no control (the bare address, an empty value, only an unknown or
#: nameless key) or say v=2 or later: they open today's default view, not version 1's.
TODAYS = {
    "",
    "?",
    "qmin=",
    "method=",
    "=x",
    "%3Cscript%3E=1",
    "foo=1",
    "v=2",
    "v=3",
    "https://example.org/overview",
    "utm_source=chat&embed=true&fbclid=x",
}


def _with_v2(query: str) -> str | None:
    """``query`` with ``v=2`` as its first parameter (None: a URL without a query)."""
    if "?" in query:
        head, tail = query.split("?", 1)
        return f"{head}?v=2&{tail}"
    return None if "/" in query else "v=2&" + query


@pytest.mark.parametrize("query, changes, notices", CASES, ids=[_case_id(c) for c in CASES])
def test_parse_table(query: str, changes: dict, notices: list[str]) -> None:
    """Each link as written (without ``v`` it is a version-1 link, so a missing ``tpoint``
    reads ``exact``), and with ``v=2`` in front (today's defaults): same values, same notices."""
    base = DEFAULT_STATE if query in TODAYS else V1_DEFAULTS
    for link, expected_state in (
        (query, base.replace(**changes)),
        (_with_v2(query), DEFAULT_STATE.replace(**changes)),
    ):
        if link is None or "v=2&v=" in link:
            continue
        result = parse_query(link)
        assert result.state == expected_state, link
        assert len(result.notices) == len(notices), result.notices
        for notice, expected in zip(result.notices, notices, strict=True):
            assert expected in notice


@pytest.mark.parametrize(
    "link, tpoint",
    [
        ("", "interp"),  # the app's bare address: today's default view
        ("?outcome=DFS", "exact"),  # an old link (v1) keeps its meaning
        ("?v=1&outcome=DFS", "exact"),
        ("?outcome=DFS&tpoint=interp", "interp"),
        ("?v=1&tpoint=bogus", "exact"),  # an invalid value keeps the link version's default
        ("?v=abc&outcome=DFS", "exact"),  # read as v1, with a notice
        ("?v=2&outcome=DFS", "interp"),
        ("?v=2&tpoint=exact", "exact"),
        ("?v=2&tpoint=", "interp"),
        ("?v=9&outcome=DFS", "interp"),  # newer than the app: read as today's, with a notice
        ("?utm_source=mail", "interp"),  # sets no control
    ],
)
def test_time_point_default_by_link_version(link: str, tpoint: str) -> None:
    assert parse_query(link).state.tpoint == tpoint


def test_old_and_new_links_round_trip() -> None:
    """An old link (no v, no tpoint) reads as exact and is written back with v=2 and
    tpoint=exact; a new link always carries v=2 and leaves today's default (interp) out."""
    old = parse_query("?design=RCT&exclude=Yu2014")
    assert old == ParseResult(V1_DEFAULTS.replace(design=("RCT",), exclude=("Yu2014",)), ())
    new_link = encode_query(old.state)
    assert new_link == "v=2&design=RCT&exclude=Yu2014&tpoint=exact"
    assert parse_query(new_link) == old
    assert encode_query(DEFAULT_STATE) == "v=2"
    assert parse_query("v=2") == ParseResult(DEFAULT_STATE, ())
    assert to_query_params(DEFAULT_STATE.replace(tpoint="exact")) == {
        "v": ["2"], "tpoint": ["exact"]
    }  # fmt: skip
    assert S.defaults_of_version(1)["tpoint"] == "exact"
    assert S.defaults_of_version(2) == {f.name: f.default for f in FIELDS}


ALIASES = [
    (spec, alias, target)
    for spec in FIELDS
    for alias, target in {
        **spec.aliases,
        **(S._FLAG_ALIASES if spec.kind == "flag" else {}),
    }.items()
]


@pytest.mark.parametrize(
    "spec, alias, target", ALIASES, ids=[f"{s.key}={a}" for s, a, _ in ALIASES]
)
def test_every_alias(spec: S.FieldSpec, alias: str, target: str) -> None:
    expected = {"flag": target == "1", "multi": (target,)}.get(spec.kind, target)
    for query in (f"v=2&{spec.key}={alias}", f"v=2&{spec.key}={alias.upper()}"):
        assert parse_query(query) == ParseResult(DEFAULT_STATE.replace(**{spec.name: expected}), ())
    for key in spec.key_aliases:
        link = f"v=2&{key}={alias}"
        assert parse_query(link).state == DEFAULT_STATE.replace(**{spec.name: expected})


def test_module_doctest() -> None:
    import doctest

    assert doctest.testmod(S).failed == 0


def test_defaults() -> None:
    s = ViewState()
    assert s.indication == ("PVTT", "narrow_margin")
    assert s.design == ("RCT", "PSM")
    assert s.rt == ("external",)
    assert s.scope == "rim"
    assert s.qmin is None
    assert s.exclude == ()
    assert (s.outcome, s.measure, s.t_os, s.t_dfs) == ("OS", "OR", 2.0, 1.0)
    assert (s.method, s.ci, s.pi, s.group, s.tpoint) == ("REML", "wald", "t", "none", "interp")
    assert s.tau2g == "separate"
    assert (s.order, s.mod, s.tf) == ("year", ("quality",), False)
    assert encode_query(s) == "v=2"
    assert to_query_params(s) == {"v": ["2"]}
    assert [f.name for f in dataclasses.fields(ViewState)] == [f.name for f in FIELDS]


def test_mapping_inputs() -> None:
    expected = V1_DEFAULTS.replace(design=("RCT",), exclude=("Wei2019", "Yu2014"), method="DL")
    as_lists = {"design": ["RCT"], "exclude": ["Yu2014", "Wei2019"], "method": ["DL"]}
    assert parse_query(as_lists) == ParseResult(expected, ())
    as_strings = {"design": "RCT", "exclude": "Yu2014,Wei2019", "method": "dl"}
    assert parse_query(as_strings).state == expected
    assert parse_query(list(as_lists.items())).state == expected
    assert parse_query([("design", "RCT"), ("exclude", "Yu2014"), ("exclude", "Wei2019"),
                        ("method", "DL")]).state == expected  # fmt: skip
    assert parse_query(b"design=RCT&exclude=Yu2014,Wei2019&method=DL").state == expected


@pytest.mark.parametrize(
    "query",
    [None, 12, 1.5, object(), [1, 2, 3], {"design": object()}, {1: "x"}, {"design": [None]},
     [("a",)], b"\xff\xfe\x00", "\x00\x01", "%ff%fe=%00", "?&&&=&==", "#", "?#?"],
)  # fmt: skip
def test_odd_inputs_never_raise(query: object) -> None:
    result = parse_query(query)
    assert isinstance(result.state, ViewState)
    assert all(isinstance(n, str) for n in result.notices)


def test_many_notices_are_summarised() -> None:
    query = "&".join(f"unknown{i}=1" for i in range(25))
    notices = parse_query(query).notices
    assert len(notices) == MAX_NOTICES + 1
    assert notices[-1] == f"... and {25 - MAX_NOTICES} more"


def test_same_unknown_key_repeated_gives_one_notice() -> None:
    assert len(parse_query("foo=1&" * 10_000).notices) == 1


def test_ten_thousand_excluded_ids() -> None:
    ids = [f"S{i:05d}" for i in range(10_000)]
    result = parse_query("&".join(f"exclude={i}" for i in ids))
    assert result.state.exclude == tuple(sorted(ids[:MAX_IDS]))
    assert any(f"{10_000 - MAX_IDS} more ignored" in n for n in result.notices)
    assert parse_query(encode_query(result.state)).state == result.state


def test_huge_values() -> None:
    many_ids = "exclude=" + ",".join(f"a{i}" for i in range(200_000))
    for query in ("method=" + "x" * 1_000_000, "qmin=" + "9" * 100_000, many_ids):
        result = parse_query(query)
        assert isinstance(result.state, ViewState)
        assert result.notices
        assert all(len(n) < 300 for n in result.notices)


def test_notices_show_user_text_safely() -> None:
    notices = parse_query("<img src=x onerror=alert(1)>=1&method=`**[x](javascript:1)**`").notices
    assert len(notices) == 2
    for notice in notices:
        shown = notice.split("'")[1]  # the user's text, as quoted in the notice
        assert shown.startswith("?")
        assert not set(shown) & set("<>`*[]()&#|$:\\")


def test_encode() -> None:
    s = DEFAULT_STATE.replace(
        design=("PSM", "RCT", "retrospective"),
        exclude=("Yu2014", "Wei2019"),
        qmin=5,
        t_os=1.5,
        pi="0",
        method="HS",
    )
    assert s.design == ("RCT", "PSM", "retrospective")
    assert s.exclude == ("Wei2019", "Yu2014")
    assert s.qmin == 5.0
    assert encode_query(s) == (
        "v=2&design=RCT&design=PSM&design=retrospective&qmin=5&exclude=Wei2019&exclude=Yu2014"
        "&t_os=1.5&method=HS&pi=0"
    )
    assert to_query_params(s)["exclude"] == ["Wei2019", "Yu2014"]
    assert encode_query(DEFAULT_STATE.replace(indication=())) == "v=2&indication=none"
    assert encode_query(DEFAULT_STATE.replace(t_dfs=0.000001)) == "v=2&t_dfs=0.000001"


@pytest.mark.parametrize(
    "changes",
    [{"method": "bogus"}, {"design": ("RCT", "bogus")}, {"qmin": -1}, {"qmin": math.nan},
     {"t_os": 0}, {"t_os": 21}, {"t_os": None}, {"exclude": ("../x",)}, {"pi": "yes"},
     {"pi": True}, {"pi": "1"},
     {"qmin": True}, {"exclude": tuple(f"s{i}" for i in range(MAX_IDS + 1))}],
)  # fmt: skip
def test_constructor_rejects_invalid(changes: dict) -> None:
    with pytest.raises((ValueError, TypeError)):
        DEFAULT_STATE.replace(**changes)


def test_state_is_frozen_hashable_and_json_ready() -> None:
    s = DEFAULT_STATE.replace(exclude=("Yu2014",), qmin=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.method = "DL"  # type: ignore[misc]
    assert hash(s) == hash(DEFAULT_STATE.replace(exclude=["Yu2014"], qmin=4.0))
    d = s.to_dict()
    assert d["exclude"] == ["Yu2014"] and d["qmin"] == 4.0 and d["pi"] == "t"
    assert ViewState(**json.loads(json.dumps(d))) == s


def test_describe_filters() -> None:
    s = DEFAULT_STATE.replace(qmin=5, exclude=("Yu2014",))
    lines = describe_filters(s)
    assert lines[:6] == [
        "Indications: portal vein tumour thrombosis (PVTT), narrow resection margin",
        "Designs: randomized (RCT), propensity-matched (PSM)",
        "Radiotherapy: external-beam",
        "Studies: only those that can be in the published meta-analysis (search to May 2023)",
        "Minimum quality score: 5",
        "Excluded by hand: Yu2014",
    ]
    assert "Odds ratio of 2-year OS" in lines
    assert "Odds ratio of 2-year OS; odds ratio of 1-year DFS" in describe_filters(s, ("OS", "DFS"))
    hr = describe_filters(s.replace(measure="HR", method="EE", group="design", tf=True))
    assert "Hazard ratio of OS" in hr
    assert "Model: common effect (inverse variance)" in hr
    assert "Subgroups: by design" in hr
    assert "Trim-and-fill on the funnel plot: shown" in hr
    assert describe_measure(s.replace(t_dfs=1.5), "DFS") == "Odds ratio of 1.5-year DFS"
    interp = describe_filters(s.replace(design=()))
    assert "Designs: none selected" in interp
    assert "Time points: also rates interpolated between reported years (marked as derived)" in (
        interp
    )
    exact = describe_filters(s.replace(tpoint="exact"))
    assert "Time points: only rates reported at exactly t years" in exact
    assert not any(line.startswith("Time points") for line in describe_filters(s.replace(
        measure="HR")))  # fmt: skip
    many = describe_filters(s.replace(exclude=tuple(f"S{i:03d}" for i in range(30))))
    assert any(line.endswith("and 10 more") for line in many)


def test_check_exclusions() -> None:
    s = DEFAULT_STATE.replace(exclude=("Yu2014", "Nope1"))
    kept, notices = check_exclusions(s, {"Yu2014", "Wei2019"})
    assert kept.exclude == ("Yu2014",)
    assert len(notices) == 1 and "'Nope1'" in notices[0]
    assert check_exclusions(kept, {"Yu2014"}) == ParseResult(kept, ())


def test_values_match_the_rest_of_core() -> None:
    from core.data.schema import DESIGNS, INDICATIONS
    from core.stats.pooling import CI_METHODS, METHODS

    assert set(S.FIELD_BY_NAME["method"].allowed) == {*METHODS, "MH", "PETO", "BAYES"}
    assert set(S.FIELD_BY_NAME["ci"].allowed) == set(CI_METHODS)
    assert S.FIELD_BY_NAME["design"].allowed == DESIGNS
    assert S.FIELD_BY_NAME["indication"].allowed == INDICATIONS


def test_docs_hold_the_generated_table() -> None:
    doc = (ROOT / "docs" / "url-format.md").read_text(encoding="utf-8")
    assert fields_markdown() in doc
    for spec in FIELDS:
        assert f"`{spec.key}`" in doc


def test_core_state_does_not_import_streamlit() -> None:
    source = (ROOT / "core" / "state" / "view.py").read_text(encoding="utf-8")
    assert "import streamlit" not in source


# ---------------------------------------------------------------------------------------------
# Property tests.

_ALNUM = string.ascii_letters + string.digits
# ID_PATTERN built from characters (from_regex is slow enough here to fail health checks)
_ID = st.builds(operator.add, st.sampled_from(_ALNUM), st.text(_ALNUM + "_.-", max_size=63))
_NUMBER = st.floats(min_value=0, max_value=100, allow_nan=False)
_COLUMN = st.from_regex(S.COLUMN_PATTERN, fullmatch=True)
_TEXT = st.text(min_size=1, max_size=S.MAX_TEXT).map(S.clean_text).filter(bool)


def _token(raw: bytes) -> str:
    """A token as the store makes one: 24 bytes, URL-safe base64 (32 characters)."""
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _strategy(spec: S.FieldSpec) -> st.SearchStrategy:
    if spec.kind == "enum":
        return st.sampled_from(spec.allowed)
    if spec.kind == "flag":
        return st.booleans()
    if spec.kind == "multi":
        return st.lists(st.sampled_from(spec.allowed), unique=True).map(tuple)
    if spec.kind == "ids":
        return st.lists(_ID, max_size=20).map(tuple)
    if spec.kind == "token":
        return st.none() | st.binary(min_size=24, max_size=24).map(_token)
    if spec.kind == "column":
        return st.sampled_from(spec.allowed) | _COLUMN
    if spec.kind == "columns":
        return st.lists(st.sampled_from(spec.allowed) | _COLUMN, min_size=1, max_size=5).map(
            lambda cols: tuple(dict.fromkeys(cols))
        )
    if spec.kind == "texts":
        return st.lists(_TEXT, max_size=5).map(tuple)
    if spec.nullable:
        return st.none() | _NUMBER
    # t_os, t_dfs and tau_prior must be above 0; add (zero-cell correction) may be 0
    low = max(spec.low, 1e-6) if spec.name in ("t_os", "t_dfs", "tau_prior") else spec.low
    return st.floats(min_value=low, max_value=spec.high, allow_nan=False)


STATES = st.builds(ViewState, **{spec.name: _strategy(spec) for spec in FIELDS})


@settings(suppress_health_check=[HealthCheck.too_slow])  # a busy shared machine is not a bug
@given(STATES)
def test_round_trip(state: ViewState) -> None:
    query = encode_query(state)
    assert parse_query(query) == ParseResult(state, ())
    assert parse_query("?" + query).state == state
    assert parse_query(f"https://example.org/app?{query}").state == state
    assert parse_query(to_query_params(state)) == ParseResult(state, ())
    assert encode_query(state) == query  # stable
    assert encode_query(dataclasses.replace(state)) == query


TOKEN = "AbCd_-0123456789abcdefghijklmnop"


def test_data_token_is_a_link_key() -> None:
    """``data=TOKEN`` is kept, written last, and a value of another shape is ignored with a
    notice (the view stays on the bundled data); links without it are unchanged."""
    parsed = parse_query(f"?v=2&outcome=DFS&data={TOKEN}")
    assert parsed == ParseResult(ViewState(outcome="DFS", data=TOKEN), ())
    assert encode_query(parsed.state) == f"v=2&outcome=DFS&data={TOKEN}"
    assert parse_query(f"?DATA= {TOKEN} ").state.data == TOKEN
    bad = parse_query("?v=2&data=abc&design=RCT")
    assert bad.state == ViewState(design=("RCT",))
    assert bad.notices == (
        "Saved dataset (data): 'abc' is not the token of a saved dataset; ignored.",
    )
    assert parse_query(f"?data={TOKEN}x").state.data is None
    assert encode_query(ViewState(design=("RCT",))) == "v=2&design=RCT"
    with pytest.raises(ValueError):
        ViewState(data="abc")


@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    _check_result(parse_query(text))


@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check_result(parse_query(data.decode("utf-8", errors="replace")))
    _check_result(parse_query(data))


_KEYS = st.sampled_from([f.key for f in FIELDS] + ["v", "foo", "", "EXCLUDE", "utm_x"])
_HOSTILE = st.sampled_from(
    ["NaN", "inf", "-inf", "1e308", "-0", "<script>alert(1)</script>", "../../etc/passwd",
     "%00", "\u202e", "ＲＣＴ", "𝟐", "none", "", " ", ",", "1" * 5000, "'\"", "javascript:1"]
)  # fmt: skip
_VALUES = _HOSTILE | st.text(max_size=40) | st.sampled_from([v for f in FIELDS for v in f.allowed])


@given(st.lists(st.tuples(_KEYS, _VALUES), max_size=40))
def test_hostile_pairs_never_raise(pairs: list[tuple[str, str]]) -> None:
    _check_result(parse_query(pairs))
    query = "&".join(f"{quote(k)}={quote(v, safe=',')}" for k, v in pairs)
    result = parse_query(query)
    _check_result(result)
    assert parse_query(encode_query(result.state)) == ParseResult(result.state, ())


@settings(max_examples=10, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_KEYS, _VALUES)
def test_huge_repeated_keys_never_raise(key: str, value: str) -> None:
    _check_result(parse_query("&".join([f"{quote(key)}={quote(value)}"] * 10_000)))


def _check_result(result: ParseResult) -> None:
    assert isinstance(result.state, ViewState)
    assert result.state == ViewState(**result.state.to_dict())  # every field valid
    assert len(result.notices) <= MAX_NOTICES + 1
    assert all(isinstance(n, str) and len(n) < 400 for n in result.notices)
