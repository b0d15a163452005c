"""Digitised Kaplan-Meier input as two small CSV tables: the curve points
(``arm,time_months,survival``; survival as a fraction or a percentage) and the numbers at risk
printed under the figure (``arm,time_months,n_at_risk``); arm is ``rt`` or ``ctl``.

Every cell must be a plain number: text is reported with its file and line, never read as
missing. Blank lines are skipped."""

from __future__ import annotations

import re

import numpy as np

from core.data.readers import read_csv_table
from core.data.schema import RawTable
from core.fmt import count
from core.stats.km import ARMS

CURVE_COLUMNS = ("arm", "time_months", "survival")
AT_RISK_COLUMNS = ("arm", "time_months", "n_at_risk")

Arrays = dict[str, tuple[np.ndarray, np.ndarray]]
#: The most patients at risk an arm may start with: the reconstruction holds one record per
#: patient, so this bounds its memory (8 MB an arm) before any is spent.
MAX_AT_RISK = 1_000_000
#: A plain decimal number in ASCII digits ("12", "0.85", "1e-3"): no other scripts' digits,
#: no "_" separators, no nan or inf, which Python's float() would all accept.
_PLAIN = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")


def _number(raw: RawTable, line: int, column: str, cell: object) -> float:
    text = str(cell).strip()
    value = float(text) if _PLAIN.fullmatch(text) else float("nan")
    if not abs(value) < float("inf"):  # NaN (not a plain number) or an overflow (1e400)
        shown = repr(text[:20]) if text else "empty"
        raise ValueError(f"{raw.file} line {line}: {column} is {shown}, not a number")
    if column == "n_at_risk" and value > MAX_AT_RISK:
        raise ValueError(
            f"{raw.file} line {line}: n_at_risk {text[:20]} is above {count(MAX_AT_RISK)} patients"
        )
    return value


def parse_table(raw: RawTable, columns: tuple[str, str, str]) -> Arrays:
    """arm -> (column 2, column 3) arrays of a table with ``columns`` (in any order; other
    columns are ignored); raises ValueError naming the file and line."""
    header = [h.strip().lower() for h in raw.header]
    missing = [c for c in columns if c not in header]
    if missing:
        raise ValueError(
            f"{raw.file}: no column {', '.join(missing)} (the columns are {','.join(columns)})"
        )
    at = [header.index(c) for c in columns]
    values: dict[str, list[tuple[float, float]]] = {}
    for i, row in enumerate(raw.rows):
        line = i + 2
        if all(not str(c).strip() for c in row):
            continue
        cells = [row[j] if j < len(row) else "" for j in at]
        arm = str(cells[0]).strip().lower()
        if arm not in ARMS:
            raise ValueError(
                f"{raw.file} line {line}: arm {str(cells[0]).strip()[:20]!r} is not rt or ctl"
            )
        values.setdefault(arm, []).append(
            (_number(raw, line, columns[1], cells[1]), _number(raw, line, columns[2], cells[2]))
        )
    if not values:
        raise ValueError(f"{raw.file}: no rows below the header")
    arrays = {arm: np.array(v) for arm, v in values.items()}
    return {arm: (a[:, 0], a[:, 1]) for arm, a in arrays.items()}


def read_digitised(curves: tuple[str, bytes], at_risk: tuple[str, bytes]) -> tuple[Arrays, Arrays]:
    """The curve and at-risk tables from (file name, CSV bytes); ValueError says why not."""
    return (
        parse_table(read_csv_table(*curves), CURVE_COLUMNS),
        parse_table(read_csv_table(*at_risk), AT_RISK_COLUMNS),
    )
