"""Malformed inputs: each gives the expected plain-language problem and nothing raises."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from core.data.dataset import load_upload
from core.data.export import export_csv, template_csv, template_xlsx
from core.data.readers import validate_files
from core.data.schema import MAX_FILE_BYTES, MAX_ROWS

STUDIES = (
    "study_id,label,design,indication,n_rt,n_ctl\n"
    "A1,Study A,RCT,PVTT,50,50\n"
    "B2,Study B,PSM,MVI,40,40\n"
)
OUTCOMES = (
    "study_id,outcome,kind,time_years,rate_rt,rate_ctl,events_rt,events_ctl,hr,hr_low,hr_high\n"
    "A1,OS,rate,2,40,20,,,,,\n"
    "A1,OS,hr,,,,,,0.5,0.3,0.8\n"
    "B2,DFS,events,1,,,10,20,,,\n"
)


def run(studies: str | bytes = STUDIES, outcomes: str | bytes = OUTCOMES, **more: bytes):
    files = {}
    for name, text in (("studies.csv", studies), ("outcomes.csv", outcomes)):
        if text is not None:
            files[name] = text.encode("utf-8") if isinstance(text, str) else text
    files.update(more)
    return validate_files(files)


def messages(report) -> str:
    return "\n".join(p.message for p in report.problems)


def xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rows(text: str) -> list[list[object]]:
    return [line.split(",") for line in text.strip().splitlines()]


def test_baseline_is_clean():
    r = run()
    assert r.clean, r.text()
    assert len(r.studies) == 2 and len(r.outcomes) == 3


CASES = [
    # (name, studies, outcomes, expected message fragment, severity)
    (
        "text in n",
        STUDIES.replace("A1,Study A,RCT,PVTT,50", "A1,Study A,RCT,PVTT,fifty"),
        None,
        "row 2, n_rt 'fifty' is not a number",
        "error",
    ),
    (
        "negative n",
        STUDIES.replace("B2,Study B,PSM,MVI,40", "B2,Study B,PSM,MVI,-4"),
        None,
        "row 3, n_rt -4 must be at least 0",
        "error",
    ),
    (
        "fractional n",
        STUDIES.replace(",50,50", ",50.5,50"),
        None,
        "row 2, n_rt 50.5 is not a whole number",
        "error",
    ),
    (
        "unknown indication",
        STUDIES.replace("PVTT", "liver"),
        None,
        "row 2, indication 'liver' is not one of PVTT, narrow_margin, MVI, other",
        "error",
    ),
    (
        "unknown design",
        STUDIES.replace("PSM", "cohort"),
        None,
        "row 3, design 'cohort' is not one of",
        "error",
    ),
    (
        "duplicate id",
        STUDIES + "A1,Again,RCT,PVTT,1,1\n",
        None,
        "row 4, study_id A1 repeats row 2",
        "error",
    ),
    ("empty id", STUDIES + ",No id,RCT,PVTT,1,1\n", None, "row 4, study_id is empty", "error"),
    (
        "bad id chars",
        STUDIES + "C 3/x,Bad,RCT,PVTT,1,1\n",
        None,
        "study_id 'C 3/x' may hold only letters",
        "error",
    ),
    (
        "CI reversed",
        None,
        OUTCOMES.replace("0.5,0.3,0.8", "0.9,0.3,0.8"),
        "row 3, hr_high 0.8 is below hr 0.9",
        "error",
    ),
    (
        "CI low above hr",
        None,
        OUTCOMES.replace("0.5,0.3,0.8", "0.2,0.3,0.8"),
        "row 3, hr_low 0.3 is above hr 0.2",
        "error",
    ),
    (
        "one CI end",
        None,
        OUTCOMES.replace("0.5,0.3,0.8", "0.5,0.3,"),
        "only one end of the HR confidence interval is given",
        "error",
    ),
    (
        "hr zero",
        None,
        OUTCOMES.replace("0.5,0.3,0.8", "0,,"),
        "row 3, hr 0 must be above 0",
        "error",
    ),
    (
        "rate over 100",
        None,
        OUTCOMES.replace("2,40,20", "2,140,20"),
        "row 2, rate_rt 140 must be at most 100",
        "error",
    ),
    (
        "percent sign",
        None,
        OUTCOMES.replace("2,40,20", "2,40%,20"),
        "rate_rt '40%' is not a number",
        "error",
    ),
    (
        "decimal comma",
        None,
        OUTCOMES.replace("2,40,20", '2,"40,5",20'),
        "rate_rt '40,5' is not a number",
        "error",
    ),
    (
        "NaN string",
        None,
        OUTCOMES.replace("2,40,20", "2,NaN,20"),
        "rate_rt 'NaN' is not a number",
        "error",
    ),
    (
        "inf string",
        None,
        OUTCOMES.replace("0.5,0.3,0.8", "inf,0.3,0.8"),
        "hr 'inf' is not a number",
        "error",
    ),
    (
        "time zero",
        None,
        OUTCOMES.replace("OS,rate,2,", "OS,rate,0,"),
        "row 2, time_years 0 must be above 0",
        "error",
    ),
    (
        "rate row without time",
        None,
        OUTCOMES.replace("OS,rate,2,", "OS,rate,,"),
        "row 2, time_years is empty, but a rate row needs it",
        "error",
    ),
    (
        "hr on rate row",
        None,
        OUTCOMES.replace("A1,OS,rate,2,40,20,,,,,", "A1,OS,rate,2,40,20,,,0.5,,"),
        "row 2, hr 0.5 is given on a rate row",
        "error",
    ),
    (
        "events over n",
        None,
        OUTCOMES.replace(",10,20,", ",10,45,"),
        "row 4, events_ctl 45 is more than the arm size n_ctl 40",
        "error",
    ),
    (
        "unknown study id",
        None,
        OUTCOMES + "ZZ9,OS,hr,,,,,,0.7,0.5,0.9\n",
        "row 5, study_id ZZ9 is not in the studies table",
        "error",
    ),
    (
        "unknown outcome",
        None,
        OUTCOMES.replace("A1,OS,rate", "A1,PFS,rate"),
        "row 2, outcome 'PFS' is not one of OS, DFS",
        "error",
    ),
    (
        "unknown kind",
        None,
        OUTCOMES.replace("A1,OS,hr", "A1,OS,median"),
        "row 3, kind 'median' is not one of rate, hr, events",
        "error",
    ),
    (
        "duplicate outcome row",
        None,
        OUTCOMES + "A1,OS,rate,2,41,21,,,,,\n",
        "row 5, this OS rate row repeats row 2",
        "error",
    ),
    (
        "missing column",
        None,
        OUTCOMES.replace("study_id,outcome,kind", "study_id,outcome,type"),
        "required column 'kind' is missing",
        "error",
    ),
    (
        "duplicate header",
        STUDIES.replace("label,design", "label,label"),
        None,
        "column 'label' appears twice in the header",
        "error",
    ),
    (
        "ragged row",
        STUDIES + "C3,Study C,RCT\n",
        None,
        "row 4 has 3 cells but the header has 6",
        "error",
    ),
    (
        "unknown column",
        STUDIES.replace("label,", "lable,"),
        None,
        "column 'lable' is not part of the layout and is ignored",
        "warning",
    ),
    (
        "formula injection",
        STUDIES.replace("Study A", "=cmd|' /C calc'!A0"),
        None,
        "row 2, label \"=cmd|' /C calc'!A0\" starts with '=' and a spreadsheet could run it",
        "warning",
    ),
    ("at-sign formula", STUDIES.replace("Study B", "@SUM(A1)"), None, "starts with '@'", "warning"),
    (
        "html in name",
        STUDIES.replace("Study A", "<script>alert(1)</script>"),
        None,
        "row 2, label '<script>alert(1)</script>' contains HTML markup",
        "warning",
    ),
    (
        "header only",
        "study_id,label\n",
        "study_id,outcome,kind\n",
        "the studies table has no data rows",
        "warning",
    ),
    (
        "quality score not the sum",
        "study_id,q_allocation,q_size,quality_score\nA1,2,1,2\nB2,1,0,1\n",
        None,
        "row 2, quality_score 2 is not the sum of the known quality items (3)",
        "warning",
    ),
    (
        "year out of range",
        STUDIES.replace("study_id,label", "study_id,year").replace("Study A", "1066"),
        None,
        "row 2, year 1066 must be at least 1900",
        "error",
    ),
]


@pytest.mark.parametrize(
    ("studies", "outcomes", "expected", "severity"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_malformed_rows(studies, outcomes, expected, severity):
    r = run(
        studies if studies is not None else STUDIES, outcomes if outcomes is not None else OUTCOMES
    )
    hits = [p for p in r.problems if expected in p.message]
    assert hits, messages(r)
    assert hits[0].severity == severity
    assert not r.unreadable or severity == "error"
    if severity == "error" and hits[0].row and hits[0].row > 1:
        assert hits[0].row in [row for _, row in r.dropped]


def test_bad_rows_dropped_rest_loads():
    r = run(outcomes=OUTCOMES.replace("0.5,0.3,0.8", "0.9,0.3,0.8"))
    assert len(r.outcomes) == 2 and r.dropped == (("outcomes.csv", 3),)
    assert not r.unreadable


def test_formula_text_kept_and_export_guarded():
    r = run(studies=STUDIES.replace("Study A", "=cmd|' /C calc'!A0"))
    assert r.studies.label.iloc[0] == "=cmd|' /C calc'!A0"
    out = export_csv(r.studies).decode()
    assert "'=cmd|' /C calc'!A0" in out
    assert ",50,50" in out  # numbers untouched


def test_negative_number_text_is_not_formula():
    r = run(studies=STUDIES.replace("Study A", "-12"))
    assert not r.problems


FILE_CASES = {
    "empty file": ({"studies.csv": b""}, "studies.csv is empty"),
    "whitespace file": ({"studies.csv": b"\n \n"}, "studies.csv is empty"),
    "non-UTF-8": (
        {"studies.csv": "study_id,label\nA1,Müller\n".encode("latin-1")},
        "studies.csv is not UTF-8 text (byte 0xfc",
    ),
    "binary garbage xlsx": (
        {"data.xlsx": b"\x00\x01garbage" * 50},
        "data.xlsx is not an Excel .xlsx file",
    ),
    "zip but not xlsx": ({"data.xlsx": None}, "could not be opened as an Excel workbook"),
    "unsupported type": ({"data.json": b"{}"}, "file type '.json' is not supported"),
    "huge file": ({"studies.csv": b"a" * (MAX_FILE_BYTES + 1)}, "larger than the"),
    "too many rows": (
        {"studies.csv": b"study_id\n" + b"x\n" * (MAX_ROWS + 1)},
        f"more than {MAX_ROWS:,}",
    ),
    "NUL bytes": ({"studies.csv": b"study_id\nA\x001\n"}, "contains NUL bytes"),
    "damaged parquet": ({"studies.parquet": b"PAR1 not really"}, "could not be read as Parquet"),
}


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


@pytest.mark.parametrize("case", list(FILE_CASES), ids=list(FILE_CASES))
def test_unreadable_files(case):
    files, expected = FILE_CASES[case]
    files = {k: (_plain_zip() if v is None else v) for k, v in files.items()}
    r = validate_files(files)
    assert r.unreadable
    assert any(expected in p.message for p in r.problems), messages(r)
    dataset, report = load_upload(*next(iter(files.items())))
    assert dataset is None and report.unreadable


def test_zip_bomb_xlsx():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 150_000_000)
    r = validate_files({"bomb.xlsx": buf.getvalue()})
    assert r.unreadable
    assert "refused as a possible zip bomb" in messages(r)


def test_bom_csv_reads():
    r = run(studies="\ufeff" + STUDIES)
    assert r.clean, r.text()
    assert r.studies.study_id.tolist() == ["A1", "B2"]


def test_semicolon_csv_reads_with_note():
    r = run(studies=STUDIES.replace(",", ";"))
    assert r.clean, r.text()
    assert len(r.studies) == 2
    assert any("';' separators detected" in n for n in r.notes)


def test_semicolon_csv_decimal_comma_is_error():
    text = OUTCOMES.replace(",", ";").replace("0.5;0.3;0.8", "0,5;0,3;0,8")
    r = run(outcomes=text)
    p = next(p for p in r.problems if p.column == "hr")
    assert "hr '0,5' is not a number" in p.message and "dot" in p.fix


def test_xlsx_two_sheets_loads():
    data = xlsx({"studies": _rows(STUDIES), "outcomes": _rows(OUTCOMES)})
    dataset, r = load_upload("mine.xlsx", data)
    assert dataset is not None and r.clean, r.text()
    assert dataset.studies.n_rt.tolist() == [50, 40]


def test_xlsx_numeric_cells_and_text_in_numeric():
    rows = _rows(STUDIES)
    rows[1][4] = 50
    rows[2][4] = "forty"
    r = validate_files({"m.xlsx": xlsx({"studies": rows, "outcomes": _rows(OUTCOMES)})})
    assert "row 3, n_rt 'forty' is not a number" in messages(r)
    assert r.studies.n_rt.tolist() == [50]


def test_xlsx_wrong_sheet_names():
    r = validate_files({"m.xlsx": xlsx({"Sheet1": _rows(STUDIES), "Sheet2": _rows(OUTCOMES)})})
    assert r.unreadable
    assert "none named 'studies' or 'outcomes'" in messages(r)


def test_xlsx_empty_sheet():
    r = validate_files({"m.xlsx": xlsx({"studies": _rows(STUDIES), "outcomes": []})})
    assert r.unreadable
    assert "sheet 'outcomes' in m.xlsx is empty" in messages(r)


def test_upload_without_outcomes_table():
    dataset, r = load_upload("studies.csv", STUDIES.encode())
    assert dataset is None
    assert "no outcomes table was given" in messages(r)


def test_two_studies_tables():
    r = validate_files({"studies.csv": STUDIES.encode(), "my_studies.csv": STUDIES.encode()})
    assert "a second studies table was given" in messages(r)


def test_templates_validate():
    r = validate_files({"s.csv": template_csv("studies"), "outcomes.csv": template_csv("outcomes")})
    assert r.clean, r.text()
    dataset, r2 = load_upload("template.xlsx", template_xlsx())
    assert dataset is not None and r2.clean, r2.text()


def test_parquet_upload():
    s = pd.read_csv(io.StringIO(STUDIES))
    buf = io.BytesIO()
    s.to_parquet(buf)
    r = validate_files({"studies.parquet": buf.getvalue(), "outcomes.csv": OUTCOMES.encode()})
    assert r.clean, r.text()
    assert r.studies.n_rt.tolist() == [50, 40]


def test_problem_str_has_file_row_and_fix():
    r = run(outcomes=OUTCOMES.replace("0.5,0.3,0.8", "0.9,0.3,0.8"))
    s = str(r.errors[0])
    assert s.startswith("ERROR [outcomes.csv, row 3]") and "Fix:" in s
    assert "header as row 1" in r.text()
