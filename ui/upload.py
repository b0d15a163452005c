"""Loading a user's files: the pure part of the upload flow (no Streamlit here).

``handle_upload`` turns uploaded (name, bytes) pairs into an :class:`UploadResult`: the dataset
and its session key when the data load, else None with the report saying why. It never raises:
whatever arrives, the caller gets a report it can show, and keeps its previous dataset when
nothing loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core import fmt
from core.data import project
from core.data.dataset import Dataset, load_files
from core.data.schema import MAX_FILE_BYTES, Problem, ValidationReport
from core.state.view import ViewState
from ui.markup import md

#: tables, a description beside them (.json) and project files (.zip)
UPLOAD_TYPES = ("csv", "xlsx", "parquet", "json", "zip")
REPORT_COLUMNS = ("Severity", "File", "Row", "Column", "Problem", "Fix")


@dataclass(frozen=True, eq=False)
class UploadResult:
    """One upload attempt: the dataset and its key when it loaded, and the report either way."""

    names: tuple[str, ...]
    key: str | None
    dataset: Dataset | None
    report: ValidationReport
    #: a project file's view (and the notices from reading it), to open with its data
    state: ViewState | None = None
    notices: tuple[str, ...] = ()

    @property
    def loaded(self) -> bool:
        return self.dataset is not None

    @property
    def label(self) -> str:
        return ", ".join(self.names)


def keep_uploads_in_memory(limit_mb: int) -> None:
    """Make the web server hold an upload of up to ``limit_mb`` MB in memory while it parses
    the request: Starlette's form parser spools any part over 1 MB to a temporary file (in
    the system temp folder), which would write the user's data to disk."""
    from starlette.formparsers import MultiPartParser

    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, (limit_mb + 1) << 20)


def dataset_key(files: Sequence[tuple[str, bytes]]) -> str:
    """``upload:`` + the first 16 hex digits of the SHA-256 of the files (names and bytes).

    The names count too: they decide which table a CSV or Parquet file holds.
    """
    digest = hashlib.sha256()
    for name, data in files:
        digest.update(name.encode("utf-8") + b"\0" + len(data).to_bytes(8, "big"))
        digest.update(data)
    return "upload:" + digest.hexdigest()[:16]


def _failed(names: tuple[str, ...], problems: list[Problem]) -> UploadResult:
    report = ValidationReport(tuple(problems), None, None, unreadable=True)
    return UploadResult(names, None, None, report)


def _size(n: int) -> str:
    return fmt.megabytes(n)


def handle_upload(files: Sequence[tuple[str, bytes]]) -> UploadResult:
    """Validate and load uploaded files; never raises.

    Files over the size limit are refused before they are parsed. A readable upload whose
    studies table ends up with no rows does not load (nothing would be left to explore).
    """
    names = tuple(name for name, _ in files)
    if not files:
        problem = Problem("upload", None, None, "no file was given", "choose one or two files")
        return _failed(names, [problem])
    too_big = [
        Problem(
            name,
            None,
            None,
            f"{name} is {_size(len(data))}, over the {_size(MAX_FILE_BYTES)} limit per file",
            "split the data or drop unused columns",
        )
        for name, data in files
        if len(data) > MAX_FILE_BYTES
    ]
    if too_big:
        return _failed(names, too_big)
    if any(name.lower().endswith(project.SUFFIX) for name, _ in files):
        return _project(files)
    by_name: dict[str, bytes] = {}
    for name, data in files:
        if name in by_name:
            fix = "rename one of them (e.g. studies.csv and outcomes.csv)"
            return _failed(names, [Problem(name, None, None, f"two files named {name}", fix)])
        by_name[name] = data
    try:
        ds, report = load_files(by_name, source="upload: " + ", ".join(names))
    except Exception as exc:  # a last guard: an upload must never raise on the page
        problem = Problem(
            ", ".join(names),
            None,
            None,
            f"the file(s) could not be read ({type(exc).__name__})",
            "save as CSV UTF-8 from the template and try again",
        )
        return _failed(names, [problem])
    if ds is not None and ds.studies.empty:
        problem = Problem(
            ", ".join(names),
            None,
            None,
            "no study row could be loaded",
            "fix the errors listed for the studies table",
        )
        failed = ValidationReport(
            (*report.problems, problem), None, None, report.dropped, report.notes, True
        )
        return UploadResult(names, None, None, failed)
    key = dataset_key(files) if ds is not None else None
    return UploadResult(names, key, ds, report)


def _project(files: Sequence[tuple[str, bytes]]) -> UploadResult:
    """A project file (.zip), alone: its dataset, and its view to open."""
    names = tuple(name for name, _ in files)
    if len(files) != 1:
        fix = "choose the project file alone"
        return _failed(
            names,
            [
                Problem(
                    ", ".join(names),
                    None,
                    None,
                    "a project file (.zip) holds the whole workspace and is loaded alone",
                    fix,
                )
            ],
        )
    name, data = files[0]
    try:
        loaded, problems = project.read_project(data, name)
    except Exception as exc:  # a last guard: an upload must never raise on the page
        loaded, problems = (
            None,
            [Problem(name, None, None, f"{name} could not be read ({type(exc).__name__})")],
        )
    if loaded is None:
        return _failed(names, problems)
    ds = loaded.dataset
    return UploadResult(names, dataset_key(files), ds, ds.report, loaded.state, loaded.notices)


def report_frame(report: ValidationReport) -> pd.DataFrame:
    """Every problem as a row (errors first): severity, file, spreadsheet row (blank for the
    whole file), column, message, fix."""
    rows = [
        {
            "Severity": p.severity,
            "File": p.file,
            "Row": "" if p.row is None else str(p.row),
            "Column": p.column or "",
            "Problem": p.message,
            "Fix": p.fix,
        }
        for p in report.problems
    ]
    frame = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    order = frame["Severity"].map({"error": 0, "warning": 1})
    return frame.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def dropped_text(report: ValidationReport) -> str:
    """'studies.csv rows 3, 4; outcomes.csv row 7': the rows left out for errors."""
    by_file: dict[str, list[int]] = {}
    for file, row in report.dropped:
        by_file.setdefault(file, []).append(row)
    return "; ".join(
        f"{file} row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))}"
        for file, rows in by_file.items()
    )


def report_summary(result: UploadResult) -> str:
    """One sentence, as Markdown: what loaded (file names escaped), how many errors and
    warnings, rows left out."""
    rep = result.report
    names = md(result.label)
    counts = f"{len(rep.errors)} error(s), {len(rep.warnings)} warning(s)"
    if not result.loaded:
        return (
            f"{names or 'The upload'} could not be used ({counts}). "
            "The previous dataset is still in use."
        )
    ds = result.dataset
    assert ds is not None
    dropped = f"; {len(rep.dropped)} row(s) with errors left out" if rep.dropped else ""
    return (
        f"Loaded {names}: {len(ds.studies)} studies, {len(ds.outcomes)} outcome rows "
        f"({counts}{dropped})."
    )
