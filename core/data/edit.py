"""Edits made in the app: the studies and outcomes tables as the user changed them, checked by
the schema that checks uploads, plus one rule of this app's own: every new number says where
it was read. (Changed rows keep the source cells they had: the page asks the user to check
them.)

A row of the edited tables is *new* when no row of the data it was edited from holds the same
values (an added row, or a row with any value changed); a new outcome row needs a source link
(``source_url``) and the place in the source (``note``: "Table 2", "Fig. 3 at 24 months"), a new
study row a source link (``source_urls``). Problems carry the editor's row numbers (the first
row is row 1). Nothing is used unless the whole edit passes: the caller keeps its data
otherwise.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

import pandas as pd

from core.data.dataset import Dataset, neutral_for, outcomes_in_codes
from core.data.description import own_columns, slot_map
from core.data.readers import recode_outcomes
from core.data.schema import TABLES, Problem, RawTable, validate_tables

#: The column each table's new rows must fill to say where their numbers were read, with what
#: it asks for.
WHERE_READ: dict[str, tuple[tuple[str, str], ...]] = {
    "studies": (("source_urls", "a source link (DOI, PubMed or the publisher's page)"),),
    "outcomes": (
        ("source_url", "a source link (DOI, PubMed or the publisher's page)"),
        ("note", "where in the source the numbers were read (e.g. 'Table 2')"),
    ),
}
EDITOR = "{table} (editor)"


@dataclass(frozen=True, eq=False)
class EditCheck:
    """The check of an edit: the dataset to use (None unless every row passes), every problem
    with the editor's row numbers, and what changed."""

    dataset: Dataset | None
    problems: tuple[Problem, ...]
    added: int
    changed: int
    deleted: int

    @property
    def edited(self) -> bool:
        return bool(self.added or self.changed or self.deleted)

    @property
    def summary(self) -> str:
        parts = [
            f"{n} row{'s' if n != 1 else ''} {what}"
            for n, what in (
                (self.changed, "changed"),
                (self.added, "added"),
                (self.deleted, "deleted"),
            )
            if n
        ]
        return ", ".join(parts) if parts else "no changes"


def _cell(v: object) -> object:
    """A cell as the readers give it: text, int or float; an empty cell as ''."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    if hasattr(v, "item"):  # numpy scalars
        v = v.item()
    return v if isinstance(v, (int, float, str)) else str(v)


def raw_table(table: str, frame: pd.DataFrame) -> RawTable:
    """A table from the editor as the schema reads files: header and rows of plain cells."""
    rows = tuple(tuple(_cell(v) for v in row) for row in frame.itertuples(index=False))
    return RawTable(EDITOR.format(table=table), tuple(map(str, frame.columns)), rows)


def _keys(frame: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(_cell(v) for v in row) for row in frame.itertuples(index=False)]


def _where_read(table: str, frame: pd.DataFrame, new_rows: list[int]) -> list[Problem]:
    problems = []
    for i in new_rows:
        for column, asks in WHERE_READ[table]:
            if column in frame.columns and str(_cell(frame.iloc[i][column])).strip():
                continue
            problems.append(
                Problem(
                    EDITOR.format(table=table),
                    i + 1,
                    column,
                    f"a new or changed row needs {asks}",
                    f"fill {column}: every number says where it was read",
                )
            )
    return problems


def _editor_row(p: Problem) -> Problem:
    """The schema counts the header as row 1 (and says so in its messages); the editor's first
    row is row 1."""
    if p.row is None:
        return p
    said = f"row {p.row}"
    message = (
        f"row {p.row - 1}{p.message[len(said) :]}" if p.message.startswith(said) else p.message
    )
    return replace(p, row=p.row - 1, message=message)


def check_edits(base: Dataset, studies: pd.DataFrame, outcomes: pd.DataFrame) -> EditCheck:
    """Check the edited tables (``outcomes`` with the description's outcome codes, as
    :func:`core.data.dataset.outcomes_in_codes` gives them) against the schema and the
    where-read rule; a dataset only when no row has an error (an upload leaves such rows out;
    an edit is fixed in the editor instead, so nothing is dropped unseen). Warnings are
    listed and do not block."""
    frames = {"studies": studies, "outcomes": outcomes}
    originals = {"studies": base.studies, "outcomes": outcomes_in_codes(base)}
    problems: list[Problem] = []
    added = changed = deleted = 0
    own = own_columns(base.description)
    for table, frame in frames.items():
        names = [c.name for c in TABLES[table]] + (list(own) if table == "studies" else [])
        columns = [c for c in names if c in frame.columns]
        before = originals[table].reindex(columns=columns)
        old = _keys(before)
        remaining = list(old)
        new_rows = []
        for i, key in enumerate(_keys(frame.reindex(columns=columns))):
            if key in remaining:
                remaining.remove(key)
            else:
                new_rows.append(i)
        # Unmatched rows on both sides pair up as changed; the rest were added or deleted.
        paired = min(len(new_rows), len(remaining))
        changed += paired
        added += len(new_rows) - paired
        deleted += len(remaining) - paired
        problems += _where_read(table, frame, new_rows)
    raw = {t: raw_table(t, f) for t, f in frames.items()}
    if base.description.given:  # the editor shows the description's codes (TB): to slots
        raw["outcomes"] = recode_outcomes(raw["outcomes"], slot_map(base.description))
    report = validate_tables(raw, keep=own)
    problems = [*map(_editor_row, report.problems), *problems]
    dataset = None
    errors = [p for p in problems if p.severity == "error"]
    if not errors and report.studies is not None and report.outcomes is not None:
        # the edited data keep their description (neutral words follow the new time points)
        words = base.description if base.description.given else neutral_for(report.outcomes)
        dataset = Dataset(report.studies, report.outcomes, report, "edited in the app", words)
    return EditCheck(dataset, tuple(problems), added, changed, deleted)


def edit_key(dataset: Dataset) -> str:
    """A key for an edited dataset, from its content (as upload keys are)."""
    digest = hashlib.sha256()
    for frame in (dataset.studies, dataset.outcomes):
        digest.update(frame.to_csv(index=False).encode("utf-8"))
    return "edit:" + digest.hexdigest()[:16]
