"""Tidy results: each one-row result type has ``summary_row()`` (one record, in metafor's
names) and ``summary_frame()`` (statsmodels style) built from that record, so that a table, a
JSON document and a chart read the same values. Code that needs one fit's values reads the
record: a one-row DataFrame costs ~0.3 ms to build, and one toggle re-reads dozens of fits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def one_row_frame(row: Mapping[str, Any], index: str | None = None) -> pd.DataFrame:
    """``row`` as a one-row frame, its ``index`` field (when given) as the named index."""
    if index is None:
        return pd.DataFrame([row])
    rest = {c: v for c, v in row.items() if c != index}
    return pd.DataFrame([rest], index=pd.Index([row[index]], name=index))
