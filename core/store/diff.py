"""Value-by-value differences between two versions of a dataset.

Rows are matched by their key in the schema: ``study_id`` for studies; study, outcome, kind
and time for outcomes (the key validation keeps unique). A row only in the new version is
``added``, only in the old one ``removed``; a matched row gives one ``changed`` entry per cell
whose value differs (missing equals missing; numbers compare exactly, as saved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandas as pd

from core.data.dataset import Dataset

KEYS: dict[str, tuple[str, ...]] = {
    "studies": ("study_id",),
    "outcomes": ("study_id", "outcome", "kind", "time_years"),
}

What = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: the table, the row's key shown as text, and for a changed cell its
    column with the old and new values (None for missing)."""

    table: str
    key: str
    what: What
    column: str | None = None
    old: object = None
    new: object = None


def _value(v: object) -> object:
    """A cell as a plain Python value; None for missing."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return None
    return v.item() if hasattr(v, "item") else v


def _shown(v: object) -> str:
    if v is None:
        return "-"
    return repr(v).removesuffix(".0") if isinstance(v, float) else str(v)


def _rows(df: pd.DataFrame, key: tuple[str, ...]) -> dict[str, dict[str, object]]:
    """Rows of ``df`` by their key text (``Yu2014`` or ``Yu2014 / OS / rate / 2``)."""
    out: dict[str, dict[str, object]] = {}
    for rec in df.to_dict("records"):
        row = {c: _value(v) for c, v in rec.items()}
        out[" / ".join(_shown(row[k]) for k in key)] = row
    return out


def _table_changes(table: str, old: pd.DataFrame, new: pd.DataFrame) -> list[Change]:
    a, b = _rows(old, KEYS[table]), _rows(new, KEYS[table])
    changes = [Change(table, k, "removed") for k in a if k not in b]
    for k, row in b.items():
        if k not in a:
            changes.append(Change(table, k, "added"))
            continue
        before = a[k]
        for col in dict.fromkeys([*before, *row]):
            x, y = before.get(col), row.get(col)
            if x != y:
                changes.append(Change(table, k, "changed", col, x, y))
    return changes


def diff(old: Dataset, new: Dataset) -> tuple[Change, ...]:
    """Every difference from ``old`` to ``new``: studies first, then outcomes."""
    return tuple(
        _table_changes("studies", old.studies, new.studies)
        + _table_changes("outcomes", old.outcomes, new.outcomes)
    )
