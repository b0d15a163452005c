"""The presenter view (board=1) in AppTest: no sidebar controls, the disclaimer in the footer,
one outcome per screen with the numbers core computes, the DFS screens show DFS only, and the
step buttons change the link."""

from __future__ import annotations

import functools
import math

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.report.narrative import headline, summary_sentence
from core.report.sof import sof_table
from core.state.view import parse_query
from core.views import board
from core.views.analysis import analyse
from tests.app.conftest import open_app
from ui import cache
from ui.blocks import DISCLAIMER, text


@functools.cache
def dataset():
    return load_bundled()


def expected(query: str):
    state = parse_query(query).state
    analysis = analyse(state, dataset())
    return state, analysis, analysis.outcomes[state.outcome]


def markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def link(at: AppTest) -> dict[str, list[str]]:
    """The link's keys and their values (AppTest holds a value or a list of values)."""
    return {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def no_sidebar_controls(at: AppTest) -> bool:
    return len(at.sidebar.children) == 0


@functools.cache
def present(query: str) -> AppTest:
    at = open_app(query, page="presentation")
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", ["overview", "studies", "sensitivity", "bias", "presentation"])
def test_every_page_drops_the_sidebar_and_moves_the_disclaimer_to_the_footer(page):
    at = open_app("board=1", page=page)
    assert not at.exception, [e.value for e in at.exception]
    assert no_sidebar_controls(at)
    captions = [c.value for c in at.caption]
    assert captions[-1] == f":material/info: {DISCLAIMER}"  # the last thing on the page
    assert captions.count(f":material/info: {DISCLAIMER}") == 1
    assert at.button(key="board_exit").label == "Leave the presenter view"
    # without board=1 the same page has its sidebar and the disclaimer above the page
    full = open_app("", page=page)
    assert not no_sidebar_controls(full)
    assert len(full.sidebar.multiselect) == 3
    assert full.caption[0].value == f":material/info: {DISCLAIMER}"


@pytest.mark.parametrize(
    "query", ["board=1", "board=1&outcome=DFS", "board=1&outcome=DFS&measure=HR"]
)
def test_forest_screen_shows_one_outcome_with_the_numbers_of_core(query):
    at = present(query)
    state, analysis, oa = expected(query)
    p = oa.pooled
    assert p is not None
    assert [h.value for h in at.subheader] == [text(headline(oa))]
    assert len(at.get("vega_lite_chart")) == 1  # this outcome's forest plot only
    assert len(at.table) == 0  # the summary of findings is the next screen
    assert len(at.metric) == 0  # the key numbers are one line, not tiles
    est, low, high = (f"{math.exp(x):.2f}" for x in (p.estimate, p.ci_low, p.ci_high))
    ratio = "HR" if state.measure == "HR" else "OR"
    want = (
        f"Pooled {ratio} {est} (95% CI {low}–{high})"
        if p.k > 1
        else f"{ratio} {est} (95% CI {low}–{high}), one study"
    )
    shown = markdown(at)
    assert text(want) in shown
    assert text(summary_sentence(oa, state, dataset().studies)) in shown
    row = next(r for r in sof_table(analysis, dataset().studies) if r.outcome == state.outcome)
    assert row.certainty is not None
    certainty = f"Certainty of the evidence (GRADE-style aid): **{row.certainty.label}**"
    assert certainty in shown
    assert "(provisional)" in certainty  # never more certain than the open domains allow
    other = "overall survival" if state.outcome == "DFS" else "disease-free survival"
    assert not any(other in m.lower() for m in shown)
    filters = [m for m in shown if m.startswith("Filters\\:")]
    # one line, at the end, naming what the pooled studies measured (as the full list does)
    line = board.filters_line(state, dataset().description, oa.title)
    assert filters == [text(f"Filters: {line}")]
    assert shown[-1] == filters[0]


def test_dfs_forest_screen_numbers():
    at = present("board=1&outcome=DFS")
    shown = markdown(at)
    # three trials for 1-year DFS (REML): the value metafor gives, as the page prints it;
    # the prediction interval by the default t on k - 2 = 1 df (metafor's z: 0.21-0.97)
    assert "Pooled OR 0\\.45 \\(95% CI 0\\.25–0\\.82\\)" in shown
    assert (
        "p \\(z\\) 0\\.010 · Studies \\(k\\) 3 · Patients 359 · I² 20\\.2% · "
        "95% prediction interval 0\\.003–65\\.22" in shown
    )
    chart = at.get("vega_lite_chart")[0]
    data = " ".join(str(d) for d in chart.proto.datasets)
    for label in ("Odds ratio of 1-year DFS", "Wei 2019", "Yu 2014", "Shi 2022"):
        assert label in data


@pytest.mark.parametrize("query", ["board=1&outcome=DFS&screen=sof", "board=1&screen=sof"])
def test_summary_screen_shows_its_outcome_only(query):
    at = present(query)
    state, analysis, _ = expected(query)
    row = next(r for r in sof_table(analysis, dataset().studies) if r.outcome == state.outcome)
    assert len(at.get("vega_lite_chart")) == 0
    sof = at.table[0].value
    assert list(sof.columns) == [row.title]  # one outcome, its values down one column
    assert sof.loc["NNT", row.title] == row.nnt.text
    assert sof.loc["Certainty", row.title] == row.certainty.label
    domains = at.table[1].value
    assert list(domains.index) == [
        "Risk of bias",
        "Inconsistency",
        "Indirectness",
        "Imprecision",
        "Publication bias",
    ]
    assert list(domains["Rating"]) == [d.shown for d in row.certainty.domains]
    everything = " ".join([*markdown(at), *(str(t.value) for t in at.table)]).lower()
    other = "overall survival" if state.outcome == "DFS" else "disease-free survival"
    assert other not in everything


def test_the_present_page_without_board_shows_its_outcome_only_in_the_summary():
    at = present("outcome=DFS")
    sof = at.table[0].value
    assert list(sof.index) == [  # Yu 2014 reports RFS, the others DFS
        "1-year disease-free survival (odds ratio; DFS or RFS, mixed endpoint definitions)"
    ]
    assert len(at.sidebar.multiselect) == 3


def test_stepping_changes_the_link_and_the_screen():
    at = open_app("board=1&tpoint=interp&exclude=Yu2014", page="presentation")
    assert not at.exception
    assert at.button(key="board_prev").disabled
    steps = []
    for _ in range(3):
        at.button(key="board_next").click().run()
        assert not at.exception, [e.value for e in at.exception]
        params = link(at)
        steps.append((params.get("outcome"), params.get("screen"), at.caption[0].value))
        assert params["board"] == ["1"]
        assert params["v"] == ["2"] and params["exclude"] == ["Yu2014"]
        assert "tpoint" not in params  # interpolation: the default since link format v2
    assert steps == [
        (None, ["sof"], "Summary of findings, screen 2 of 4"),
        (["DFS"], None, "Forest plot, screen 3 of 4"),
        (["DFS"], ["sof"], "Summary of findings, screen 4 of 4"),
    ]
    assert at.button(key="board_next").disabled
    assert len(at.get("vega_lite_chart")) == 0 and len(at.table) == 2
    at.button(key="board_flip").click().run()  # back to this outcome's forest plot
    assert "screen" not in link(at) and link(at)["outcome"] == ["DFS"]
    assert len(at.get("vega_lite_chart")) == 1
    at.button(key="board_prev").click().run()
    assert link(at)["screen"] == ["sof"] and "outcome" not in link(at)
    # leaving the presenter view keeps the rest of the link and brings the sidebar back
    at.button(key="board_exit").click().run()
    assert "board" not in link(at) and link(at)["exclude"] == ["Yu2014"]
    assert len(at.sidebar.multiselect) == 3
    assert len(at.metric) > 0  # the full Present page


def test_the_buttons_have_keyboard_shortcuts():
    at = present("board=1")
    keys = ("board_prev", "board_next", "board_pgup", "board_pgdn", "board_flip")
    shortcuts = {k: at.button(key=k).proto.shortcut for k in keys}
    assert shortcuts == {
        "board_prev": "left",
        "board_next": "right",
        "board_pgup": "pageup",  # a presentation clicker's keys (those buttons are hidden)
        "board_pgdn": "pagedown",
        "board_flip": "s",
    }
    clicker = open_app("v=2&board=1", page="presentation")
    clicker.button(key="board_pgdn").click().run()
    assert link(clicker) == {"v": ["2"], "board": ["1"], "screen": ["sof"]}
    clicker.button(key="board_pgdn").click().run()
    assert link(clicker) == {"v": ["2"], "board": ["1"], "outcome": ["DFS"]}
    clicker.button(key="board_pgup").click().run()
    assert link(clicker) == {"v": ["2"], "board": ["1"], "screen": ["sof"]}


def test_what_the_link_ignored_goes_to_the_footer_too():
    at = present("board=1&outcome=DFS&foo=bar")
    captions = [c.value for c in at.caption]
    ignored = text("Unknown link parameter 'foo' ignored.")
    assert captions[0] == "Forest plot, screen 3 of 4"  # the screen comes first
    assert captions[-2:] == [
        f"Ignored in the link: {ignored}",
        f":material/info: {DISCLAIMER}",
    ]


def test_a_reason_from_the_link_shows_as_text():
    reason = "![x](https://example.org/x.png) <b>bold</b>"
    at = present(f"board=1&screen=sof&why=OS.indirectness.{reason}")
    assert not at.exception
    why = at.table[1].value.loc["Indirectness", "Why"]
    assert why == text(reason)  # escaped: no image fetched, no HTML
    assert "\\!\\[x\\]" in why


def test_stepping_reuses_the_numbers_already_made():
    state = parse_query("tpoint=interp&exclude=Yu2014").state
    shown = state.replace(board=True, screen="sof")
    assert cache.view_key(shown) == cache.view_key(state)  # the same cached analysis, figures
    assert cache.computed(shown) == state
    assert cache.view_key(state.replace(outcome="DFS")) != cache.view_key(state)
