"""Overview in plain words (AppTest): a sentence per pooled outcome (the Present page's, from
core.report.narrative), help on every statistic, and 'Not used' split by why."""

from __future__ import annotations

import functools

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.report.narrative import summary_sentence
from core.state.view import parse_query
from core.views.analysis import analyse
from core.vocab import MODEL_HELP, STAT_HELP
from tests.app.conftest import open_app
from ui.blocks import text


@functools.cache
def overview(query: str) -> AppTest:
    at = open_app(query)
    assert not at.exception
    return at


@pytest.mark.parametrize("query", ["", "measure=HR", "tpoint=interp&method=DL", "exclude=Wei2019"])
def test_a_sentence_per_pooled_outcome(query):
    ds = load_bundled()
    state = parse_query(query).state
    shown = [m.value for m in overview(query).markdown]
    for oa in analyse(state, ds).outcomes.values():
        sentence = text(summary_sentence(oa, state, ds.studies))
        assert (sentence in shown) == (oa.pooled is not None)


def test_every_statistic_has_help():
    at = overview("tpoint=exact")  # OS: k = 1 (rates only where reported); DFS: 3
    helps = {m.label: m.help for m in at.metric}
    for label in ("Pooled OR", "95% CI", "p (z)", "Studies (k)", "Patients", "I²"):
        assert helps[label], label
    assert helps["p (z)"] == STAT_HELP["p"] and helps["I²"] == STAT_HELP["I²"]
    one, three = [c for c in at.caption if c.value.startswith("τ² = ")]  # OS: k = 1; DFS: 3
    for part in (MODEL_HELP["REML"], STAT_HELP["τ²"], STAT_HELP["95% prediction interval"]):
        assert part in three.help
    assert STAT_HELP["95% prediction interval"] not in one.help  # no interval shown
    common = next(c for c in overview("method=EE").caption if "common-effect" in c.value)
    assert MODEL_HELP["EE"] in common.help


def test_present_page_numbers_have_help():
    at = open_app("outcome=DFS", page="presentation")
    assert all(m.help for m in at.metric)


def test_not_used_is_split_by_why():
    at = overview("exclude=Yu2014")
    heads = [m.value for m in at.markdown if m.value.startswith("**") and ") " not in m.value]
    dfs = analyse(parse_query("exclude=Yu2014").state, load_bundled()).outcomes["DFS"]
    expected = [
        f"**No usable numbers** ({len(dfs.not_estimable)})",
        "**Excluded by hand** (1)",
        f"**Outside your filters** ({len(dfs.filtered_out)})",
    ]
    assert all(h in heads for h in expected), heads
    tables = [list(d.value["Study"]) for d in at.dataframe]
    assert [s for s, _ in dfs.filtered_out] in tables
    assert ["Yu2014"] in tables
