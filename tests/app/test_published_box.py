"""The published comparison (AppTest): the box shows Rim et al. 2024's number only beside a
view of the same outcome, measure and time point, else one line 'not comparable'; the note on
its probable misprint is on the Overview's details, never on the Present page or in a report."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled, published
from core.report.document import report_html
from core.state.view import parse_query
from core.views.analysis import analyse
from core.views.published import published_comparison
from tests.app.conftest import open_app
from ui.blocks import text

MISPRINT = "misprint"
NOT_OS = "not comparable: the published analysis pooled the OR of 2-year OS"
NOT_DFS = "not comparable: the published analysis pooled the OR of 1-year DFS"


def shown(at: AppTest) -> str:
    """Every text element of a run, as one string (Markdown escapes removed)."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning") for e in at.get(kind)]
    parts += [e.label for e in at.expander]
    return "\n".join(parts).replace("\\", "").replace("**", "")


@functools.cache
def overview(query: str) -> AppTest:
    at = open_app(query)
    assert not at.exception
    return at


@functools.cache
def present(query: str) -> AppTest:
    at = open_app(query, page="presentation")
    assert not at.exception
    return at


def test_core_compares_outcome_measure_and_time():
    ds, pub = load_bundled(), published()
    default = analyse(parse_query("").state, ds).outcomes
    assert all(published_comparison(oa, pub).comparable for oa in default.values())
    os3 = published_comparison(analyse(parse_query("t_os=3").state, ds).outcomes["OS"], pub)
    assert not os3.comparable and os3.note == ""
    assert os3.text == (
        f"Published (Rim et al. 2024): {NOT_OS}; this view shows the OR of 3-year OS."
    )
    hr = analyse(parse_query("measure=HR").state, ds).outcomes
    assert published_comparison(hr["OS"], pub).text.endswith(
        f"{NOT_OS}; this view shows the hazard ratio for HCC-related death, multivariable Cox."
    )
    assert NOT_DFS in published_comparison(hr["DFS"], pub).text
    for measure in ("RR", "RD"):
        for q in (f"measure={measure}", f"v=2&measure={measure}&method=MH"):
            view = analyse(parse_query(q).state, ds).outcomes
            got = published_comparison(view["OS"], pub)
            assert not got.comparable and got.note == ""
            assert got.text.endswith(f"{NOT_OS}; this view shows the {measure} of 2-year OS.")
            assert NOT_DFS in published_comparison(view["DFS"], pub).text
    assert published_comparison(default["OS"], None) is None  # a user's own data


def test_overview_default_shows_both_numbers_and_the_note_in_details():
    at = overview("")
    page = shown(at)
    assert "Published (Rim et al. 2024): OR of 2-year OS 0.371 (95% CI 0.293 to 0.576)" in page
    assert "Published (Rim et al. 2024): OR of 1-year DFS 0.359 (95% CI 0.246 to 0.523)" in page
    assert "not comparable" not in page
    details = [e for e in at.expander if e.label == "Details of the published number"]
    assert len(details) == 2
    assert any(MISPRINT in c.value for c in details[0].caption)


@pytest.mark.parametrize(
    ("query", "os_line", "dfs_line"),
    [
        ("t_os=3", NOT_OS, "OR of 1-year DFS 0.359"),
        ("measure=HR", NOT_OS, NOT_DFS),
        ("t_dfs=2&tpoint=interp", "OR of 2-year OS 0.371", NOT_DFS),
    ],
)
def test_overview_not_comparable(query, os_line, dfs_line):
    page = shown(overview(query))
    assert os_line in page and dfs_line in page
    if os_line == NOT_OS:
        assert "OR of 2-year OS 0.371" not in page and MISPRINT not in page


@pytest.mark.parametrize(
    ("query", "line"),
    [
        ("", "Published (Rim et al. 2024): OR of 2-year OS 0.371"),
        ("outcome=DFS", "Published (Rim et al. 2024): OR of 1-year DFS 0.359"),
        ("t_os=3", f"Published (Rim et al. 2024): {NOT_OS}; this view shows the OR of 3-year OS"),
        (
            "measure=HR",
            f"Published (Rim et al. 2024): {NOT_OS}; this view shows the hazard ratio "
            "for HCC-related death, multivariable Cox",
        ),
        ("measure=HR&outcome=DFS", NOT_DFS),
    ],
)
def test_present_page_box_and_never_the_note(query, line):
    page = shown(present(query))
    assert line in page
    assert MISPRINT not in page and "geometric midpoint" not in page


@pytest.mark.parametrize("query", ["", "t_os=3", "measure=HR"])
def test_report_never_shows_the_note(query):
    ds = load_bundled()
    state = parse_query(query).state
    doc = report_html(analyse(state, ds), state, ds, "https://x/?" + query, datetime.now(UTC))
    assert MISPRINT not in doc and "geometric midpoint" not in doc
    if query:
        assert text(NOT_OS).replace("\\", "") in doc.replace("&#x27;", "'")
    else:
        assert "OR of 2-year OS 0.371 (95% CI 0.293 to 0.576)" in doc


def test_outcome_without_time_points_compares_with_a_result_without_time() -> None:
    """A described dataset's counts without a time point (tests/fixtures/bcg_described) and a
    published odds ratio without ``time_years``: the same outcome, measure and (no) time."""
    import json
    from pathlib import Path

    from core.data.dataset import load_files

    bcg = Path(__file__).resolve().parents[1] / "fixtures" / "bcg_described"
    files = {p.name: p.read_bytes() for p in bcg.iterdir() if p.suffix in (".csv", ".json")}
    d = json.loads(files["description.json"])
    result = {"outcome": "TB", "measure": "OR", "estimate": 0.49, "ci_low": 0.34, "ci_high": 0.7}
    d["published"] = {"label": "X 2020", "k": 13, "results": [result]}
    files["description.json"] = json.dumps(d).encode()
    ds, report = load_files(files)
    assert ds is not None, report.text()
    pub = ds.description.published
    tb = analyse(parse_query("").state, ds).outcomes["OS"]  # the first outcome's slot
    assert tb.years is None
    got = published_comparison(tb, pub)
    assert got.comparable and got.text.startswith("Published (X 2020): OR of TB 0.49 (95% CI")
    rr = analyse(parse_query("measure=RR").state, ds).outcomes["OS"]
    assert published_comparison(rr, pub).text.endswith(
        "not comparable: the published analysis pooled the OR of TB; this view shows the RR of TB."
    )
