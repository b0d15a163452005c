"""Editing the data in the app (AppTest): an edit is checked as it is made, a bad one is
refused with its row and column while the data in use stay as they were, and a good one is
used by every page, saved, and opened from its link with the numbers of the command line.

The editor's changes are set as Streamlit keeps them (its widget state: edited_rows by row
position); the browser's grid fills the same state."""

from __future__ import annotations

import math
import os

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_bundled
from core.data.edit import check_edits
from core.state.view import parse_query
from core.views.analysis import analyse
from tests.app.conftest import metric_values, open_app
from tests.app.test_saved_page import _button, _cli, _data_param, _no_exception
from ui.blocks import fmt_ci, fmt_ratio
from ui.editor import EDITORS

#: Yu2014's 1-year DFS rate row (outcomes row 14 of the bundled data, position 13); its note
#: is empty, so a changed number there also needs where it was read
ROW, COLUMN, VALUE = 13, "rate_rt", 84.0
GOOD = {COLUMN: VALUE, "note": "Table 2 of the full text"}


def _edit(at: AppTest, table: str, edited_rows: dict, added_rows: list | None = None) -> None:
    at.session_state[EDITORS[table]] = {
        "edited_rows": edited_rows,
        "added_rows": added_rows or [],
        "deleted_rows": [],
    }
    at.run()
    _no_exception(at)


def _pooled_dfs(at: AppTest) -> tuple[str, str]:
    shown = metric_values(at)
    return shown["Pooled OR"][-1], shown["95% CI"][-1]


@pytest.fixture(autouse=True)
def _store(tmp_path) -> None:
    assert os.environ["EXPLORER_STORE"]  # tests/app/conftest.py: each test its own store


def test_a_bad_edit_is_refused_and_nothing_changes() -> None:
    at = open_app(page="studies")
    _edit(at, "outcomes", {ROW: {COLUMN: 184.0}})
    (error,) = [e.value for e in at.error]
    assert error.startswith("Edits: 1 row changed. 2 problem(s) to fix")
    (report,) = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    assert report[["Row", "Column"]].values.tolist() == [
        [str(ROW + 1), COLUMN],
        [str(ROW + 1), "note"],
    ]
    assert "must be at most 100" in report.iloc[0]["Problem"]
    assert "where in the source" in report.iloc[1]["Problem"]
    assert _button(at, "Use the edited data").disabled
    assert "upload" not in at.session_state  # the bundled data are still in use
    # the edit is still there to be fixed, and a fix makes it usable
    _edit(at, "outcomes", {ROW: GOOD})
    assert not at.error and "They pass every check" in at.success[0].value
    assert not _button(at, "Use the edited data").disabled


def test_a_new_row_without_its_source_is_refused() -> None:
    at = open_app(page="studies")
    row = {
        "study_id": "Yu2014",
        "outcome": "OS",
        "kind": "rate",
        "time_years": 4.0,
        "rate_rt": 50.0,
        "rate_ctl": 40.0,
    }
    _edit(at, "outcomes", {}, [row])
    (report,) = [d.value for d in at.dataframe if "Problem" in d.value.columns]
    n = len(load_bundled().outcomes) + 1
    assert report[["Row", "Column"]].values.tolist() == [[str(n), "source_url"], [str(n), "note"]]
    assert _button(at, "Use the edited data").disabled
    row |= {"source_url": "https://doi.org/10.1000/x", "note": "Table 2"}
    _edit(at, "outcomes", {}, [row])
    assert "1 row added" in at.success[0].value


def test_a_good_edit_is_used_saved_and_opened_from_its_link() -> None:
    bundled = load_bundled()
    before = open_app("?outcome=DFS")
    at = open_app("?outcome=DFS", page="studies")
    _edit(at, "outcomes", {ROW: GOOD})
    _button(at, "Use the edited data").click().run()
    _no_exception(at)
    key, used = at.session_state["upload"]
    assert key.startswith("edit:") and used.outcomes.loc[ROW, COLUMN] == VALUE
    assert "edited in the app" in at.info[0].value
    assert not at.error and "No changes yet." in [c.value for c in at.caption]

    # every page uses it: the pooled 1-year DFS equals core's analysis of the edited data
    outcomes = bundled.outcomes.copy()
    outcomes.loc[ROW, list(GOOD)] = list(GOOD.values())
    expected = check_edits(bundled, bundled.studies, outcomes).dataset
    assert expected is not None
    pooled = analyse(parse_query("outcome=DFS").state, expected).outcomes["DFS"].pooled
    at.switch_page("pages/overview.py").run()
    _no_exception(at)
    assert _pooled_dfs(at) == (
        fmt_ratio(math.exp(pooled.estimate)),
        fmt_ci(math.exp(pooled.ci_low), math.exp(pooled.ci_high)),
    )
    edited = _pooled_dfs(at)
    assert edited != _pooled_dfs(before)

    # saved: a fresh session on the link shows the command line's numbers for that link
    at.switch_page("pages/studies.py").run()
    _button(at, "Save and get a link").click().run()
    _no_exception(at)
    token = _data_param(at)
    assert token is not None
    fresh = open_app(f"?outcome=DFS&data={token}")
    _no_exception(fresh)
    cli = _cli("analyze", f"outcome=DFS&data={token}")["DFS"]["pooled"]
    assert _pooled_dfs(fresh) == (
        fmt_ratio(math.exp(cli["estimate"])),
        fmt_ci(math.exp(cli["ci_low"]), math.exp(cli["ci_high"])),
    )
    assert _pooled_dfs(fresh) == edited


def test_an_edit_of_a_saved_version_is_saved_as_its_new_version() -> None:
    at = open_app("?outcome=DFS", page="studies")
    _button(at, "Save and get a link").click().run()
    first = _data_param(at)
    assert first is not None
    _edit(at, "outcomes", {ROW: GOOD})
    _button(at, "Use the edited data").click().run()
    assert _data_param(at) is None  # the link no longer carries the old version
    _button(at, "Save and get a link").click().run()
    _no_exception(at)
    second = _data_param(at)
    assert second not in (None, first)
    history = _cli("store", "history", "--", second)
    assert [v["token"] for v in history] == [second, first]
    diff = _cli("store", "diff", "--", first, second)
    changed = {(c["column"], c["old"], c["new"]) for c in diff}
    assert (COLUMN, 78.1, VALUE) in changed and ("note", None, GOOD["note"]) in changed
    # the old link still opens the old numbers
    old = open_app(f"?outcome=DFS&data={first}")
    _key, data = old.session_state["upload"]
    assert data.outcomes.loc[ROW, COLUMN] == 78.1
