"""Views as plain JSON-ready values: dataclasses, arrays and frames to dicts and lists."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def records(frame: pd.DataFrame | None) -> list[dict[str, object]] | None:
    """One dict per row, every value a Python scalar (full float precision)."""
    if frame is None:
        return None
    cols = list(frame.columns)
    return [
        {str(c): plain(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def plain(value: object) -> object:
    """``value`` with dataclasses as dicts, arrays as lists, numpy scalars as Python ones
    and NaN or infinite floats as None (valid JSON)."""
    if isinstance(value, pd.DataFrame):
        return records(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


#: The JSON's names for ``summary_frame`` columns named as metafor prints them (the command
#: line's JSON keeps the names it has always had).
JSON_NAMES = {"zval": "stat", "tval": "stat", "pval": "pvalue", "q_pval": "q_pvalue"}


def fit_json(row: Mapping[str, Any]) -> dict[str, object]:
    """A result's ``summary_row()`` as JSON-ready values under :data:`JSON_NAMES`."""
    return {JSON_NAMES.get(c, c): plain(v) for c, v in row.items()}
