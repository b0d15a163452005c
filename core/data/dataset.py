"""Loading the bundled evidence, users' uploads and the published meta-analysis's results.

Every table goes through the one schema in :mod:`core.data.schema`; the typed tables use pandas
nullable dtypes throughout (``string``, ``Int64``, ``Float64``), so a missing value is
``pd.NA`` in every column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from core.data.readers import validate_files
from core.data.schema import Problem, ValidationReport

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Studies and outcomes tables, the validation report they passed, and where they came from."""

    studies: pd.DataFrame
    outcomes: pd.DataFrame
    report: ValidationReport
    source: str


def _dataset(files: dict[str, bytes], source: str) -> tuple[Dataset | None, ValidationReport]:
    report = validate_files(files)
    if report.unreadable:
        return None, report
    if report.studies is None or report.outcomes is None:
        missing = "studies" if report.studies is None else "outcomes"
        problem = Problem(
            ", ".join(files) or "upload",
            None,
            None,
            f"no {missing} table was given",
            "upload an .xlsx with sheets 'studies' and 'outcomes', or both files",
        )
        return None, replace(report, problems=(*report.problems, problem), unreadable=True)
    return Dataset(report.studies, report.outcomes, report, source), report


def load_files(
    files: dict[str, bytes], source: str = "upload"
) -> tuple[Dataset | None, ValidationReport]:
    """Validate and load a set of files (name -> bytes); None when a table cannot be read.

    With None the caller keeps its previous dataset; the report says why.
    """
    return _dataset(files, source)


def load_upload(name: str, data: bytes) -> tuple[Dataset | None, ValidationReport]:
    """One uploaded file: an .xlsx with sheets ``studies`` and ``outcomes``."""
    return _dataset({name: data}, f"upload: {name}")


def load_bundled() -> Dataset:
    """The project's bundled evidence in data/ (studies.csv and outcomes.csv)."""
    files = {n: (DATA_DIR / n).read_bytes() for n in ("studies.csv", "outcomes.csv")}
    ds, report = _dataset(files, "bundled evidence (data/studies.csv, data/outcomes.csv)")
    if ds is None:
        raise RuntimeError("the bundled data could not be read:\n" + report.text())
    return ds


def published() -> dict:
    """The published meta-analysis's pooled results (data/published.json)."""
    return json.loads((DATA_DIR / "published.json").read_text(encoding="utf-8"))
