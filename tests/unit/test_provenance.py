"""core.data.provenance: rows derived from a digitised curve (the simulated trial of
tests/fixtures/km_trial.py) or from summary statistics enter the data in use through the edit
check, keep their values exactly, and the pooling says where they come from."""

from __future__ import annotations

import math

import pytest

from core.data.dataset import load_bundled
from core.data.digitised import read_digitised
from core.data.estimable import estimable
from core.data.provenance import (
    UNADJUSTED_COX,
    UNADJUSTED_LOGRANK,
    Where,
    add_rows,
    provenance,
    reconstructed_rows,
    summary_rows,
)
from core.stats.effects import events_from_rate
from core.stats.hr import hr_from_ci, hr_from_logrank, hr_from_p
from core.stats.km import reconstruct
from core.views.km import km_json
from tests.fixtures.km_trial import files

URL = "https://doi.org/10.1000/example"
NEW = {
    "study_id": "Sim2024",
    "label": "Sim 2024",
    "year": 2024,
    "design": "RCT",
    "indication": "PVTT",
    "rt_type": "external",
    "n_rt": 70,
    "n_ctl": 70,
    "source_urls": URL,
}


@pytest.fixture(scope="module")
def result() -> dict:
    return km_json(reconstruct(*read_digitised(*files())), (1.0, 2.0))


def test_provenance_reads_only_derived_notes() -> None:
    assert provenance(" reconstructed from Fig. 2A: x ") == "reconstructed from Fig. 2A: x"
    assert provenance("Derived from the log-rank p") == "Derived from the log-rank p"
    assert provenance("Table 2") == provenance(None) == provenance(float("nan")) == ""


def test_reconstructed_rows_enter_the_pooling_with_their_provenance(result: dict) -> None:
    where = Where("Sim2024", "OS", "Fig. 2A", URL, "overall survival")
    rows = reconstructed_rows(where, {a: result["arms"][a]["survival"] for a in result["arms"]},
                              result["hr"])  # fmt: skip
    assert rows["kind"].tolist() == ["rate", "rate", "hr"]
    check = add_rows(load_bundled(), rows, NEW)
    assert check.dataset is not None, check.problems
    assert (check.added, check.changed, check.deleted) == (4, 0, 0)  # 3 outcome rows, 1 study
    note = check.dataset.outcomes["note"].iloc[-1]
    assert note.startswith("reconstructed from Fig. 2A: survival at 1 and 2 years and the Cox HR")
    assert "Guyot et al. 2012" in note

    hr = estimable(check.dataset, "OS", "HR").rows.set_index("study_id").loc["Sim2024"]
    assert hr["yi"] == pytest.approx(result["hr"]["log_hr"], abs=1e-12)
    assert math.sqrt(hr["vi"]) == pytest.approx(result["hr"]["se"], rel=1e-12)
    assert hr["derivation"].startswith(note + "; HR 0.814372")
    assert hr["adjustment"] == UNADJUSTED_COX and hr["source_url"] == URL

    odds = estimable(check.dataset, "OS", "OR", 2.0).rows.set_index("study_id").loc["Sim2024"]
    s_rt = result["arms"]["rt"]["survival"]["2"]
    assert odds["events_rt"] == events_from_rate(70, 100 * s_rt)
    assert odds["derived"] and odds["derivation"].startswith(note + "; events from 2-year OS")
    # rows reported as such keep their derivation as before
    wei = estimable(check.dataset, "OS", "HR").rows.set_index("study_id").loc["Wei2019"]
    assert wei["derivation"].startswith("HR ")


def test_a_year_past_follow_up_gives_no_rate_row() -> None:
    survival = {"rt": {"7": 0.6, "9": None}, "ctl": {"7": 0.5, "9": 0.1}}
    rows = reconstructed_rows(Where("Wei2019", "DFS", "Fig. 3", URL), survival, None)
    assert rows[["kind", "time_years", "rate_rt", "rate_ctl"]].values.tolist() == [
        ["rate", 7.0, 60.0, 50.0]
    ]
    assert rows["note"].iloc[0].startswith("reconstructed from Fig. 3: survival at 7 years of")
    check = add_rows(load_bundled(), rows)  # an existing study
    assert check.dataset is not None and check.added == 1


def test_a_second_row_of_the_same_kind_is_refused() -> None:
    survival = {"rt": {"1": 0.6}, "ctl": {"1": 0.5}}
    rows = reconstructed_rows(Where("Wei2019", "DFS", "Fig. 3", URL), survival, None)
    check = add_rows(load_bundled(), rows)  # Wei2019 reports its 1-year DFS already
    assert check.dataset is None
    assert [p.fix for p in check.problems] == ["keep one row per study, outcome, kind and time"]


def test_summary_row_from_a_logrank_p() -> None:
    res = hr_from_logrank(0.03, "rt", 40, 55)
    rows = summary_rows(Where("Yu2014", "DFS", "Results, p. 4", URL), res, {})
    check = add_rows(load_bundled(), rows)
    assert check.dataset is not None, check.problems
    row = check.dataset.outcomes.iloc[-1]
    assert row["adjustment"] == UNADJUSTED_LOGRANK
    assert row["note"].startswith(
        "derived from the two-sided log-rank p-value and the events in each arm in Results, "
        "p. 4 (Tierney et al. 2007, Trials 8:16): V = 40 x 55 / 95"
    )
    got = estimable(check.dataset, "DFS", "HR").rows.set_index("study_id").loc["Yu2014"]
    assert got["yi"] == pytest.approx(res.yi, abs=1e-12)
    assert math.sqrt(got["vi"]) == pytest.approx(res.se, rel=1e-12)
    assert got["derivation"].startswith(row["note"] + "; HR ")


def test_summary_row_from_hr_and_p_keeps_what_was_reported() -> None:
    reported = {"hr": 0.6, "p": 0.01}
    rows = summary_rows(Where("Yu2014", "OS", "abstract", URL), hr_from_p(0.6, 0.01), reported,
                        "PSM")  # fmt: skip
    assert rows[["hr", "hr_p", "adjustment"]].values.tolist() == [[0.6, 0.01, "PSM"]]
    assert "hr_low" not in rows
    assert rows["note"].tolist() == ["abstract: the reported HR and its two-sided p-value"]
    assert provenance(rows["note"].iloc[0]) == ""  # nothing derived but the pooling's own SE


def test_summary_row_from_an_asymmetric_ci_keeps_its_bounds() -> None:
    reported = {"hr": 0.6, "ci_low": 0.41, "ci_high": 0.9}  # rounded: not symmetric on log scale
    res = hr_from_ci(0.6, 0.41, 0.9)
    rows = summary_rows(Where("Yu2014", "OS", "Table 3", URL), res, reported)
    assert rows[["hr", "hr_low", "hr_high"]].values.tolist() == [[0.6, 0.41, 0.9]]
    assert rows["adjustment"].isna().all()  # not stated by the report: left empty
    check = add_rows(load_bundled(), rows)
    assert check.dataset is not None, check.problems
    got = estimable(check.dataset, "OS", "HR").rows.set_index("study_id").loc["Yu2014"]
    assert (got["yi"], got["vi"]) == pytest.approx((res.yi, res.vi), rel=1e-12)


def test_refused_without_source_or_with_a_taken_study_id(result: dict) -> None:
    survival = {a: result["arms"][a]["survival"] for a in result["arms"]}
    rows = reconstructed_rows(Where("Sim2024", "OS", "Fig. 2A", ""), survival, result["hr"])
    check = add_rows(load_bundled(), rows, NEW)
    assert check.dataset is None
    assert {p.column for p in check.problems} == {"source_url"}
    rows = reconstructed_rows(Where("Wei2019", "OS", "Fig. 2A", URL), survival, None)
    check = add_rows(load_bundled(), rows, NEW | {"study_id": "Wei2019"})
    assert check.dataset is None
    assert any("Wei2019" in p.message for p in check.problems)
