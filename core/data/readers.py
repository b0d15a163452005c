"""File readers for uploads: CSV, .xlsx and Parquet into :class:`~core.data.schema.RawTable` s.

Readers never raise for bad input. A file that cannot be read at all becomes one file-level
problem; a cell that cannot be decoded becomes a :class:`~core.data.schema.CellIssue` in its
place, reported with its row and column by validation. Limits hold on what is actually parsed
and decoded, before memory is spent: CSV cells are counted as the parser produces them; .xlsx
style and shared-string counts are streamed before the workbook is opened; Parquet rows are
counted from the data pages' own headers (not the footer) before anything is decoded, then read
one row group and column at a time with a running total of rows and decoded bytes, each column
checked against its metadata first.
"""

from __future__ import annotations

import csv
import io
import re
import xml.parsers.expat
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Literal

from core import fmt
from core.data.schema import (
    MAX_CELLS,
    MAX_COLUMNS,
    MAX_ROWS,
    MAX_XLSX_RATIO,
    MAX_XLSX_UNCOMPRESSED,
    TABLES,
    CellIssue,
    Problem,
    Problems,
    RawTable,
    ValidationReport,
    too_large,
    validate_tables,
)

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

#: Decoded bytes a Parquet file may take in memory (as for .xlsx: MAX_XLSX_UNCOMPRESSED).
MAX_DECODED_BYTES = MAX_XLSX_UNCOMPRESSED
#: Cell formats (and fonts, fills, borders, number formats) in an .xlsx styles table: Excel
#: itself stops at 64,000 formats.
MAX_XLSX_STYLES = 65_000
#: Shared strings in an .xlsx: no more than the cells a file may hold.
MAX_XLSX_STRINGS = MAX_CELLS
_STYLE_ELEMENTS = frozenset({"xf", "font", "fill", "border", "numFmt", "dxf", "cellStyle"})


class _Unreadable(Exception):
    """A file that cannot be read at all (internal: becomes a file-level Problem)."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


# ---------------------------------------------------------------- CSV

_LINE_BREAK = re.compile(r"[\r\n]")


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Unreadable(
            f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start})",
            "save it as 'CSV UTF-8' in your spreadsheet program",
        ) from None


def _first_line(text: str) -> str:
    """``text`` up to its first line break (CR or LF)."""
    return _LINE_BREAK.split(text, maxsplit=1)[0]


def _too_many_cells(name: str, cells: int) -> _Unreadable:
    return _Unreadable(
        f"{name} has more than {fmt.count(cells)} cells (the limit is {fmt.count(MAX_CELLS)})",
        "check the separators and quotes, or split the data",
    )


def _check_size(name: str, text: str, sep: str) -> None:
    """Refuse too many header columns or cells before any row is split into cells.

    Counted on the text with quoted fields removed, as the csv parser quotes: only a quote that
    opens a field starts one (a quote inside an unquoted field is a plain character, so it
    cannot hide separators from the count). One row of millions of cells is refused here; the
    rows the parser produces are counted again as they come."""
    quoted = re.compile(rf'(?:^|(?<=[{sep}\r\n]))"[^"]*(?:""[^"]*)*"(?=[{sep}\r\n]|\Z)', re.M)
    bare = quoted.sub("", text).rstrip("\r\n")
    header = _first_line(bare)
    if header.count(sep) + 1 > MAX_COLUMNS:
        raise _Unreadable(
            f"{name} has {fmt.count(header.count(sep) + 1)} columns, more than "
            f"{fmt.count(MAX_COLUMNS)}",
            "keep the template's columns",
        )
    cells = bare.count(sep) + bare.count("\n") + bare.count("\r") - bare.count("\r\n") + 1
    if cells > MAX_CELLS:
        raise _too_many_cells(name, MAX_CELLS)


def _read_csv(name: str, data: bytes, notes: list[str]) -> RawTable:
    """Rows as the csv parser produces them, counted as they come: rows, columns and cells
    are refused as soon as a limit is passed (quotes cannot hide cells from the count)."""
    text = _decode(name, data)
    if not text.strip():
        raise _Unreadable(f"{name} is empty", "start from the template, which has the header")
    if "\x00" in text:
        raise _Unreadable(f"{name} contains NUL bytes: it is not a text CSV file")
    first = _first_line(text)
    sep = ";" if first.count(";") > first.count(",") else ","
    if sep == ";":
        notes.append(f"{name}: ';' separators detected and read (decimal points must be dots)")
    _check_size(name, text, sep)
    lines: list[tuple[str, ...]] = []
    cells = 0
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    try:
        for row in reader:
            if not lines and len(row) > MAX_COLUMNS:
                raise _Unreadable(
                    f"{name} has {fmt.count(len(row))} columns, more than {fmt.count(MAX_COLUMNS)}",
                    "keep the template's columns",
                )
            if len(lines) > MAX_ROWS:
                raise _Unreadable(f"{name} has more than {fmt.count(MAX_ROWS)} rows")
            cells += len(row)
            if cells > MAX_CELLS:
                raise _too_many_cells(name, MAX_CELLS)
            lines.append(tuple(row))
    except csv.Error as exc:
        raise _Unreadable(f"{name} is not valid CSV ({exc}, line {reader.line_num})") from None
    return RawTable(name, lines[0], tuple(lines[1:]))


# ---------------------------------------------------------------- xlsx


def _check_zip(name: str, data: bytes) -> zipfile.ZipFile:
    if not data.startswith(b"PK\x03\x04"):
        raise _Unreadable(
            f"{name} is not an Excel .xlsx file (it is not a zip archive)",
            "save it from your spreadsheet program as Excel Workbook (.xlsx)",
        )
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _Unreadable(f"{name} is a damaged .xlsx file ({exc})") from None
    total = sum(i.file_size for i in infos)
    packed = max(sum(i.compress_size for i in infos), 1)
    if len(infos) > 1000 or total > MAX_XLSX_UNCOMPRESSED or total / packed > MAX_XLSX_RATIO:
        raise _Unreadable(
            f"{name} unpacks to {fmt.count(total)} bytes from {fmt.count(len(data))} (ratio "
            f"{fmt.whole(total / packed)}); "
            "refused as a possible zip bomb",
            "save the data as CSV, or remove embedded content",
        )
    return zf


class _Over(Exception):
    """Internal: an element count passed its cap while streaming."""


def _count_elements(stream: IO[bytes], caps: dict[str, int]) -> dict[str, int]:
    """Start tags per local name in an XML stream, for the names in ``caps``; raises
    :class:`_Over` as soon as one passes its cap (nothing is kept but the counts)."""
    counts = dict.fromkeys(caps, 0)

    def start(tag: str, _attrs: object) -> None:
        local = tag.rpartition(":")[2]
        if local in counts:
            counts[local] += 1
            if counts[local] > caps[local]:
                raise _Over(local)

    parser = xml.parsers.expat.ParserCreate()
    parser.StartElementHandler = start
    parser.ParseFile(stream)
    return counts


def _check_xlsx_tables(name: str, zf: zipfile.ZipFile) -> None:
    """Refuse styles tables and shared strings too large to load, counted by streaming the
    XML (a small compressed member can hold millions of formats or strings)."""
    caps = dict.fromkeys(_STYLE_ELEMENTS, MAX_XLSX_STYLES) | {"si": MAX_XLSX_STRINGS}
    for info in zf.infolist():
        lower = info.filename.lower()
        if not lower.endswith(".xml") or "/worksheets/" in lower:
            continue
        try:
            with zf.open(info) as member:
                _count_elements(member, caps)
        except _Over as over:
            what = "shared strings" if str(over) == "si" else f"style entries ({over})"
            cap = caps[str(over)]
            raise _Unreadable(
                f"{name} holds more than {fmt.count(cap)} {what} in {info.filename}",
                "save the data as CSV, or copy the cells into a new workbook",
            ) from None
        except (xml.parsers.expat.ExpatError, zipfile.BadZipFile, OSError, ValueError) as exc:
            raise _Unreadable(f"{name}: {info.filename} is damaged ({exc})") from None


def _sheet_key(title: str) -> str:
    """A sheet name as compared: case, surrounding spaces and Unicode forms ignored."""
    import unicodedata

    return unicodedata.normalize("NFKC", title).strip().casefold()


def _wanted_sheets(name: str, titles: list[str]) -> dict[str, str]:
    """Table name -> sheet title; two sheets that both name a table are an error."""
    by_key: dict[str, list[str]] = {}
    for t in titles:
        by_key.setdefault(_sheet_key(t), []).append(t)
    for table in TABLES:
        if len(by_key.get(table, [])) > 1:
            raise _Unreadable(
                f"{name} has {len(by_key[table])} sheets named like {table!r} "
                f"({', '.join(map(repr, by_key[table]))}); it is not clear which one to read",
                "keep one sheet of each name",
            )
    wanted = {t: by_key[t][0] for t in TABLES if t in by_key}
    stem = PurePath(name).stem.lower()
    if not wanted and len(titles) == 1 and stem in TABLES:
        wanted = {stem: titles[0]}
    if not wanted:
        raise _Unreadable(
            f"{name} has sheet(s) {', '.join(map(repr, titles))}, "
            "but none named 'studies' or 'outcomes'",
            "name the sheets 'studies' and 'outcomes' (as in the template)",
        )
    return wanted


def _sheet_rows(label: str, ws: ReadOnlyWorksheet) -> Iterator[tuple[int, dict[int, object]]]:
    """(spreadsheet row, column -> value) for each stored row of a read-only sheet.

    Cells openpyxl cannot decode (a shared string out of range, text in a numeric cell, a
    garbage date, a bad cell reference) and formulas without a saved value become
    :class:`CellIssue` s in place; only XML so damaged that rows cannot be found stops the sheet.
    """
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    class Parser(WorkSheetParser):
        col_counter: int  # openpyxl's own attributes, declared for the type checker
        row_counter: int

        def parse_row(self, row: Element) -> tuple[int, list[dict[str, object]]]:
            try:
                return super().parse_row(row)
            except (ValueError, TypeError, OverflowError):  # the row's own number
                row.attrib.pop("r", None)
                return super().parse_row(row)

        def parse_cell(self, element: Element) -> dict[str, object]:
            before = self.col_counter
            try:
                cell: dict[str, object] = super().parse_cell(element)
            except Exception as exc:  # openpyxl raises several types per cell
                ref = element.get("r")
                try:
                    self.col_counter = coordinate_to_tuple(ref)[1]
                except Exception:  # no reference, or one that is not a cell's
                    self.col_counter = before + 1
                cell = {"row": self.row_counter, "column": self.col_counter}
                cell["value"] = CellIssue(
                    f"cell {str(ref)[:20]!r} could not be decoded ({type(exc).__name__})"
                    if ref
                    else f"the cell could not be decoded ({type(exc).__name__})"
                )
                return cell
            if element.find(FORMULA_TAG) is not None and element.findtext(VALUE_TAG) is None:
                cell["value"] = CellIssue(
                    "the cell holds a formula with no saved value",
                    "open and save the file in a spreadsheet program, or type the value",
                )
            return cell

    wb = ws.parent
    with ws._get_source() as src:
        parser = Parser(
            src,
            ws._shared_strings,
            data_only=True,
            epoch=wb.epoch,
            date_formats=wb._date_formats,
            timedelta_formats=wb._timedelta_formats,
        )
        for idx, cells in parser.parse():
            if idx > MAX_ROWS + 1:
                raise _Unreadable(f"{label} has more than {fmt.count(MAX_ROWS)} rows")
            values: dict[int, object] = {}
            for c in cells:
                column = c["column"]
                if not isinstance(column, int) or not 0 < column <= MAX_COLUMNS:
                    raise _Unreadable(
                        f"{label} has more than {fmt.count(MAX_COLUMNS)} columns (row {idx} has a "
                        "cell "
                        f"in column {fmt.count(column)})",
                        "keep the template's columns and clear cells far right of the data",
                    )
                values[column] = c["value"]
            yield idx, values


def _read_sheet(name: str, title: str, ws: object) -> RawTable:
    label = f"{name} [{title}]"
    rows: list[tuple[object, ...]] = []
    cells = 0
    for idx, values in _sheet_rows(label, ws):
        width = max(values, default=0)
        cells += width
        if cells > MAX_CELLS:
            raise _too_many_cells(label, MAX_CELLS)
        while len(rows) < idx - 1:  # rows the file does not store are empty
            rows.append(())
        row = tuple("" if values.get(i) is None else values[i] for i in range(1, width + 1))
        if len(rows) == idx - 1:
            rows.append(row)
    while rows and all(v == "" for v in rows[-1]):
        rows.pop()
    if not rows:
        raise _Unreadable(f"sheet {title!r} in {name} is empty", "paste the header row")
    header = [str(v) for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    body = [r[:width] if all(v == "" for v in r[width:]) else r for r in rows[1:]]
    body = [r + ("",) * (width - len(r)) for r in body]  # rows end at their last cell
    return RawTable(label, tuple(header), tuple(body))


def _read_xlsx(name: str, data: bytes) -> dict[str, RawTable]:
    with _check_zip(name, data) as zf:
        _check_xlsx_tables(name, zf)
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise _Unreadable(f"{name} could not be opened as an Excel workbook ({exc})") from None
    try:
        wanted = _wanted_sheets(name, [ws.title for ws in wb.worksheets])
        out = {}
        for table, title in wanted.items():
            label = f"{name} [{title}]"
            try:
                out[table] = _read_sheet(name, title, wb[title])
            except _Unreadable:
                raise
            except Exception as exc:  # XML too damaged to find rows
                raise _Unreadable(f"{label} could not be read ({exc})") from None
        return out
    finally:
        wb.close()


# ---------------------------------------------------------------- Parquet


def _plain(t: pa.DataType) -> pa.DataType:
    """The value type of a dictionary type, else the type itself."""
    import pyarrow as pa

    return t.value_type if pa.types.is_dictionary(t) else t


def _is_text(t: pa.DataType) -> bool:
    import pyarrow as pa

    t = _plain(t)
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_binary(t: pa.DataType) -> bool:
    import pyarrow as pa

    kinds, t = pa.types, _plain(t)
    return bool(kinds.is_binary(t) or kinds.is_large_binary(t) or kinds.is_fixed_size_binary(t))


def _decoded_bytes(column: pa.ChunkedArray) -> int:
    """Bytes a column takes once dictionary-encoded text is decoded."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            lengths = pc.binary_length(chunk.dictionary)
            total += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
        else:
            total += chunk.nbytes
    return total


def _bomb(name: str, size: int, data: bytes) -> _Unreadable:
    return _Unreadable(
        f"{name} unpacks to more than {fmt.count(size)} bytes from {fmt.count(len(data))}; refused "
        "as a possible "
        "decompression bomb",
        "save the data as CSV",
    )


def _cells(values: pa.ChunkedArray) -> list[object]:
    """Python values of one column; text and binary cells decoded as UTF-8, a cell that is
    not valid UTF-8 becoming a CellIssue that names its byte."""
    import pyarrow as pa

    kind = _plain(values.type)
    if not (_is_text(kind) or _is_binary(kind)):
        return values.to_pylist()
    if pa.types.is_dictionary(values.type):
        values = values.cast(kind)
    if _is_text(kind):  # cast to bytes without validation: bad UTF-8 is reported per cell
        values = values.cast(pa.large_binary())
    out: list[object] = []
    for raw in values.to_pylist():
        if raw is None:
            out.append(None)
            continue
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            out.append(
                CellIssue(
                    f"the text is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at position "
                    f"{exc.start})",
                    "save the text as UTF-8",
                )
            )
    return out


# Thrift's compact protocol, the encoding of Parquet page headers: the value types.
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(
    13
)
_INTS = frozenset({_I16, _I32, _I64})
#: Page types whose header carries a row count (DATA_PAGE, DATA_PAGE_V2).
_DATA_PAGE, _DATA_PAGE_V2 = 0, 3
_THRIFT_DEPTH = 16


class _Malformed(ValueError):
    """A page header that cannot be parsed, or runs past its column chunk."""


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position) of an unsigned varint."""
    out = shift = 0
    while pos < end and shift < 64:
        b = data[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if b < 0x80:
            return out, pos
        shift += 7
    raise _Malformed("a page header holds a malformed number or runs past its column chunk")


def _skip(data: bytes, pos: int, end: int, kind: int, depth: int, element: bool) -> int:
    """The position after one value of type ``kind``; ``element``: in a list or map, where a
    bool takes a byte (in a field header it takes none)."""
    if kind in _INTS:
        return _varint(data, pos, end)[1]
    if kind == _BINARY:
        n, pos = _varint(data, pos, end)
        pos += n
    elif kind in (_TRUE, _FALSE, _BYTE):
        pos += 1 if element or kind == _BYTE else 0
    elif kind == _DOUBLE:
        pos += 8
    elif kind == _STRUCT:
        return _struct(data, pos, end, depth + 1, None)
    elif kind in (_LIST, _SET):
        if pos >= end:
            raise _Malformed("a page header runs past its column chunk")
        head = data[pos]
        pos += 1
        size = head >> 4
        if size == 15:
            size, pos = _varint(data, pos, end)
        for _ in range(size):  # every element takes at least a byte: bounded by the bytes
            pos = _skip(data, pos, end, head & 0x0F, depth + 1, True)
    elif kind == _MAP:
        size, pos = _varint(data, pos, end)
        if size:
            if pos >= end:
                raise _Malformed("a page header runs past its column chunk")
            kinds = data[pos]
            pos += 1
            for _ in range(size):
                pos = _skip(data, pos, end, kinds >> 4, depth + 1, True)
                pos = _skip(data, pos, end, kinds & 0x0F, depth + 1, True)
    else:
        raise _Malformed(f"a page header holds an unknown value type {kind}")
    if pos > end:
        raise _Malformed("a page header runs past its column chunk")
    return pos


def _struct(data: bytes, pos: int, end: int, depth: int, out: dict[int, object] | None) -> int:
    """The position after one struct; its integer fields (and, when ``out`` is given, its
    nested structs' integer fields) go into ``out`` by field id."""
    if depth > _THRIFT_DEPTH:
        raise _Malformed("a page header is nested too deeply")
    field = 0
    while pos < end:
        head = data[pos]
        pos += 1
        kind = head & 0x0F
        if kind == _STOP:
            return pos
        if head >> 4:
            field += head >> 4
        else:
            z, pos = _varint(data, pos, end)
            field = (z >> 1) ^ -(z & 1)
        if out is not None and kind in _INTS:
            z, pos = _varint(data, pos, end)
            out[field] = (z >> 1) ^ -(z & 1)
        elif out is not None and kind == _STRUCT and depth == 0:
            inner: dict[int, object] = {}
            pos = _struct(data, pos, end, depth + 1, inner)
            out[field] = inner
        else:
            pos = _skip(data, pos, end, kind, depth, False)
    raise _Malformed("a page header runs past its column chunk")


def _page_rows(data: bytes, start: int, length: int) -> int:
    """Rows held by the data pages of one flat column chunk, ``data[start:start + length]``,
    as their own headers count them: pyarrow reads no more rows than the footer states, so
    a footer that understates them would cut the table short without a word."""
    end = start + length
    if start < 4 or length < 0 or end > len(data):
        raise _Malformed("a column chunk lies outside the file")
    rows, pos = 0, start
    while pos < end:
        header: dict[int, object] = {}
        pos = _struct(data, pos, end, 0, header)
        kind, size = header.get(1), header.get(3)  # PageHeader.type, compressed_page_size
        if not isinstance(kind, int) or not isinstance(size, int) or size < 0:
            raise _Malformed("a page header has no type or size")
        if kind in (_DATA_PAGE, _DATA_PAGE_V2):
            # DataPageHeader.num_values (a flat column has one value or null per row) or
            # DataPageHeaderV2.num_rows
            body = header.get(5 if kind == _DATA_PAGE else 8)
            count = body.get(1 if kind == _DATA_PAGE else 3) if isinstance(body, dict) else None
            if not isinstance(count, int) or count < 0:
                raise _Malformed("a data page header has no row count")
            rows += count
        pos += size
    if pos != end:
        raise _Malformed("a page runs past its column chunk")
    return rows


def _rows_held(name: str, data: bytes, meta: pq.FileMetaData) -> int:
    """Rows the file's data pages hold, counted from their headers before anything is
    decoded; the row limit holds on this count, and a footer that states another count
    refuses the file (reading it would drop or invent rows)."""
    total = 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        held = []
        for j in range(group.num_columns):
            col = group.column(j)
            start = col.data_page_offset
            if col.has_dictionary_page and 0 < col.dictionary_page_offset < start:
                start = col.dictionary_page_offset
            held.append(_page_rows(data, start, col.total_compressed_size))
        total += max(held, default=0)
        if total > MAX_ROWS or total * group.num_columns > MAX_CELLS:
            raise _Unreadable(
                f"{name} holds more than {fmt.count(MAX_ROWS)} rows or {fmt.count(MAX_CELLS)} "
                "cells (its footer "
                f"says {fmt.count(meta.num_rows)} rows)"
            )
        if any(h != group.num_rows for h in held):
            raise _Unreadable(
                f"{name}: its data pages hold {fmt.count(max(held))} rows where its footer states "
                f"{fmt.count(group.num_rows)} (row group {g + 1}); the file is damaged or was "
                "altered, "
                "and reading it would leave rows out",
                "save the file again from the program that made it, or save the data as CSV",
            )
    return total


def _read_parquet(name: str, data: bytes, problems: list[Problem]) -> RawTable:
    """Row groups one at a time, one column at a time: each column's decoded size is bounded
    by its metadata before it is read and checked again once read, with running totals of
    rows and bytes (a footer's row count is not trusted)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        meta, schema = pf.metadata, pf.schema_arrow
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise _Unreadable(f"{name} could not be read as Parquet ({exc})") from None
    if meta.num_rows > MAX_ROWS:
        raise _Unreadable(
            f"{name} has {fmt.count(meta.num_rows)} rows, more than {fmt.count(MAX_ROWS)}"
        )
    if meta.num_columns > MAX_COLUMNS:
        raise _Unreadable(
            f"{name} has {fmt.count(meta.num_columns)} columns, more than {fmt.count(MAX_COLUMNS)}",
            "keep the template's columns",
        )
    nested = [f.name for f in schema if pa.types.is_nested(f.type)]
    if nested:
        raise _Unreadable(
            f"{name}: column(s) {', '.join(map(repr, nested[:5]))} hold lists or records, "
            "not plain values",
            "save one plain value per cell (as in the template)",
        )
    try:
        _rows_held(name, data, meta)
    except _Malformed as exc:
        raise _Unreadable(f"{name} could not be read as Parquet ({exc})") from None
    names = list(schema.names)
    for f in schema:
        if _is_binary(f.type):
            problems.append(
                Problem(
                    name,
                    None,
                    f.name,
                    f"column {f.name!r} is stored as binary data; its cells are read as UTF-8 text",
                    "store the column as text (string)",
                    "warning",
                )
            )
    # Text stays dictionary-encoded until its decoded size is known: a few kB of Parquet can
    # repeat one long text in every row (gigabytes once decoded).
    texts = [f.name for f in schema if _is_text(f.type) or _is_binary(f.type)]
    columns: list[list[object]] = [[] for _ in names]
    rows = size = 0
    try:
        pf = pq.ParquetFile(io.BytesIO(data), read_dictionary=texts)
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for j in range(group.num_columns):
                size += max(group.column(j).total_uncompressed_size, 0)
            fixed = [
                _plain(f.type).byte_width
                for f in schema
                if pa.types.is_fixed_size_binary(_plain(f.type))
            ]
            size += sum(fixed) * group.num_rows
            if size > MAX_DECODED_BYTES:
                raise _bomb(name, MAX_DECODED_BYTES, data)
            read = 0
            for j, column in enumerate(names):
                part = pf.read_row_group(g, columns=[column])
                if part.num_columns != 1:
                    raise _Unreadable(f"{name}: column {column!r} could not be read on its own")
                read = max(read, part.num_rows)
                if rows + read > MAX_ROWS or (rows + read) * len(names) > MAX_CELLS:
                    raise _Unreadable(
                        f"{name} holds more than {fmt.count(MAX_ROWS)} rows or "
                        f"{fmt.count(MAX_CELLS)} cells "
                        f"(its footer says {fmt.count(meta.num_rows)} rows)"
                    )
                size += _decoded_bytes(part.column(0))
                if size > MAX_DECODED_BYTES:
                    raise _bomb(name, MAX_DECODED_BYTES, data)
                columns[j] += _cells(part.column(0))
            rows += read
    except _Unreadable:
        raise
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise _Unreadable(f"{name} could not be read as Parquet ({exc})") from None
    if len({len(c) for c in columns}) > 1 or rows != meta.num_rows:
        raise _Unreadable(
            f"{name}: its columns hold different numbers of rows, or not the "
            f"{fmt.count(meta.num_rows)} "
            "its footer states; the file is damaged"
        )
    body = tuple(tuple("" if v is None else v for v in r) for r in zip(*columns, strict=True))
    return RawTable(name, tuple(names), body)


# ---------------------------------------------------------------- files


def _table_of(name: str, header: tuple[str, ...]) -> str:
    stem = PurePath(name).stem.lower()
    if "outcome" in stem:
        return "outcomes"
    if "stud" in stem:
        return "studies"
    return "outcomes" if "kind" in header else "studies"


FileKind = Literal["csv", "xlsx", "parquet"]
_EXTENSIONS: dict[str, FileKind] = {
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def _read_one(
    name: str, data: bytes, problems: list[Problem], notes: list[str]
) -> dict[str, RawTable]:
    ext = PurePath(name).suffix.lower()
    if (big := too_large(name, data)) is not None:
        raise _Unreadable(big)
    if not data:
        raise _Unreadable(f"{name} is empty", "start from the template")
    kind = _EXTENSIONS.get(ext)
    if kind == "xlsx":
        return _read_xlsx(name, data)
    if kind == "csv":
        raw = _read_csv(name, data, notes)
    elif kind == "parquet":
        raw = _read_parquet(name, data, problems)
    else:
        raise _Unreadable(
            f"{name}: file type '{ext or 'none'}' is not supported", "use .csv, .xlsx or .parquet"
        )
    return {_table_of(name, raw.header): raw}


def read_files(
    files: dict[str, bytes], problems: list[Problem], notes: list[str]
) -> tuple[dict[str, RawTable], bool]:
    """Read each file into raw tables by table name; returns (tables, all files readable).

    Never raises for a file's content: whatever goes wrong becomes a file-level problem."""
    tables: dict[str, RawTable] = {}
    readable = True
    for name, data in files.items():
        try:
            found = _read_one(name, data, problems, notes)
        except _Unreadable as exc:
            problems.append(Problem(name, None, None, exc.message, exc.fix))
            readable = False
            continue
        except (MemoryError, RecursionError, ValueError, OSError, LookupError) as exc:
            problems.append(
                Problem(name, None, None, f"{name} could not be read ({type(exc).__name__})")
            )
            readable = False
            continue
        for table, raw in found.items():
            if table in tables:
                problems.append(
                    Problem(
                        name,
                        None,
                        None,
                        f"a second {table} table was given ({raw.file})",
                        "give one studies and one outcomes table",
                    )
                )
                readable = False
            else:
                tables[table] = raw
    return tables, readable


def recode_outcomes(raw: RawTable, codes: Mapping[str, str]) -> RawTable:
    """``raw`` (an outcomes table) with its ``outcome`` codes mapped to the analysis's slots
    (``codes``: a description's ``TB`` -> ``OS``); a code the description does not name
    becomes a cell problem of its row, never a silent guess."""
    names = [h.strip() for h in raw.header]
    if "outcome" not in names:
        return raw
    at = names.index("outcome")
    known = ", ".join(codes)

    def cell(v: object) -> object:
        s = v.strip() if isinstance(v, str) else v
        if s is None or s == "" or isinstance(v, CellIssue):
            return v
        if isinstance(s, str) and s in codes:
            return codes[s]
        return CellIssue(
            f"{str(s)[:60]!r} is not one of the description's outcome codes ({known})",
            "use one of those codes, or add the outcome to description.json",
        )

    rows = tuple(
        tuple(cell(v) if i == at else v for i, v in enumerate(r)) if len(r) > at else r
        for r in raw.rows
    )
    return RawTable(raw.file, raw.header, rows)


def validate_files(
    files: dict[str, bytes],
    codes: Mapping[str, str] | None = None,
    keep: tuple[str, ...] = (),
) -> ValidationReport:
    """Read and validate uploaded files (name -> bytes): CSV, .xlsx or Parquet.

    A .xlsx holds sheets named ``studies`` and ``outcomes`` (or one sheet, in a file named
    studies.xlsx or outcomes.xlsx); CSV and Parquet hold one table each, told apart by the
    file name (``studies``/``outcomes`` in it) or else by a ``kind`` column. ``codes``: a
    description's outcome codes -> slots (:func:`recode_outcomes`); ``keep``: studies
    columns beyond the layout kept as text (a description's own filter columns).
    """
    problems = Problems()
    notes: list[str] = []
    tables, readable = read_files(files, problems, notes)
    if codes is not None and "outcomes" in tables:
        tables["outcomes"] = recode_outcomes(tables["outcomes"], codes)
    return validate_tables(tables, problems, notes, readable, keep)


def read_csv_table(name: str, data: bytes) -> RawTable:
    """One small CSV table (e.g. digitised curve points), with the upload limits on size,
    rows and cells; raises ValueError with one plain line (what is wrong, and the fix)."""
    if (big := too_large(name, data)) is not None:
        raise ValueError(big)
    try:
        return _read_csv(name, data, [])
    except _Unreadable as exc:
        raise ValueError(f"{exc.message}: {exc.fix}" if exc.fix else exc.message) from None
