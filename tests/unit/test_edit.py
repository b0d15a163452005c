"""core.data.edit: tables edited in the app are checked by the upload schema plus the
where-read rule, with the editor's row numbers; only a fully valid edit gives a dataset."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.dataset import Dataset, load_bundled
from core.data.edit import check_edits, edit_key

SOURCE = "https://doi.org/10.1000/example"


@pytest.fixture(scope="module")
def base() -> Dataset:
    return load_bundled()


def errors(check) -> list[str]:
    return [f"{p.row}|{p.column}|{p.message}" for p in check.problems if p.severity == "error"]


def test_unchanged_tables_give_the_same_data_back(base: Dataset) -> None:
    check = check_edits(base, base.studies.copy(), base.outcomes.copy())
    assert not check.edited and check.summary == "no changes"
    assert check.problems == ()
    assert check.dataset is not None
    pd.testing.assert_frame_equal(check.dataset.studies, base.studies)
    pd.testing.assert_frame_equal(check.dataset.outcomes, base.outcomes)
    assert edit_key(check.dataset) == edit_key(base)


def test_a_changed_value_is_used_exactly(base: Dataset) -> None:
    outcomes = base.outcomes.copy()
    outcomes.loc[0, "rate_rt"] = 91.5
    check = check_edits(base, base.studies.copy(), outcomes)
    assert (check.changed, check.added, check.deleted) == (1, 0, 0)
    assert check.summary == "1 row changed"
    assert check.dataset is not None
    assert check.dataset.outcomes.loc[0, "rate_rt"] == 91.5
    assert check.dataset.source == "edited in the app"
    assert edit_key(check.dataset) != edit_key(base)


def test_an_invalid_value_blocks_the_edit_with_the_editor_row(base: Dataset) -> None:
    outcomes = base.outcomes.copy()
    outcomes.loc[2, "rate_rt"] = 155.0
    check = check_edits(base, base.studies.copy(), outcomes)
    assert check.dataset is None
    assert errors(check) == ["3|rate_rt|row 3, rate_rt 155 must be at most 100"]


def test_a_new_outcome_row_says_where_it_was_read(base: Dataset) -> None:
    row = base.outcomes.iloc[[0]].copy()
    row["time_years"] = 3.0
    row["source_url"] = pd.NA
    row["note"] = pd.NA
    outcomes = pd.concat([base.outcomes, row], ignore_index=True)
    check = check_edits(base, base.studies.copy(), outcomes)
    n = len(outcomes)
    assert check.dataset is None and check.added == 1
    assert [e.split("|")[:2] for e in errors(check)] == [
        [str(n), "source_url"],
        [str(n), "note"],
    ]
    outcomes.loc[n - 1, ["source_url", "note"]] = [SOURCE, "Fig. 2 at 36 months"]
    check = check_edits(base, base.studies.copy(), outcomes)
    assert check.problems == () and check.dataset is not None
    assert len(check.dataset.outcomes) == n


def test_a_new_study_needs_a_source_and_a_known_design(base: Dataset) -> None:
    row = base.studies.iloc[[0]].copy()
    row["study_id"] = "New2026"
    row["source_urls"] = pd.NA
    row["design"] = "cohort-ish"
    studies = pd.concat([base.studies, row], ignore_index=True)
    check = check_edits(base, studies, base.outcomes.copy())
    found = {tuple(e.split("|")[:2]) for e in errors(check)}
    assert found == {(str(len(studies)), "source_urls"), (str(len(studies)), "design")}
    assert check.dataset is None


def test_deleting_rows_is_counted_and_kept(base: Dataset) -> None:
    outcomes = base.outcomes.drop(index=[1, 4]).reset_index(drop=True)
    check = check_edits(base, base.studies.copy(), outcomes)
    assert (check.changed, check.added, check.deleted) == (0, 0, 2)
    assert check.dataset is not None and len(check.dataset.outcomes) == len(base.outcomes) - 2


def test_an_outcome_of_an_unknown_study_is_an_error(base: Dataset) -> None:
    outcomes = base.outcomes.copy()
    outcomes.loc[0, "study_id"] = "Nobody1999"
    check = check_edits(base, base.studies.copy(), outcomes)
    assert check.dataset is None
    assert any("Nobody1999" in e for e in errors(check)), errors(check)
