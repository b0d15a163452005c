"""Table export: CSV guarded for spreadsheets (figure exports: ``core.report.figures``)."""

from __future__ import annotations

import pandas as pd

from core.data.schema import guard_text

__all__ = ["frame_to_csv"]


def frame_to_csv(df: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV bytes, text cells guarded against spreadsheet formula injection.

    Every text cell (string or object columns) that starts with = + - @ tab or CR gets a leading
    apostrophe (``core.data.schema.guard_text``); numeric, boolean and missing cells are untouched.
    """
    out = df.copy()
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            continue
        if isinstance(col.dtype, pd.StringDtype) or col.dtype == object:
            out[c] = col.map(guard_text, na_action="ignore")
    # CRLF rows (RFC 4180): the csv writer then also quotes cells holding a bare CR
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")
