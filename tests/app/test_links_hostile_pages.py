"""Hostile links opened on every page (AppTest): no exception, 'Ignored in the link' notices
for what was ignored, and a valid view (numbers or a plain message).

Each AppTest run costs 1-3 s, so the fixed list is spread over the pages (every page gets
several), three links open on every page, and hypothesis adds a few generated ones.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.state.grade import grade_notices
from core.state.view import FIELDS, MAX_IDS, ViewState, parse_query
from core.views.analysis import group_column
from tests.app.conftest import PAGES, metric_values, open_app
from ui import blocks

PAGE_NAMES = list(PAGES)
NOTICE = "Ignored in the link"

HOSTILE_LINKS = [
    "exclude=%3Cscript%3Ealert(1)%3C%2Fscript%3E&design=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "exclude=..%2F..%2F..%2Fetc%2Fpasswd&indication=..\\..\\windows",
    "qmin=NaN&t_os=inf&t_dfs=-inf&cr_os=1e309",
    "method=" + "A" * 50_000,
    "x" * 20_000 + "=1",
    "exclude=" + ",".join(f"S{i:05d}" for i in range(10_000)),
    "exclude=Wei2019&exclude=Wei2019&exclude=wei2019&exclude=Yu2014",
    "outcome=OS&outcome=DFS&outcome=LOL&measure=HR&measure=OR",
    "%E2%80%AE=%F0%9F%92%A5&design=%EF%BC%B2%EF%BC%A3%EF%BC%B4&group=%F0%9D%9F%90",
    "&&&",
    "=orphan&=&&=x",
    "%ZZ=%ZZ&design=%FF%FE&utm_source=chat",
    "design=none&indication=none&rt=none",
    "v=999&tf=maybe&pi=&order=%00",
    "grade=OS.rob.very_serious&grade=%3Cb%3E&grade=DFS.x.y&cr_os=150",
    "scope=all&qmin=99&exclude=" + ",".join(f"id{i}" for i in range(600)),
]
#: invalid values of the keys the measures, models and forest columns brought
MODEL_LINKS = [
    "v=2&measure=XX&method=BAYESX&add=-1&to=zz&drop00=maybe&tau_prior=0&tau2g=x&sort=%00"
    "&mod=%3Cb%3E&group=nosuch",
    "v=2&method=BAYES&tau_prior=nan&add=1e400&group=label&mod=nope&sort=effect",
]
ON_EVERY_PAGE = [HOSTILE_LINKS[0], HOSTILE_LINKS[5], HOSTILE_LINKS[12]]


def _check(at: AppTest, query: str, page: str, *, captions: bool = False) -> None:
    assert not at.exception, [e.value for e in at.exception]
    parsed = parse_query(query)
    # What was ignored is kept for app.py, which shows one caption per notice on every page.
    # (After AppTest.switch_page the page script runs without app.py, so its captions are
    # checked on the overview; the browser test sees them on the other pages.)
    kept = at.session_state["view_notices"] if "view_notices" in at.session_state else ()  # noqa: SIM401 (AppTest's session state has no .get)
    assert tuple(kept) == parsed.notices
    assert at.session_state["view_state"] == parsed.state
    if captions or page == "overview":
        # the codec's notices, then one per unusable certainty judgement (grade=/why= tokens
        # are kept in the link as they are, and app.py says which it ignores)
        # and a group= column the bundled data lack
        data = group_column(load_bundled().studies, parsed.state.group)[1]
        notices = (*parsed.notices, *grade_notices(parsed.state), *([data] if data else []))
        shown = [c.value for c in at.caption if c.value.startswith(NOTICE)]
        assert len(shown) == len(notices), (shown, notices)
        for caption, notice in zip(shown, notices, strict=True):
            assert caption == f"{NOTICE}: {blocks.text(notice)}"
    # a valid view: numbers, a table, or a plain message saying why there are none
    assert at.title, "page has no title"
    assert at.metric or at.dataframe or at.warning or at.info


@pytest.mark.parametrize(
    ("query", "page"),
    [(q, PAGE_NAMES[i % len(PAGE_NAMES)]) for i, q in enumerate(HOSTILE_LINKS)],
    ids=[f"link{i}-{PAGE_NAMES[i % len(PAGE_NAMES)]}" for i in range(len(HOSTILE_LINKS))],
)
def test_hostile_link(query: str, page: str) -> None:
    _check(open_app(query, page), query, page)


@pytest.mark.parametrize("page", PAGE_NAMES)
@pytest.mark.parametrize("query", ON_EVERY_PAGE, ids=["script", "10k-ids", "empty-selection"])
def test_hostile_link_on_every_page(query: str, page: str) -> None:
    _check(open_app(query, page), query, page)


@pytest.mark.parametrize("page", PAGE_NAMES)
@pytest.mark.parametrize("query", MODEL_LINKS, ids=["every-key", "bayes-group-label"])
def test_model_keys_get_their_notices_on_every_page(query: str, page: str) -> None:
    """measure, method, add, to, drop00, tau_prior, tau2g, sort, mod, group: each invalid
    value has its 'Ignored in the link' caption on every page (app.py runs first)."""
    _check(open_app(query, page), query, page, captions=True)


def test_ten_thousand_ids_keep_the_first_ones_and_say_so() -> None:
    at = open_app(HOSTILE_LINKS[5])
    _check(at, HOSTILE_LINKS[5], "overview")
    assert any(f"only the first {MAX_IDS} ids kept" in c.value for c in at.caption)
    assert len(parse_query(HOSTILE_LINKS[5]).state.exclude) == MAX_IDS


def test_over_a_thousand_parameters_open_the_default_view() -> None:
    """Streamlit drops a query string of more than 1,000 parameters before the app sees it
    (the app's own links hold at most ~520): the page opens on the default view, unbroken."""
    at = open_app("&".join(f"exclude=S{i:05d}" for i in range(10_000)))
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["view_state"] == ViewState()
    assert metric_values(at)["Studies (k)"]


_KEYS = st.sampled_from([f.key for f in FIELDS] + ["v", "junk", "", "<b>"])
_VALUES = st.sampled_from(
    ["NaN", "inf", "<script>x</script>", "../..", "none", "", "ＲＣＴ", "1" * 500, "-1", "0"]
    + [v for f in FIELDS for v in f.allowed]
) | st.text(max_size=20)


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.tuples(_KEYS, _VALUES), min_size=1, max_size=8), st.sampled_from(PAGE_NAMES))
def test_generated_links(pairs: list[tuple[str, str]], page: str) -> None:
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    _check(open_app(query, page), query, page)
