"""Loading the bundled evidence, users' uploads and the published meta-analysis's results.

Every table goes through the one schema in :mod:`core.data.schema`; the typed tables use pandas
nullable dtypes throughout (``string``, ``Int64``, ``Float64``), so a missing value is
``pd.NA`` in every column. A dataset carries its description (:mod:`core.data.description`):
a ``description.json`` among the files, else neutral words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

import pandas as pd

from core.data import description as desc
from core.data.description import Description
from core.data.readers import validate_files
from core.data.schema import Problem, ValidationReport

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@dataclass(frozen=True, eq=False)
class Dataset:
    """Studies and outcomes tables, the validation report they passed, where they came from
    and the dataset's words (its description, or neutral words)."""

    studies: pd.DataFrame
    outcomes: pd.DataFrame
    report: ValidationReport
    source: str
    description: Description = field(default_factory=desc.neutral)


def outcomes_in_codes(dataset: Dataset) -> pd.DataFrame:
    """The outcomes table with the description's outcome codes (``OS`` -> ``TB``), as the
    user's files hold them: what the editor shows and the downloads write, so that they load
    back with the description."""
    d = dataset.description
    to_code = {slot: code for code, slot in desc.slot_map(d).items()} if d.given else {}
    if all(k == v for k, v in to_code.items()):
        return dataset.outcomes
    out = dataset.outcomes.copy()
    col = out["outcome"]
    out["outcome"] = col.map(lambda v: to_code.get(v, v), na_action="ignore").astype(col.dtype)
    return out


def _is_description(name: str) -> bool:
    """A file named description.json (another .json is an unsupported table file)."""
    return PurePath(name).name.lower() == desc.FILE_NAME


def neutral_for(outcomes: pd.DataFrame) -> Description:
    """Neutral words for a dataset without a description, with its outcomes' time points."""
    times = {
        str(code): [float(t) for t in g["time_years"].dropna()]
        for code, g in outcomes.groupby("outcome", sort=False)
    }
    return desc.neutral(times)


def _dataset(
    files: dict[str, bytes], source: str, description: Description | None = None
) -> tuple[Dataset | None, ValidationReport]:
    """``description``: words already known (a saved version's, whose tables hold slots)."""
    json_files = [n for n in files if _is_description(n)]
    if json_files:
        tables = {n: b for n, b in files.items() if not _is_description(n)}
        problems: list[Problem] = []
        if len(json_files) > 1:
            problems.append(
                Problem(json_files[1], None, None, "a second description was given", "give one")
            )
        else:
            description, problems = desc.parse(files[json_files[0]], json_files[0])
        if description is None or problems:
            report = validate_files(tables)
            problems_all = (*problems, *report.problems)
            return None, replace(report, problems=problems_all, unreadable=True)
        report = validate_files(tables, desc.slot_map(description), desc.own_columns(description))
    else:
        extra = () if description is None else desc.own_columns(description)
        report = validate_files(files, keep=extra)
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
    words = description or neutral_for(report.outcomes)
    return Dataset(report.studies, report.outcomes, report, source, words), report


def load_files(
    files: dict[str, bytes], source: str = "upload", description: Description | None = None
) -> tuple[Dataset | None, ValidationReport]:
    """Validate and load a set of files (name -> bytes); None when a table cannot be read.

    A ``description.json`` among them is the dataset's description (its outcome codes are mapped to
    the analysis's slots); ``description`` gives the words of tables that already hold slots.
    With None the caller keeps its previous dataset; the report says why.
    """
    return _dataset(files, source, description)


def load_upload(name: str, data: bytes) -> tuple[Dataset | None, ValidationReport]:
    """One uploaded file: an .xlsx with sheets ``studies`` and ``outcomes``."""
    return _dataset({name: data}, f"upload: {name}")


def load_bundled() -> Dataset:
    """The project's bundled evidence in data/ (studies.csv, outcomes.csv, description.json)."""
    names = ("studies.csv", "outcomes.csv", desc.FILE_NAME)
    files = {n: (DATA_DIR / n).read_bytes() for n in names}
    ds, report = _dataset(files, "bundled evidence (data/studies.csv, data/outcomes.csv)")
    if ds is None:
        raise RuntimeError("the bundled data could not be read:\n" + report.text())
    return ds


def published() -> dict:
    """The published meta-analysis's pooled results (``published`` in data/description.json)."""
    data = json.loads((DATA_DIR / desc.FILE_NAME).read_text(encoding="utf-8"))
    return dict(data["published"])
