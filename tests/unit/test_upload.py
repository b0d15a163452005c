"""ui.upload (the pure upload handler) and ui.evidence (the Studies page's tables)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.data.dataset import load_bundled
from core.data.export import export_csv, export_parquet, template_xlsx
from core.data.schema import MAX_FILE_BYTES
from core.state.view import ViewState
from core.views.analysis import select_studies
from ui import evidence, upload

BUNDLED = load_bundled()
CSV_PAIR = [
    ("studies.csv", export_csv(BUNDLED.studies)),
    ("outcomes.csv", export_csv(BUNDLED.outcomes)),
]


def _messages(result: upload.UploadResult) -> list[str]:
    return [p.message for p in result.report.problems]


def test_key_is_sha256_prefix_and_depends_on_content_and_names() -> None:
    key = upload.dataset_key(CSV_PAIR)
    assert re.fullmatch(r"upload:[0-9a-f]{16}", key)
    assert upload.dataset_key(CSV_PAIR) == key
    assert upload.dataset_key([CSV_PAIR[0]]) != key
    swapped = [("outcomes.csv", CSV_PAIR[0][1]), ("studies.csv", CSV_PAIR[1][1])]
    assert upload.dataset_key(swapped) != key


def test_parquet_pair_loads_unchanged() -> None:
    files = [
        ("studies.parquet", export_parquet(BUNDLED.studies)),
        ("outcomes.parquet", export_parquet(BUNDLED.outcomes)),
    ]
    result = upload.handle_upload(files)
    assert result.loaded and result.report.clean, result.report.text()
    assert result.dataset is not None
    pd.testing.assert_frame_equal(result.dataset.studies, BUNDLED.studies)
    pd.testing.assert_frame_equal(result.dataset.outcomes, BUNDLED.outcomes)
    assert result.dataset.source == "upload: studies.parquet, outcomes.parquet"


def test_xlsx_template_loads_its_example_row() -> None:
    result = upload.handle_upload([("template.xlsx", template_xlsx())])
    assert result.loaded, result.report.text()
    assert result.dataset is not None
    assert result.dataset.studies["study_id"].tolist() == ["Wei2019"]
    row = result.dataset.outcomes.iloc[0]
    assert (row["outcome"], row["kind"], row["time_years"], row["rate_rt"]) == (
        "OS",
        "rate",
        2.0,
        27.4,
    )
    assert upload.report_summary(result).startswith("Loaded template\\.xlsx: 1 studies")


def test_nothing_given() -> None:
    result = upload.handle_upload([])
    assert not result.loaded and result.key is None
    assert _messages(result) == ["no file was given"]


def test_file_over_the_limit_is_refused_with_a_plain_message() -> None:
    big = b"x" * (MAX_FILE_BYTES + 1)
    result = upload.handle_upload([("studies.csv", big), CSV_PAIR[1]])
    assert not result.loaded
    assert _messages(result) == ["studies.csv is 20.0 MB, over the 20.0 MB limit per file"]
    assert "could not be used" in upload.report_summary(result)


def test_two_files_with_one_name() -> None:
    result = upload.handle_upload([CSV_PAIR[0], CSV_PAIR[0]])
    assert not result.loaded
    assert _messages(result) == ["two files named studies.csv"]


def test_one_table_only_keeps_the_previous_dataset() -> None:
    result = upload.handle_upload([CSV_PAIR[0]])
    assert not result.loaded
    assert "no outcomes table was given" in _messages(result)


def test_no_study_row_left_does_not_load() -> None:
    studies = b"study_id,n_rt\nA1,-1\n"
    outcomes = b"study_id,outcome,kind\n"
    result = upload.handle_upload([("studies.csv", studies), ("outcomes.csv", outcomes)])
    assert not result.loaded
    msgs = _messages(result)
    assert msgs[-1] == "no study row could be loaded"
    assert "row 2, n_rt -1 must be at least 0" in msgs
    assert result.report.dropped == (("studies.csv", 2),)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("studies.csv", b"\x00\x01\x02"),
        ("studies.csv", b""),
        ("data.xlsx", b"PK\x03\x04broken"),
        ("data.xlsx", b"not a zip"),
        ("studies.parquet", b"PAR1junkPAR1"),
        ("notes.pdf", b"%PDF-1.4"),
        ("studies.csv", b'study_id\n"unterminated'),
        ("studies.csv", b"study_id,label\n=cmd|' /C calc'!A0,<b>x</b>\n"),
    ],
)
def test_hostile_uploads_never_raise(name: str, data: bytes) -> None:
    result = upload.handle_upload([(name, data)])
    assert not result.loaded
    assert result.report.problems
    frame = upload.report_frame(result.report)
    assert list(frame.columns) == list(upload.REPORT_COLUMNS)
    assert (frame["Problem"] != "").all()


def test_report_frame_lists_errors_first_with_spreadsheet_rows() -> None:
    studies = b"study_id,label,n_rt\nA1,=HYPERLINK(1),10\nA2,Two,abc\n"
    outcomes = b"study_id,outcome,kind,hr\nA1,OS,hr,0.8\n"
    result = upload.handle_upload([("studies.csv", studies), ("outcomes.csv", outcomes)])
    assert result.loaded
    frame = upload.report_frame(result.report)
    assert frame["Severity"].tolist() == ["error", "warning"]
    assert frame.loc[0, ["File", "Row", "Column"]].tolist() == ["studies.csv", "3", "n_rt"]
    assert frame.loc[1, ["Row", "Column"]].tolist() == ["2", "label"]
    assert upload.dropped_text(result.report) == "studies.csv row 3"
    assert "1 row(s) with errors left out" in upload.report_summary(result)


def test_split_urls_keeps_only_web_links() -> None:
    cell = " https://a.org/x ; javascript:alert(1); PMID 123;http://b.org "
    assert evidence.split_urls(cell) == ["https://a.org/x", "http://b.org"]
    assert evidence.other_sources(cell) == ["javascript:alert(1)", "PMID 123"]
    assert evidence.split_urls(pd.NA) == []


def test_describe_numbers_for_each_kind() -> None:
    out = BUNDLED.outcomes
    wei = out[out["study_id"] == "Wei2019"]
    hr = wei[(wei["kind"] == "hr") & (wei["outcome"] == "OS")].iloc[0]
    assert evidence.describe_numbers(hr) == "hazard ratio RT vs control 0.35 (95% CI 0.23–0.54)"
    rate = wei[(wei["kind"] == "rate") & (wei["time_years"] == 1) & (wei["outcome"] == "DFS")]
    assert evidence.describe_numbers(rate.iloc[0]) == (
        "disease-free survival at 1 year: 33% with RT, 14.9% with control"
    )
    events = pd.Series(
        {"outcome": "OS", "kind": "events", "time_years": pd.NA, "events_rt": 4, "events_ctl": 11}
    )
    assert evidence.describe_numbers(events) == (
        "deaths by end of follow-up: 4 with RT, 11 with control"
    )


def test_evidence_table_matches_the_data() -> None:
    state = ViewState()
    table = evidence.evidence_table(
        BUNDLED.studies, select_studies(BUNDLED.studies, state), ("Yu2014",)
    )
    assert table["ID"].tolist() == BUNDLED.studies["study_id"].tolist()
    by_id = table.set_index("ID")
    assert by_id.at["Yu2014", "Excluded by hand"]
    assert by_id.at["Wei2019", "n RT"] == 82
    unknown = BUNDLED.studies.set_index("study_id")["quality_unknown"].dropna()
    for sid, items in unknown.items():
        assert by_id.at[sid, "Score"].startswith("≥ ")
        for item in items.split(";"):
            assert by_id.at[sid, evidence.QUALITY_LABELS[item]] == "?"


def test_overlap_groups_report_selected_members() -> None:
    groups = evidence.overlap_groups(BUNDLED.studies, ("Yu2014", "WangL2023", "Wei2019"))
    assert [g["group"] for g in groups] == ["beijing_cams"]
    assert groups[0]["selected"] == ["Yu 2014", "Wang L 2023"]
    expected = BUNDLED.studies[BUNDLED.studies["overlap_group"] == "beijing_cams"]
    assert len(groups[0]["studies"]) == len(expected)
