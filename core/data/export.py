"""Table export: one writer for CSV, .xlsx and Parquet, text guarded for spreadsheets.

Every text cell (string or object columns) that a spreadsheet could run as a formula (starting
with = + - @ tab or CR) gets a leading apostrophe (:func:`core.data.schema.guard_text`) in every
format, since Parquet and .xlsx files are opened in spreadsheets too; numbers, booleans and
missing cells are untouched. Figure exports: ``core.report.figures``.
"""

from __future__ import annotations

import io
from typing import Literal

import pandas as pd

from core.data.schema import TABLES, guard_text, template_frame

Format = Literal["csv", "xlsx", "parquet"]


def _guarded(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell passed through ``guard_text``."""
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if isinstance(col.dtype, pd.StringDtype):
            out[c] = col.map(guard_text, na_action="ignore").astype("string")
        elif col.dtype == object:
            out[c] = col.map(guard_text, na_action="ignore")
    return out


def _xlsx(frames: dict[str, pd.DataFrame]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, df in frames.items():
        ws = wb.create_sheet(sheet)
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            ws.append([None if pd.isna(v) else v for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def write_tables(frames: dict[str, pd.DataFrame], fmt: Format) -> bytes:
    """Guarded bytes of one table (CSV, Parquet) or of named sheets (.xlsx).

    CSV is UTF-8 with CRLF rows (RFC 4180; the csv writer then also quotes cells holding a bare
    CR); Parquet keeps the column types."""
    guarded = {name: _guarded(df) for name, df in frames.items()}
    if fmt == "xlsx":
        return _xlsx(guarded)
    if len(guarded) != 1:
        raise ValueError(f"{fmt} holds one table, not {len(guarded)}")
    (df,) = guarded.values()
    if fmt == "csv":
        return df.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def export_csv(df: pd.DataFrame) -> bytes:
    """A table as guarded UTF-8 CSV bytes."""
    return write_tables({"table": df}, "csv")


def export_parquet(df: pd.DataFrame) -> bytes:
    """A table as guarded, typed Parquet bytes."""
    return write_tables({"table": df}, "parquet")


def template_csv(table: str) -> bytes:
    """CSV bytes of the template for ``studies`` or ``outcomes``."""
    return export_csv(template_frame(table))


def template_xlsx() -> bytes:
    """An .xlsx with sheets ``studies`` and ``outcomes``: header plus one example row each."""
    return write_tables({t: template_frame(t) for t in TABLES}, "xlsx")
