"""Numbers at the edge of float range as a session's upload, on every page (AppTest): no
exception, the studies left out are named with the reason, a pooled interval beyond the range
gets its message, and the Studies page still offers the uploader and the way back."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.state.view import parse_query
from core.views.analysis import analyse
from tests.app.test_edge_cases_pages import open_with, texts
from tests.fixtures import edge
from ui import blocks, evidence

PAGES = ("overview", "studies", "sensitivity", "bias", "presentation")
#: app.py's last-resort message
LAST_RESORT = (
    "Part of this view could not be computed for the current settings. Change a setting, "
    "or use 'Reset to the default view' in the sidebar; the rest of the app keeps working."
)
BEYOND = "goes beyond the largest number a computer can hold"


def body(at: AppTest) -> str:
    return texts(at) + "\n".join(d.value.to_string() for d in at.dataframe)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("huge_hr", "measure=HR"),
        ("hr_spread", "measure=HR&ci=hksj"),
        ("tiny_p", "measure=HR"),
        ("int64_totals", ""),
        ("huge_totals", ""),
    ],
)
def test_edge_dataset_on_every_page(name: str, query: str, page: str) -> None:
    at = open_with(name, query, page)
    if page == "studies":
        assert at.get("file_uploader"), "the uploader is drawn"
        assert any("bundled" in b.label.lower() for b in at.button), [b.label for b in at.button]


@pytest.mark.parametrize(
    ("name", "query", "study", "reason"),
    [
        (
            "huge_hr",
            "measure=HR",
            "H",
            f"HR 1e+300: its 95% CI, exp(690.8 ± 1.96 × 357.3), {BEYOND}",
        ),
        (
            "tiny_p",
            "measure=HR",
            "S",
            "HR 0.5: its variance is 0, which would give it all the weight",
        ),
        ("huge_totals", "", "G", "its variance 8e-308 is below 1e-150"),
    ],
)
def test_overview_names_the_study_and_the_reason(
    name: str, query: str, study: str, reason: str
) -> None:
    shown = body(open_with(name, query, "overview"))
    line = next((ln for ln in shown.splitlines() if reason in ln), None)
    assert line is not None, shown
    assert f"Study {study}" in line or f" {study} " in f" {line} "


def test_pooled_interval_beyond_the_range_is_said_on_the_overview() -> None:
    at = open_with("hr_spread", "measure=HR&ci=hksj", "overview")
    assert "go beyond the largest number a computer can hold" in body(at)


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("hr_spread", "measure=HR"),
        ("hr_spread", "measure=HR&ci=hksj"),
        ("hr_far", "measure=HR"),
    ],
)
def test_pooled_result_beyond_the_range_is_said_on_the_present_page(name: str, query: str) -> None:
    """The Present page gives the overview's plain message, never the last-resort error."""
    message = analyse(parse_query(query).state, edge.DATASETS[name]()[1]).outcomes["OS"].message
    assert message is not None and "beyond the largest number a computer can hold" in message
    overview = open_with(name, query, "overview")
    assert message in [i.value for i in overview.info]  # the message the other pages give
    at = open_with(name, query, "presentation")
    assert not at.error, [e.value for e in at.error]
    assert blocks.text(message) in [i.value for i in at.info]


def test_totals_no_integer_column_can_hold_read_plainly_on_the_studies_page() -> None:
    at = open_with("huge_totals", "", "studies")
    table = next(d.value for d in at.dataframe if "n RT" in d.value.columns).set_index("ID")
    assert table.loc["G", "n RT"] == "1e+308" and table.loc["G", "n control"] == "1e+308"
    assert table.loc["A", "n RT"] == "50"  # the other totals as text too, in the same column
    facts = "\n".join(d.value.to_string() for d in at.dataframe if "Field" in d.value.columns)
    assert "1e+308" in facts


def test_studies_page_keeps_the_uploader_and_the_way_back_when_the_evidence_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whatever the dataset holds: an evidence table that cannot be built costs the table, not
    the way to load other data or to go back to the bundled evidence."""

    def fails(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("an evidence table that cannot be built")

    monkeypatch.setenv("EXPLORER_STRICT", "0")
    monkeypatch.setattr(evidence, "evidence_table", fails)
    at = open_with("two", "", "studies")
    assert [e.value for e in at.error] == [LAST_RESORT]
    assert at.get("file_uploader"), "the uploader is drawn"
    assert "Back to the bundled evidence" in [b.label for b in at.button]
