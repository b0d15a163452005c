"""Risk-of-bias judgements: the optional schema columns, the forest plot's traffic lights
(colour and symbol from the dataset's own judgements, blanks left blank) and the robvis-style
summary (shares counted by hand from the fixture)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core import vocab
from core.charts.forest import ROB_COLOURS, forest_chart
from core.charts.rob import rob_summary_chart
from core.data.dataset import Dataset, load_bundled, load_files
from core.data.schema import ROB2_COLUMNS, ROBINS_COLUMNS, template_frame
from core.state.view import DEFAULT_STATE
from core.views.analysis import analyse, forest_frame
from core.views.rob import judgement_of, summary_frame, tools_in

ROOT = Path(__file__).resolve().parents[2]
ROB2 = ROOT / "tests" / "fixtures" / "rob2"


def _load(files: dict[str, bytes]) -> Dataset:
    ds, report = load_files(files)
    assert ds is not None, report
    return ds


@pytest.fixture(scope="module")
def rob2() -> Dataset:
    return _load({p.name: p.read_bytes() for p in ROB2.glob("*.csv")})


def test_bundled_data_has_no_judgements_and_no_columns() -> None:
    ds = load_bundled()
    assert not set(ROB2_COLUMNS + ROBINS_COLUMNS) & set(ds.studies.columns)
    assert tools_in(ds.studies) == ()
    assert summary_frame(ds.studies).empty
    assert rob_summary_chart(summary_frame(ds.studies)) == {}
    frame = forest_frame(analyse(DEFAULT_STATE, ds).outcomes["OS"], DEFAULT_STATE, ds.studies)
    assert "rob_tool" not in frame or (frame["rob_tool"].fillna("") == "").all()
    assert not set(ROB2_COLUMNS) & set(template_frame("studies").columns)


def test_fixture_columns_load_with_their_judgements(rob2: Dataset) -> None:
    assert set(ROB2_COLUMNS) <= set(rob2.studies.columns)
    assert not set(ROBINS_COLUMNS) & set(rob2.studies.columns)
    assert [t.key for t in tools_in(rob2.studies)] == ["rob2"]
    j = judgement_of(rob2.studies, "TrialC")
    assert j is not None and (j.tool, j.domains, j.overall) == (
        "rob2",
        ("high", "some", "low", "low", "some"),
        "high",
    )
    d = judgement_of(rob2.studies, "TrialD")
    assert d is not None and d.domains[1] == ""  # not judged stays empty
    assert judgement_of(rob2.studies, "TrialE") is None


def test_a_value_outside_the_levels_is_an_error_for_its_row() -> None:
    studies = (ROB2 / "studies.csv").read_text().replace("TrialA,Trial A,2012,RCT,PVTT,external,"
                                                         "60,60,unknown,low", "TrialA,Trial A,"
                                                         "2012,RCT,PVTT,external,60,60,unknown,"
                                                         "moderate")  # fmt: skip
    _, report = load_files(
        {"studies.csv": studies.encode(), "outcomes.csv": (ROB2 / "outcomes.csv").read_bytes()}
    )
    assert any(p.column == "rob2_d1" and "moderate" in p.message for p in report.problems)


def test_traffic_lights_beside_the_forest_plot(rob2: Dataset) -> None:
    oa = analyse(DEFAULT_STATE, rob2).outcomes["OS"]
    assert oa.k == 5
    frame = forest_frame(oa, DEFAULT_STATE, rob2.studies)
    study = frame[frame["kind"] == "study"].set_index("study_id")
    assert study.at["TrialC", "rob_d1"] == "high" and study.at["TrialC", "rob_overall"] == "high"
    spec = forest_chart(frame, measure_label="OR")
    cells = spec["datasets"]["forest_rob"]
    by_study: dict[str, list[dict]] = {}
    for c in cells:
        by_study.setdefault(c["row_id"].removeprefix("study:"), []).append(c)
    assert "TrialE" not in by_study  # no judgement: no light
    assert len(by_study["TrialA"]) == 6 and len(by_study["TrialD"]) == 5  # D2 left blank
    for sid, lights in by_study.items():
        j = judgement_of(rob2.studies, sid)
        assert j is not None
        given = [v for v in (*j.domains, j.overall) if v]
        assert [c["symbol"] for c in lights] == [vocab.ROB_SYMBOLS[v] for v in given]
        assert [c["fill"] for c in lights] == [ROB_COLOURS[v][0] for v in given]
    trial_c = by_study["TrialC"][0]
    assert trial_c["symbol"] == "×" and "randomization process: high" in trial_c["judgement"]
    body = spec["vconcat"][0]["hconcat"]
    assert len(body) == 7  # label, RT, control, plot, CI, weight, risk of bias
    notes = [n["t"] for n in spec["datasets"]["forest_notes"]]
    assert any(n.startswith("Risk of bias (RoB 2; + low, − some concerns, × high") for n in notes)
    assert any("D5 selection of the reported result" in n for n in notes)


def test_robins_rows_get_seven_domains() -> None:
    studies = pd.DataFrame(
        {
            "study_id": ["a"],
            "robins_d1": ["serious"],
            "robins_d7": ["ni"],
            "robins_overall": ["critical"],
        }
    )
    j = judgement_of(studies, "a")
    assert j is not None and j.tool == "robins" and len(j.domains) == 7
    frame = pd.DataFrame(
        [
            {"row_id": "s", "label": "A", "kind": "study", "study_id": "a", "est": 0.5,
             "low": 0.2, "high": 1.1, "weight": 100.0, "rob_tool": "robins",
             "rob_d1": "serious", "rob_d7": "ni", "rob_overall": "critical"},
        ]
    )  # fmt: skip
    spec = forest_chart(frame, measure_label="OR")
    cells = spec["datasets"]["forest_rob"]
    assert [c["symbol"] for c in cells] == ["×", "?", "!"]
    assert cells[1]["judgement"] == "ROBINS-I, D7 selection of the reported result: no information"


def test_summary_shares_counted_by_hand(rob2: Dataset) -> None:
    frame = summary_frame(rob2.studies)
    assert set(frame["judged"]) == {4}  # Trial E has no judgement: not counted

    def share(domain: str, level: str) -> float:
        hit = frame[(frame["domain"] == domain) & (frame["level"] == level)]
        return float(hit["percent"].iloc[0])

    # D1: A low, B some, C high, D low
    assert (share("D1", "low"), share("D1", "some"), share("D1", "high")) == (50.0, 25.0, 25.0)
    # D2: A low, B low, C some, D not judged
    assert (share("D2", "low"), share("D2", "some"), share("D2", "none")) == (50.0, 25.0, 25.0)
    # overall: A low, B some, C high, D some
    assert (share("Overall", "low"), share("Overall", "some")) == (25.0, 50.0)
    sums = frame.groupby("domain")["percent"].sum()
    assert sums.to_numpy() == pytest.approx([100.0] * 6)
    only = summary_frame(rob2.studies, ["TrialA", "TrialC", "TrialE"])
    assert set(only["judged"]) == {2}
    spec = rob_summary_chart(frame)
    values = spec["vconcat"][0]["layer"][0]["data"]["values"] if "data" in spec["vconcat"][0][
        "layer"][0] else next(iter(spec["datasets"].values()))  # fmt: skip
    texts = {r["text"] for r in values}
    assert "+ 50%" in texts and "× 25%" in texts  # symbol and share on each wide segment
