"""Readers never raise, never coerce silently, and hold their limits on what is actually parsed.

Every hostile file is built here: .xlsx files are written member by member (so a cell can hold
what openpyxl cannot decode), Parquet files with pyarrow. Each case checks the report names the
row and the column, or refuses the file with a plain message; the large cases run in a
subprocess whose peak memory (VmHWM) is measured.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.cli import main
from core.data import readers
from core.data.readers import validate_files
from core.data.schema import EXACT_INT, MAX_CELLS, MAX_LISTED, MAX_ROWS, ValidationReport

ROOT = Path(__file__).resolve().parents[2]
#: Peak resident memory of a process that imports the app's libraries and validates one file.
MEMORY_BOUND_KB = 1_000_000

HEADER = ("study_id", "label", "n_rt", "n_ctl", "median_fu_months")


# ---------------------------------------------------------------- builders


def _cell(ref: str, value: object) -> str:
    """One <c> element: numbers as numbers, text inline; a str starting with '<' is raw XML."""
    if isinstance(value, str) and value.startswith("<"):
        return value
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def sheet_xml(rows: list[tuple[object, ...]]) -> str:
    cols = "ABCDEFGHIJ"
    body = "".join(
        f'<row r="{i}">' + "".join(_cell(f"{cols[j]}{i}", v) for j, v in enumerate(r)) + "</row>"
        for i, r in enumerate(rows, start=1)
    )
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{body}</sheetData></worksheet>"
    )


def raw_xlsx(
    sheets: dict[str, str],
    shared: list[str] = (),  # type: ignore[assignment]
    styles: str | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A minimal .xlsx: sheet title -> sheet XML, shared strings, styles XML, extra members."""
    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    members = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel_ns}/officeDocument"'
            ' Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main_ns}" xmlns:r="{rel_ns}"><sheets>'
            + "".join(
                f'<sheet name="{t}" sheetId="{i}" r:id="rId{i}"/>'
                for i, t in enumerate(sheets, start=1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{pkg}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{rel_ns}/worksheet" '
                f'Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, len(sheets) + 1)
            )
            + f'<Relationship Id="rS" Type="{rel_ns}/sharedStrings" Target="sharedStrings.xml"/>'
            + f'<Relationship Id="rT" Type="{rel_ns}/styles" Target="styles.xml"/>'
            + "</Relationships>"
        ),
        "xl/sharedStrings.xml": (
            f'<sst xmlns="{main_ns}">' + "".join(f"<si><t>{s}</t></si>" for s in shared) + "</sst>"
        ),
        "xl/styles.xml": styles
        or (
            f'<styleSheet xmlns="{main_ns}"><cellXfs count="1"><xf numFmtId="0"/></cellXfs>'
            "</styleSheet>"
        ),
    }
    for i, xml in enumerate(sheets.values(), start=1):
        members[f"xl/worksheets/sheet{i}.xml"] = xml
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
        for name, data in (extra or {}).items():
            zf.writestr(name, data, zipfile.ZIP_STORED)
    return buf.getvalue()


def studies_xlsx(bad: str, column: int = 2) -> bytes:
    """A studies sheet whose row 3 has ``bad`` (raw <c> XML) in place of one cell."""
    good = ("A1", "Study A", 50, 50, 12.5)
    row = list(("B2", "Study B", 40, 40, 10.0))
    row[column] = bad
    return raw_xlsx({"studies": sheet_xml([HEADER, good, tuple(row)])})


def parquet(table: pa.Table, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def at(report: ValidationReport, row: int, column: str) -> list[str]:
    """Messages of the report's problems at one row and column."""
    return [p.message for p in report.problems if p.row == row and p.column == column]


def file_level(report: ValidationReport) -> str:
    return " | ".join(p.message for p in report.problems if p.row is None)


# ---------------------------------------------------------------- xlsx cells openpyxl cannot decode

XLSX_BAD_CELLS = {
    "shared string out of range": '<c r="C3" t="s"><v>999</v></c>',
    "text in a numeric cell": '<c r="C3"><v>forty</v></c>',
    "garbage date": '<c r="C3" t="d"><v>not-a-date</v></c>',
    "invalid cell reference": '<c r="C!3"><v>40</v></c>',
    "formula without a saved value": '<c r="C3"><f>SUM(A1:A2)</f></c>',
}


@pytest.mark.parametrize("case", list(XLSX_BAD_CELLS))
def test_xlsx_cell_problem_is_reported_at_its_row_and_column(case: str) -> None:
    r = validate_files({"data.xlsx": studies_xlsx(XLSX_BAD_CELLS[case])})
    assert not r.unreadable, r.text()
    assert at(r, 3, "n_rt"), r.text()
    assert r.studies is not None and r.studies.study_id.tolist() == ["A1"]
    assert r.dropped == (("data.xlsx [studies]", 3),)


def test_xlsx_formula_without_value_says_so() -> None:
    r = validate_files({"data.xlsx": studies_xlsx(XLSX_BAD_CELLS["formula without a saved value"])})
    assert "formula with no saved value" in at(r, 3, "n_rt")[0]


def test_xlsx_bad_text_cell_is_reported_too() -> None:
    r = validate_files({"data.xlsx": studies_xlsx('<c r="B3" t="s"><v>7</v></c>', column=1)})
    assert at(r, 3, "label") and r.studies is not None and len(r.studies) == 1


@pytest.mark.parametrize("second", ["Studies ", "STUDIES", " studies", "ｓｔｕｄｉｅｓ"])
def test_xlsx_near_duplicate_sheet_names_are_an_error(second: str) -> None:
    one = sheet_xml([HEADER, ("A1", "Study A", 50, 50, 12.5)])
    two = sheet_xml([HEADER, ("Z9", "Other", 1, 1, 1.0)])
    r = validate_files({"data.xlsx": raw_xlsx({"studies": one, second: two})})
    assert r.unreadable and r.studies is None
    assert "2 sheets named like 'studies'" in file_level(r)


def test_xlsx_styles_table_is_counted_before_loading() -> None:
    main_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    xfs = '<xf numFmtId="0"/>' * (readers.MAX_XLSX_STYLES + 1)
    styles = f'<styleSheet xmlns="{main_ns}"><cellXfs>{xfs}</cellXfs></styleSheet>'
    sheet = sheet_xml([HEADER, ("A1", "Study A", 50, 50, 12.5)])
    padding = {"xl/media/pad.bin": bytes(range(256)) * 40}  # keeps the zip ratio low
    r = validate_files({"data.xlsx": raw_xlsx({"studies": sheet}, styles=styles, extra=padding)})
    assert r.unreadable
    assert "more than 65,000 style entries (xf) in xl/styles.xml" in file_level(r)


def test_xlsx_shared_strings_are_counted_before_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "MAX_XLSX_STRINGS", 1_000)
    sheet = sheet_xml([HEADER, ("A1", "Study A", 50, 50, 12.5)])
    data = raw_xlsx({"studies": sheet}, shared=[f"s{i}" for i in range(1_001)])
    r = validate_files({"data.xlsx": data})
    assert r.unreadable and "more than 1,000 shared strings" in file_level(r)
    ok = validate_files({"data.xlsx": raw_xlsx({"studies": sheet}, shared=["x"] * 1_000)})
    assert not ok.unreadable, ok.text()


# ---------------------------------------------------------------- numbers: range and digits

CSV_HEADER = ",".join(HEADER) + "\n"


def csv_studies(*cells: str) -> dict[str, bytes]:
    lines = [f"S{i},Study {i},{c},10,5.5" for i, c in enumerate(cells)]
    return {"studies.csv": (CSV_HEADER + "\n".join(lines) + "\n").encode()}


@pytest.mark.parametrize(
    "value",
    ["1e20", "18446744073709551615", "9223372036854775808", str(EXACT_INT + 1), "-1e19"],
)
def test_csv_whole_numbers_beyond_exact_range_are_errors(value: str) -> None:
    r = validate_files(csv_studies("10", value))
    assert at(r, 3, "n_rt"), r.text()
    assert r.studies is not None and r.studies.n_rt.tolist() == [10]


def test_precision_loss_is_refused_in_float_columns_too() -> None:
    data = (CSV_HEADER + "S1,Study,10,10,9007199254740993\n").encode()
    r = validate_files({"studies.csv": data})
    assert "more digits than can be kept exactly" in at(r, 2, "median_fu_months")[0]
    edge = validate_files(csv_studies(str(EXACT_INT)))
    assert edge.studies is not None and edge.studies.n_rt.tolist() == [EXACT_INT]


@pytest.mark.parametrize(
    ("digits", "code"),
    [("٥٠", "U+0665"), ("৫০", "U+09EB"), ("５０", "U+FF15"), ("5٠", "U+0660"), ("۵۰", "U+06F5")],
)
def test_non_ascii_digits_are_errors_naming_row_and_column(digits: str, code: str) -> None:
    r = validate_files(csv_studies("10", digits))
    (msg,) = at(r, 3, "n_rt")
    assert "digits other than 0-9" in msg and code in msg
    assert r.studies is not None and r.studies.n_rt.tolist() == [10]


# ---------------------------------------------------------------- Parquet


def studies_table(**columns: pa.Array) -> pa.Table:
    base: dict[str, pa.Array] = {
        "study_id": pa.array(["A1", "B2"]),
        "label": pa.array(["Alpha", "Beta"]),
        "n_rt": pa.array([50, 40], pa.int64()),
    }
    return pa.table(base | columns)


def test_parquet_uint64_max_is_an_error_at_its_cell() -> None:
    big = pa.array([50, 2**64 - 1], pa.uint64())
    r = validate_files({"studies.parquet": parquet(studies_table(n_rt=big))})
    assert at(r, 3, "n_rt") and not r.unreadable
    assert r.studies is not None and r.studies.n_rt.tolist() == [50]


def test_parquet_invalid_utf8_is_an_error_at_its_cell() -> None:
    bad = pa.array([b"Alpha", b"Be\xfft\xc3"], pa.binary()).view(pa.string())
    r = validate_files({"studies.parquet": parquet(studies_table(label=bad))})
    (msg,) = at(r, 3, "label")
    assert "not valid UTF-8 (byte 0xff at position 2)" in msg
    assert r.studies is not None and r.studies.study_id.tolist() == ["A1"]


@pytest.mark.parametrize("kind", [pa.binary(), pa.large_binary()])
def test_parquet_binary_labels_are_decoded_with_a_warning(kind: pa.DataType) -> None:
    labels = pa.array([b"Alpha", "Bêta".encode()], kind)
    r = validate_files({"studies.parquet": parquet(studies_table(label=labels))})
    assert r.studies is not None and r.studies.label.tolist() == ["Alpha", "Bêta"]
    assert [p.column for p in r.warnings] == ["label"]
    assert "stored as binary data" in r.warnings[0].message


def test_parquet_row_groups_are_counted_as_read() -> None:
    n = MAX_ROWS + 10
    table = pa.table({"study_id": pa.array([f"S{i}" for i in range(n)])})
    r = validate_files({"studies.parquet": parquet(table, row_group_size=10_000)})
    assert r.unreadable and f"{n:,} rows, more than {MAX_ROWS:,}" in file_level(r)


def _lie_about_rows(data: bytes, true_rows: int, claimed: int) -> bytes:
    """The file with every footer count of ``true_rows`` (a zigzag varint) made ``claimed``."""

    def varint(n: int) -> bytes:
        z, out = n * 2, bytearray()
        while True:
            b = z & 0x7F
            z >>= 7
            out.append(b | (0x80 if z else 0))
            if not z:
                return bytes(out)

    size = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - size
    old, new = varint(true_rows), varint(claimed)
    assert len(old) == len(new)
    return data[:start] + data[start:].replace(old, new)


#: how pyarrow may lay out the pages: one page per column, many small pages, DataPage V2
PAGE_LAYOUTS = {
    "one page": {"compression": "none"},
    "small pages": {"compression": "zstd", "data_page_size": 100, "write_batch_size": 10},
    "data page v2": {"compression": "snappy", "data_page_version": "2.0"},
}


def rows_table(n: int) -> pa.Table:
    return pa.table(
        {"study_id": pa.array([f"S{i}" for i in range(n)]), "n_rt": pa.array(range(n), pa.int64())}
    )


@pytest.mark.parametrize("layout", list(PAGE_LAYOUTS))
def test_parquet_footer_that_understates_its_rows_is_refused(layout: str) -> None:
    n = 49_000
    honest = parquet(rows_table(n), **PAGE_LAYOUTS[layout])
    r = validate_files({"studies.parquet": honest})
    assert r.studies is not None and len(r.studies) == n  # the pages' own counts agree
    r = validate_files({"studies.parquet": _lie_about_rows(honest, n, 40_000)})
    assert r.unreadable and r.studies is None  # never silently cut to the footer's 40,000
    (problem,) = r.problems
    assert problem.row is None and problem.column is None
    assert "its data pages hold 49,000 rows where its footer states 40,000" in problem.message


def test_parquet_row_limit_holds_on_the_rows_the_pages_hold() -> None:
    n = 1_000_000
    lying = _lie_about_rows(parquet(rows_table(n), compression="none"), n, 40_000)
    r = validate_files({"studies.parquet": lying})
    assert r.unreadable
    assert f"holds more than {MAX_ROWS:,} rows" in file_level(r)
    assert "(its footer says 40,000 rows)" in file_level(r)


@pytest.mark.parametrize("cut", [5, 40, 200])
def test_parquet_damaged_page_headers_are_a_plain_problem(cut: int) -> None:
    """Page headers overwritten with junk: the file is refused with a message, no traceback."""
    data = bytearray(parquet(rows_table(100), compression="none"))
    data[4 + cut : 4 + cut + 8] = b"\xff" * 8
    r = validate_files({"studies.parquet": bytes(data)})
    assert r.unreadable and "could not be read as Parquet" in file_level(r)


# ---------------------------------------------------------------- CSV limits and warning caps


def test_bare_quotes_do_not_hide_cells_from_the_count() -> None:
    per_row = 42
    rows = MAX_CELLS // per_row + 10
    line = 'a"b,' + ",".join(["c"] * (per_row - 2)) + ',d"e\n'
    data = ("h" + ",h" * (per_row - 1) + "\n" + line * rows).encode()
    r = validate_files({"studies.csv": data})
    assert r.unreadable and f"more than {MAX_CELLS:,} cells" in file_level(r)


def test_a_million_warnings_are_summarised_per_column_and_kind() -> None:
    n = 20_000
    body = "".join(f"S{i},=x{i},10,10,1\n" for i in range(n))
    r = validate_files({"studies.csv": (CSV_HEADER + body).encode()})
    assert r.studies is not None and len(r.studies) == n
    label = [p for p in r.problems if p.column == "label"]
    assert len(label) == MAX_LISTED + 1
    assert [p.row for p in label[:MAX_LISTED]] == [2, 3, 4, 5, 6]
    assert f"and {n - MAX_LISTED:,} more row(s) in column label" in label[-1].message
    assert f"rows {MAX_LISTED + 2} to {n + 1}" in label[-1].message
    assert r.problems == tuple(label)


def test_capped_errors_still_drop_every_bad_row() -> None:
    n = 1_000
    body = "".join(f"S{i},L,x{i},10,1\n" for i in range(n))
    r = validate_files({"studies.csv": (CSV_HEADER + body).encode()})
    assert len(r.dropped) == n and len(r.errors) == MAX_LISTED + 1
    assert f"and {n - MAX_LISTED:,} more row(s) in column n_rt" in r.errors[-1].message


# ---------------------------------------------------------------- CLI


def test_cli_prints_row_and_column_reports_never_a_traceback(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "data.xlsx"
    bad.write_bytes(studies_xlsx(XLSX_BAD_CELLS["shared string out of range"]))
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "[data.xlsx [studies], row 3] row 3, n_rt: cell 'C3' could not be decoded" in out
    pq_file = tmp_path / "studies.parquet"
    pq_file.write_bytes(parquet(studies_table(n_rt=pa.array([50, 2**64 - 1], pa.uint64()))))
    assert main(["validate", str(pq_file)]) == 1
    out = capsys.readouterr().out
    assert "[studies.parquet, row 3] row 3, n_rt 18446744073709551615 has more digits" in out
    assert "Traceback" not in out


# ---------------------------------------------------------------- memory of large files

_MEASURE = r"""
import json, re, sys
from core.data.readers import validate_files
name, path = sys.argv[1], sys.argv[2]
r = validate_files({name: open(path, "rb").read()})
# VmHWM is this process's own peak (ru_maxrss would carry the parent's peak across exec)
status = open("/proc/self/status").read()
peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
print(json.dumps({"peak_kb": peak, "unreadable": r.unreadable,
                  "problems": [p.message for p in r.problems if p.row is None]}))
"""


def _measure(tmp_path: Path, name: str, data: bytes) -> dict[str, object]:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, name, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def _fixed_size_binary(width: int, rows: int) -> bytes:
    values = pa.DictionaryArray.from_arrays(
        pa.array([0] * rows, pa.int32()), pa.array([b"x" * width], pa.binary(width))
    )
    return parquet(
        pa.table({"study_id": pa.array([f"S{i}" for i in range(rows)]), "label": values})
    )


def _distinct_strings(length: int, rows: int) -> bytes:
    labels = pa.array([f"{i:08d}" + "y" * length for i in range(rows)])
    table = pa.table({"study_id": pa.array([f"S{i}" for i in range(rows)]), "label": labels})
    return parquet(table, compression="zstd", use_dictionary=False)


@pytest.mark.parametrize(
    ("name", "build", "expect"),
    [
        ("studies.parquet", lambda: _fixed_size_binary(100_000, 2_000), "decompression bomb"),
        ("studies.parquet", lambda: _distinct_strings(3_000, 40_000), "decompression bomb"),
        (
            "studies.csv",
            lambda: ("h" + ",h" * 41 + "\n" + ('a"b,' + "c," * 40 + 'd"e\n') * 48_000).encode(),
            "cells",
        ),
        ("studies.csv", lambda: b'h,h\na"b,' + b"c," * 3_000_000 + b'd"e\n', "cells"),
    ],
    ids=["fixed-size-binary", "distinct-strings", "bare-quotes-csv", "one-row-bare-quotes"],
)
def test_large_hostile_files_stay_under_the_memory_bound(
    tmp_path: Path, name: str, build: object, expect: str
) -> None:
    data = build()  # type: ignore[operator]
    result = _measure(tmp_path, name, data)
    assert result["unreadable"], result
    assert any(expect in m for m in result["problems"]), result  # type: ignore[attr-defined]
    assert result["peak_kb"] < MEMORY_BOUND_KB, result  # type: ignore[operator]
