"""The presenter view's link keys and steps (core.views.board): the order of the screens, the
headline ratio with its CI, the one-line filters, and old links unchanged."""

from __future__ import annotations

import math

import pytest

from core.data.dataset import load_bundled
from core.state.view import DEFAULT_STATE, ViewState, encode_query, parse_query
from core.views import board
from core.views.analysis import analyse


def test_old_links_are_unchanged_and_the_keys_round_trip():
    for query in ("", "exclude=Yu2014&outcome=DFS", "method=DL&ci=hksj"):
        state = parse_query(query).state
        assert (state.board, state.screen) == (False, "forest")
        assert encode_query(state) == query
    assert encode_query(DEFAULT_STATE.replace(board=True)) == "board=1"
    state = DEFAULT_STATE.replace(board=True, outcome="DFS", screen="sof")
    assert encode_query(state) == "outcome=DFS&board=1&screen=sof"
    assert parse_query(encode_query(state)) == (state, ())
    assert parse_query("board=0").state == DEFAULT_STATE
    assert parse_query("board=yes&screen=summary").state == DEFAULT_STATE.replace(
        board=True, screen="sof"
    )


def test_an_invalid_screen_is_ignored_with_a_notice():
    result = parse_query("board=1&screen=slides")
    assert result.state == DEFAULT_STATE.replace(board=True)
    assert result.notices == (
        "Presenter screen (screen): 'slides' is not one of forest, sof; ignored.",
    )


def test_steps_go_through_each_outcome_then_stop_at_the_ends():
    state = DEFAULT_STATE.replace(board=True)
    seen = []
    for _ in range(5):
        seen.append((state.outcome, state.screen, board.step_title(state)))
        state = board.step(state, +1)
    assert seen == [
        ("OS", "forest", "Forest plot, screen 1 of 4"),
        ("OS", "sof", "Summary of findings, screen 2 of 4"),
        ("DFS", "forest", "Forest plot, screen 3 of 4"),
        ("DFS", "sof", "Summary of findings, screen 4 of 4"),
        ("DFS", "sof", "Summary of findings, screen 4 of 4"),  # the last step stays
    ]
    assert board.step(DEFAULT_STATE, -1) == DEFAULT_STATE  # the first step stays
    last = DEFAULT_STATE.replace(outcome="DFS", screen="sof")
    assert board.step(last, -3) == DEFAULT_STATE
    # a step keeps every other setting
    mine = DEFAULT_STATE.replace(board=True, exclude=("Yu2014",), method="DL")
    assert board.step(mine, +2) == mine.replace(outcome="DFS")
    assert board.other_screen(mine) == mine.replace(screen="sof")
    assert board.other_screen(mine.replace(screen="sof")) == mine


@pytest.mark.parametrize(
    "query, expected",
    [
        # three trials for 1-year DFS: the pooled odds ratio (REML), as metafor gives it
        ("outcome=DFS", "Pooled OR {est} (95% CI {low}–{high})"),
        # one trial for 2-year OS: its own estimate, said to be one study
        ("", "OR {est} (95% CI {low}–{high}), one study"),
        ("measure=HR&outcome=DFS", "HR {est} (95% CI {low}–{high}), one study"),
    ],
)
def test_headline_ratio_is_the_pooled_estimate_with_its_ci(query, expected):
    state = parse_query(query).state
    oa = analyse(state, load_bundled()).outcomes[state.outcome]
    p = oa.pooled
    assert p is not None
    est, low, high = (f"{math.exp(x):.2f}" for x in (p.estimate, p.ci_low, p.ci_high))
    assert board.headline_ratio(oa) == expected.format(est=est, low=low, high=high)
    if query == "outcome=DFS":
        assert board.headline_ratio(oa) == "Pooled OR 0.45 (95% CI 0.25–0.82)"


def test_headline_ratio_without_an_estimate_is_none():
    state = parse_query("exclude=Wei2019").state
    oa = analyse(state, load_bundled()).outcomes["OS"]
    assert oa.pooled is None
    assert board.headline_ratio(oa) is None


def test_filters_line_names_every_filter_in_force():
    assert board.filters_line(ViewState()) == (
        "PVTT, narrow resection margin · RCT, PSM · external-beam RT · only studies that can be "
        "in the published meta-analysis · odds ratio of 2-year OS · random effects, REML · "
        "prediction interval shown"
    )
    state = parse_query(
        "outcome=DFS&design=none&rt=external&rt=internal&scope=all&qmin=4.5&method=EE&ci=hksj"
        "&group=design&tpoint=interp&exclude=A1&exclude=A2&exclude=A3&exclude=A4&exclude=A5"
        "&exclude=A6&exclude=A7"
    ).state
    assert board.filters_line(state) == (
        "PVTT, narrow resection margin · no design selected · external-beam, internal RT · all "
        "studies in the data · quality score at least 4.5 · excluded by hand: A1, A2, A3, A4, A5 "
        "and 2 more · odds ratio of 1-year DFS · common effect, Hartung-Knapp CI · subgroups by "
        "design · interpolated rates allowed (marked †)"
    )
    hazard = parse_query("measure=HR&tpoint=interp&pi=0&indication=none&rt=none").state
    assert board.filters_line(hazard) == (
        "no indication selected · RCT, PSM · no radiotherapy selected · only studies that can "
        "be in the published meta-analysis · hazard ratio of OS · random effects, REML · no "
        "prediction interval"
    )
