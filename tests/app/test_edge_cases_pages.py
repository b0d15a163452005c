"""Edge datasets as a session's upload, on the overview, sensitivity, bias and presentation
pages (AppTest): no exception, the numbers shown are core's, and a plain message where a
number cannot be given."""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from core.state.view import parse_query
from core.views.analysis import analyse
from tests.app.conftest import APP, PAGES, metric_values, open_panels
from tests.fixtures import edge
from ui.blocks import fmt_ci, fmt_ratio

PAGE_NAMES = ("overview", "sensitivity", "bias", "presentation")


def open_with(name: str, query: str, page: str) -> AppTest:
    """The app on ``page`` for link ``query``, with edge dataset ``name`` as the upload."""
    at = open_panels(AppTest.from_file(APP, default_timeout=60))
    for key, values in parse_qs(query, keep_blank_values=True).items():
        at.query_params[key] = values[0]
    at.session_state["upload"] = edge.DATASETS[name]()
    at.run()
    if page != "overview":
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(e.value for e in [*at.warning, *at.info, *at.caption, *at.markdown])


@pytest.mark.parametrize("page", PAGE_NAMES)
@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("zero_events", ""),
        ("zero_events", "ci=hksj&t_dfs=1"),
        ("hr_extremes", "measure=HR"),
        ("single", "measure=HR&ci=hksj"),
        ("two", "measure=HR&ci=hksj"),
        ("identical", "measure=HR&ci=hksj"),
        ("variance_ratio", "measure=HR"),
        ("one_per_subgroup", "measure=HR&group=indication&ci=hksj"),
        ("no_variation", "measure=HR&method=PM"),
    ],
)
def test_edge_dataset_on_every_page(name: str, query: str, page: str) -> None:
    open_with(name, query, page)


def shown_pooled(name: str, query: str) -> tuple[dict[str, list[str]], object]:
    at = open_with(name, query, "overview")
    state = parse_query(query).state
    analysis = analyse(state, edge.DATASETS[name]()[1])
    return metric_values(at), analysis, at


def test_zero_cells_show_cores_pooled_odds_ratio() -> None:
    shown, analysis, _ = shown_pooled("zero_events", "")
    p = analysis.outcomes["OS"].pooled
    assert shown["Pooled OR"][0] == fmt_ratio(math.exp(p.estimate))
    assert shown["95% CI"][0] == fmt_ci(math.exp(p.ci_low), math.exp(p.ci_high))


def test_hr_ci_problems_are_named_in_the_not_used_list() -> None:
    at = open_with("hr_extremes", "measure=HR", "overview")
    body = texts(at) + "\n".join(str(d.value) for d in at.dataframe)
    assert "its CI has zero width" in body
    assert "its CI starts at 0" in body


def test_one_study_with_hartung_knapp_says_why_there_is_no_ci() -> None:
    shown, _, at = shown_pooled("single", "measure=HR&ci=hksj")
    assert shown["Pooled HR"] == ["0.60", "0.70"]
    assert shown["95% CI"] == ["not estimable", "not estimable"]
    assert "The Hartung-Knapp CI needs two studies or more" in texts(at)
    assert "does not cross 1" not in texts(at)


def test_identical_studies_with_hartung_knapp_carry_the_note() -> None:
    _, _, at = shown_pooled("identical", "measure=HR&ci=hksj")
    assert "the study estimates are identical, so the Hartung-Knapp SE is 0" in texts(at)


def test_huge_variance_ratio_carries_metafors_warning() -> None:
    _, _, at = shown_pooled("variance_ratio", "measure=HR")
    assert "may not be numerically stable" in texts(at)


def test_constant_moderator_gets_a_plain_message_on_the_bias_page() -> None:
    at = open_with("no_variation", "measure=HR", "bias")
    assert "All 4 studies have the same quality score (5), so its effect cannot be estimated." in (
        texts(at)
    )


def test_mantel_haenszel_odds_ratio_of_zero_says_why_on_every_page() -> None:
    """No RT events in any table: the MH odds ratio is 0 (rma.mh gives NA); the pages show
    the analysis's message (it used to be a ValueError)."""
    upload = edge.load(
        [edge.study(s) for s in "AB"], [edge.events("A", 0, 44), edge.events("B", 0, 30)]
    )
    for page in PAGE_NAMES:
        at = open_panels(AppTest.from_file(APP, default_timeout=60))
        at.query_params["method"] = "MH"
        at.session_state["upload"] = upload
        at.run()
        if page != "overview":
            at.switch_page(PAGES[page]).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        if page in ("overview", "presentation"):
            assert "cannot pool these studies" in texts(at), page


@pytest.mark.parametrize("page", ["sensitivity", "bias"])
def test_mantel_haenszel_with_hazard_ratios_says_what_stands_in(page: str) -> None:
    at = open_with("no_variation", "measure=HR&method=MH", page)
    assert "the common-effect inverse-variance model is used instead" in texts(at)
