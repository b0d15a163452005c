"""Presentation page (AppTest): every link opens without an exception, and the headline, sentence,
key numbers, filters and studies left out are what core computes for the same state."""

from __future__ import annotations

import functools
import math

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.report.narrative import described_filters, headline, summary_sentence
from core.state.view import ViewState, parse_query
from core.stats.pooling import prediction_interval
from core.views.analysis import OutcomeAnalysis, analyse
from tests.app.conftest import metric_values, open_app
from ui.blocks import text

LINKS = [
    "",  # OS: three studies, two of them interpolated
    "tpoint=exact",  # OS: one study
    "outcome=DFS",  # three trials
    "measure=HR",
    "measure=HR&outcome=DFS",
    *(f"outcome=DFS&method={m}" for m in ("REML", "DL", "PM", "ML", "HS", "SJ", "HE", "EB", "EE")),
    "exclude=Wei2019",  # OS: no study left
    "design=none&outcome=DFS",  # nothing selected
    "outcome=DFS&exclude=Yu2014&exclude=Shi2022",  # one study left
    "tpoint=interp",
    "tpoint=interp&outcome=DFS&ci=hksj&pi=0",
    "outcome=DFS&pi=z",
    "outcome=DFS&pi=hksj",
    "outcome=DFS&exclude=Yu2014",  # two studies: "none (k < 3)"
    "ci=hksj",  # one study with Hartung-Knapp: no CI
    "scope=all&design=RCT&design=PSM&design=retrospective&group=design&outcome=DFS",
    "t_os=5&t_dfs=3&outcome=DFS&tpoint=interp",
    "outcome=bogus&method=XYZ",  # invalid values: defaults, with a notice
]


@functools.cache
def dataset():
    return load_bundled()


def expected(query: str) -> tuple[ViewState, OutcomeAnalysis]:
    state = parse_query(query).state
    return state, analyse(state, dataset()).outcomes[state.outcome]


def ratio(x: float) -> str:
    """exp(x) as the page shows a ratio: 2 decimals, 3 below 0.01, '<0.001' and '>999'."""
    r = math.exp(x)
    return "<0.001" if r < 0.001 else ">999" if r > 999 else f"{r:.2f}" if r >= 0.01 else f"{r:.3f}"


def span(low: float, high: float) -> str:
    return "not estimable" if math.isnan(low) or math.isnan(high) else f"{ratio(low)}–{ratio(high)}"


def expected_metrics(state: ViewState, oa: OutcomeAnalysis) -> dict[str, list[str]]:
    """The key numbers, formatted here from the pooled result (not via core.report.narrative)."""
    p = oa.pooled
    if p is None:
        return {}
    pvalue = "–" if math.isnan(p.pvalue) else "< 0.001" if p.pvalue < 0.001 else f"{p.pvalue:.3f}"
    out = {
        f"Pooled {oa.measure}": [ratio(p.estimate)],
        "95% CI": [span(p.ci_low, p.ci_high)],
        f"p ({'t' if state.ci == 'hksj' else 'z'})": [pvalue],
        "Studies (k)": [str(p.k)],
        "Patients": [str(oa.patients)],
        "I²": ["–" if math.isnan(p.i2) else f"{p.i2:.1f}%"],
    }
    if state.pi != "0" and state.method != "EE" and p.k > 1:
        pred = prediction_interval(p, state.pi)  # t on k - 2 by default; none with k < 3
        out["95% prediction interval"] = [
            span(pred.low, pred.high) if pred.available else "none (k < 3)"
        ]
    return out


def markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


@functools.cache
def page(query: str) -> AppTest:
    return open_app(query, page="presentation")


@pytest.mark.parametrize("query", LINKS)
def test_page_shows_what_core_computes(query):
    at = page(query)
    assert not at.exception, [e.value for e in at.exception]
    state, oa = expected(query)
    assert at.title[0].value == text(headline(oa))
    assert text(summary_sentence(oa, state, dataset().studies)) in markdown(at)
    assert metric_values(at) == expected_metrics(state, oa)
    charts = at.get("vega_lite_chart")
    assert len(charts) == (0 if oa.rows.empty else 1)
    buttons = [
        b
        for b in at.get("download_button")
        if not b.label.startswith("Report") and "summary-of-findings" not in b.key
    ]
    assert len(buttons) == (1 if oa.rows.empty else 4)  # CSV always; figure when drawn
    filters = "\n".join(f"- {text(line)}" for line in described_filters(state, [oa]))
    assert filters in markdown(at)


def test_forest_plot_is_large_and_shows_the_studies():
    at = page("outcome=DFS")
    chart = at.get("vega_lite_chart")[0]
    spec = chart.proto.spec
    assert '"fontSize": 24' in spec  # large=True doubles the 12 px font
    data = " ".join(str(d) for d in chart.proto.datasets)
    for label in ("Odds ratio of 1-year DFS", "Wei 2019", "Yu 2014", "Shi 2022"):
        assert label in data


def test_studies_left_out_are_listed_with_the_reason():
    at = page("outcome=DFS&exclude=Yu2014")
    listed = next(m for m in markdown(at) if m.startswith("- Yu 2014"))
    assert listed.startswith("- Yu 2014: excluded by hand")
    assert "PMID 35643251: no 1\\-year DFS reported \\(only an HR\\)" in listed
    _, oa = expected("outcome=DFS&exclude=Yu2014")
    assert metric_values(at)["Studies (k)"] == ["2"] == [str(oa.k)]


def test_one_and_zero_studies_say_so():
    one = page("tpoint=exact")  # rates only where reported: 2-year OS has one study
    assert any(m.startswith("Only one study could be pooled \\(Wei 2019") for m in markdown(one))
    zero = page("exclude=Wei2019")
    assert any(m.startswith("Nothing can be pooled for overall survival") for m in markdown(zero))
    assert metric_values(zero) == {}


def test_published_result_is_beside_it():
    at = page("outcome=DFS")
    assert any(
        m.startswith(f"**{text('Published (Rim et al. 2024)')}:** OR of 1\\-year DFS 0\\.359")
        for m in markdown(at)
    )
