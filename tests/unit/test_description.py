"""core.data.description: parsing, validation and defaults of a dataset's description, its
use when loading files (outcome codes to slots), and its round trip through the store."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data import description as desc
from core.data.dataset import load_bundled, load_files, outcomes_in_codes
from core.store import open_store, payload
from tests.unit.store_support import GROUP

ROOT = Path(__file__).resolve().parents[2]
BCG = ROOT / "tests" / "fixtures" / "bcg_described"


def _bcg_files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(BCG.iterdir()) if p.suffix in (".csv", ".json")}


def _parse(obj: object) -> tuple[desc.Description | None, list[str]]:
    d, problems = desc.parse(json.dumps(obj).encode())
    return d, [p.message for p in problems]


def test_minimal_description_gets_neutral_words_for_what_it_leaves_out() -> None:
    d, problems = _parse({"title": "T", "outcomes": [{"code": "TB"}]})
    assert problems == [] and d is not None
    assert (d.words("OS").code, d.words("OS").label, d.words("OS").event) == ("TB", "TB", "event")
    assert (d.treatment, d.control, d.intervention) == ("treatment", "control", "treatment")
    assert d.untreated == "without treatment" and d.published is None and d.filters == ()
    assert d.slots == ("OS",) and d.words("OS").time_points == ()
    # the second slot has no outcome: its code stands for itself
    assert d.words("DFS") == desc.OutcomeWords("DFS", "DFS", "event")


def test_bundled_description_holds_the_topic_words_and_the_published_result() -> None:
    d = load_bundled().description
    assert d.given and d.title == "Perioperative radiotherapy for HCC: the pooled evidence"
    assert [(o.code, o.label, o.event) for o in d.outcomes] == [
        ("OS", "overall survival", "death"),
        ("DFS", "disease-free survival", "recurrence or death"),
    ]
    assert (d.treatment, d.control, d.intervention, d.untreated) == (
        "RT",
        "control",
        "perioperative RT",
        "without RT",
    )
    assert d.published is not None and d.published_label == "Published (Rim et al. 2024)"
    assert {r["outcome"]: r["estimate"] for r in d.published["results"]} == {
        "DFS": 0.359,
        "OS": 0.371,
    }
    assert d.published["source_urls"]  # its sources stay with the numbers
    assert [f.column for f in d.filters] == ["indication", "design", "rt_type"]


@pytest.mark.parametrize(
    ("obj", "says"),
    [
        ([1, 2], "the description is not an object"),
        ({"title": "T"}, "'outcomes' is not a list of 1 to 2 outcomes"),
        ({"title": "T", "outcomes": []}, "'outcomes' is not a list of 1 to 2 outcomes"),
        (
            {"title": "T", "outcomes": [{"code": "A"}, {"code": "B"}, {"code": "C"}]},
            "'outcomes' is not a list of 1 to 2 outcomes",
        ),
        ({"title": "T", "outcomes": [{"code": "A"}, {"code": "A"}]}, "same code"),
        ({"title": "T", "outcomes": [{"label": "x"}]}, "outcome 1: 'code' is missing"),
        ({"title": 3, "outcomes": [{"code": "A"}]}, "'title' is not text"),
        ({"title": "T", "outcomes": [{"code": "A", "time_points": [0]}]}, "time point 0"),
        ({"title": "T", "outcomes": [{"code": "A", "time_points": "2"}]}, "'time_points'"),
        ({"title": "T", "outcomes": [{"code": "A"}], "measure": "SMD"}, "measure 'SMD'"),
        (
            {"title": "T", "outcomes": [{"code": "A"}], "filters": [{"column": "n_rt"}]},
            "column 'n_rt' cannot be a filter",
        ),
        (
            {"title": "T", "outcomes": [{"code": "A"}], "filters": [{"column": "2x"}]},
            "column '2x' cannot be a filter",
        ),
        (
            {"title": "T", "outcomes": [{"code": "A"}], "published": {"label": "X", "results": []}},
            "published: 'results'",
        ),
        (
            {
                "title": "T",
                "outcomes": [{"code": "A"}],
                "published": {
                    "label": "X",
                    "results": [
                        {"outcome": "B", "measure": "OR", "estimate": 1, "ci_low": 1, "ci_high": 1}
                    ],
                },
            },
            "outcome 'B' is not one of the outcomes' codes",
        ),
        ({"format": 9, "title": "T", "outcomes": [{"code": "A"}]}, "format 9"),
        ({"title": "x" * 5000, "outcomes": [{"code": "A"}]}, "longer than 2,000"),
    ],
)
def test_bad_descriptions_are_refused_with_a_clear_problem(obj: object, says: str) -> None:
    d, problems = _parse(obj)
    assert d is None
    assert len(problems) == 1 and says in problems[0], problems


def test_unreadable_and_oversized_files_are_problems_not_exceptions() -> None:
    for data, says in (
        (b"\xff\xfe{", "not UTF-8"),
        (b"{not json", "not valid JSON"),
        (b"[" * 150_000 + b"]" * 150_000, "larger than the 200,000 limit"),
        (b"[" * 50_000 + b"]" * 50_000, "description"),
    ):
        d, problems = desc.parse(data)
        assert d is None and says in problems[0].message


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids),
        max_leaves=20,
    )
)
def test_any_json_gives_a_description_or_problems_never_an_exception(obj: object) -> None:
    d, problems = desc.parse(json.dumps(obj).encode())
    assert (d is None) == bool(problems)


def test_description_round_trips_through_json() -> None:
    for d in (load_bundled().description, desc.parse((BCG / "description.json").read_bytes())[0]):
        assert d is not None
        back, problems = desc.parse(desc.to_bytes(d))
        assert problems == [] and back is not None
        assert desc.to_json(back) == desc.to_json(d)


def test_bcg_upload_maps_its_codes_to_slots_and_keeps_its_words() -> None:
    ds, report = load_files(_bcg_files())
    assert ds is not None, report.text()
    assert report.errors == ()
    assert set(ds.outcomes["outcome"]) == {"OS"}  # TB takes the first slot
    assert ds.description.title == "BCG vaccine against tuberculosis"
    assert ds.description.words("OS").event == "TB case"
    assert (ds.description.treatment, ds.description.control) == ("vaccinated", "not vaccinated")


def test_an_outcome_code_the_description_does_not_name_is_a_row_problem() -> None:
    files = _bcg_files()
    files["outcomes.csv"] = files["outcomes.csv"].replace(b"trial2,TB,", b"trial2,OS,")
    ds, report = load_files(files)
    assert ds is not None
    (problem,) = report.errors
    assert problem.row == 3 and problem.column == "outcome"
    assert "'OS' is not one of the description's outcome codes (TB)" in problem.message
    assert "trial2" not in set(ds.outcomes["study_id"])


def test_a_bad_description_keeps_the_upload_out_with_the_reason() -> None:
    files = _bcg_files() | {"description.json": b'{"title": "T"}'}
    ds, report = load_files(files)
    assert ds is None and report.unreadable
    assert any("'outcomes' is not a list" in p.message for p in report.errors)


def test_without_a_description_words_are_neutral_and_time_points_come_from_the_data() -> None:
    files = {
        "studies.csv": b"study_id,n_rt,n_ctl\nA,10,10\nB,12,12\n",
        "outcomes.csv": b"study_id,outcome,kind,time_years,rate_rt,rate_ctl\n"
        b"A,OS,rate,1,80,70\nA,OS,rate,3,50,40\nB,OS,rate,1,85,75\n",
    }
    ds, report = load_files(files)
    assert ds is not None, report.text()
    d = ds.description
    assert not d.given and d.published is None
    assert d.words("OS") == desc.OutcomeWords("OS", "OS", "event", (1.0, 3.0))
    assert d.words("DFS") == desc.OutcomeWords("DFS", "DFS", "event", ())
    assert d.slots == ("OS", "DFS")
    assert (d.treatment, d.control) == ("treatment", "control")


# ---------------------------------------------------------------- store


@GROUP
def test_store_keeps_the_description_with_the_version(tmp_path: Path) -> None:
    store = open_store({"EXPLORER_STORE": f"sqlite:///{tmp_path / 's.sqlite3'}"})
    ds, _ = load_files(_bcg_files())
    assert ds is not None
    saved = store.save(ds, note=None)
    got = store.open(saved.token)  # type: ignore[union-attr]
    words = got.dataset.description  # type: ignore[union-attr]
    assert desc.to_json(words) == desc.to_json(ds.description)
    assert got.dataset.outcomes.equals(ds.outcomes)  # type: ignore[union-attr]


def test_a_version_saved_before_descriptions_reads_back_with_neutral_words() -> None:
    ds = load_bundled()
    new = payload.pack(ds, "n", None)
    with zipfile.ZipFile(io.BytesIO(new)) as zf:
        assert "description.json" in zf.namelist()
        old = io.BytesIO()
        with zipfile.ZipFile(old, "w", zipfile.ZIP_STORED) as out:
            for name in zf.namelist():
                if name == "meta.json":
                    out.writestr(name, json.dumps({"format": 1, "note": "n", "parent": None}))
                elif name != "description.json":
                    out.writestr(name, zf.read(name))
    content = payload.unpack(old.getvalue(), "saved dataset")
    assert content is not None and content.note == "n"
    assert not content.dataset.description.given
    assert content.dataset.description.words("DFS").label == "DFS"
    assert content.dataset.outcomes.equals(ds.outcomes)
    back = payload.unpack(new, "saved dataset")
    assert back is not None and back.dataset.description.title == ds.description.title


def test_an_edit_keeps_the_description() -> None:
    from core.data.edit import check_edits

    ds, _ = load_files(_bcg_files())
    assert ds is not None
    outcomes = outcomes_in_codes(ds).copy()  # as the editor shows them: TB, not the slot OS
    assert set(outcomes["outcome"]) == {"TB"}
    outcomes.loc[0, ["events_rt", "source_url", "note"]] = [
        5,
        "https://doi.org/10.1001/jama.1994.03510330076038",
        "Table 1",
    ]
    checked = check_edits(ds, ds.studies, outcomes)
    assert checked.dataset is not None, checked.problems
    assert checked.dataset.description is ds.description
    assert int(checked.dataset.outcomes.loc[0, "events_rt"]) == 5
    assert set(checked.dataset.outcomes["outcome"]) == {"OS"}  # recoded to its slot
    outcomes.loc[1, "outcome"] = "OS"  # a slot code is not the description's code
    refused = check_edits(ds, ds.studies, outcomes)
    assert refused.dataset is None
    assert "'OS' is not one of the description's outcome codes (TB)" in refused.problems[0].message
