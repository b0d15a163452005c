"""A project file: the whole workspace in one file, to keep, send or load back.

A ZIP (stored, not compressed) holding

- ``project.json``: ``{"kind": "evidence-explorer-project", "version": 1, "view": QUERY,
  "note": str | null, "source": str}``. ``view`` is the view's link query
  (``core.state.view.encode_query``): filters, model, the certainty judgements and their
  reasons (link keys ``grade`` and ``why``) and the assumed risks; a saved dataset's token
  (``data=``) is left out, since the file carries the data itself;
- ``studies.parquet`` and ``outcomes.parquet``: the dataset's typed tables, read back through
  :func:`core.data.dataset.load_files` (the upload schema and limits);
- ``description.json`` (when the dataset has one): its words (core.data.description).

:func:`read_project` never raises for a bad file: it returns the problems, each in plain words
(not a ZIP, not a project file, a newer version, a bad table or description).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import pandas as pd

from core import fmt
from core.data import description as desc
from core.data.dataset import Dataset, load_files
from core.data.schema import MAX_FILE_BYTES, Problem, too_large
from core.state.view import ViewState, encode_query, parse_query

KIND = "evidence-explorer-project"
VERSION = 1
SUFFIX = ".zip"
_META = "project.json"
_TABLES = ("studies.parquet", "outcomes.parquet")
NOTE_LIMIT = 10_000


@dataclass(frozen=True, eq=False)
class Project:
    """A loaded project: its dataset, view, note, and notices from reading its view."""

    dataset: Dataset
    state: ViewState
    note: str | None
    notices: tuple[str, ...] = ()


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def write_project(dataset: Dataset, state: ViewState, note: str | None = None) -> bytes:
    """The project file's bytes for ``dataset`` seen through ``state``."""
    meta = {
        "kind": KIND,
        "version": VERSION,
        "view": encode_query(state.replace(data=None)),
        "note": note,
        "source": dataset.source,
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(_META, json.dumps(meta, indent=2, ensure_ascii=False))
        zf.writestr(_TABLES[0], _parquet(dataset.studies))
        zf.writestr(_TABLES[1], _parquet(dataset.outcomes))
        if dataset.description.given:
            zf.writestr(desc.FILE_NAME, desc.to_bytes(dataset.description))
    return buf.getvalue()


def is_project(data: bytes) -> bool:
    """Whether ``data`` looks like a project file (a ZIP holding project.json)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _META in zf.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def read_project(data: bytes, name: str = "project.zip") -> tuple[Project | None, list[Problem]]:
    """The project in ``data``, or None with the problems; never raises for bad input."""

    def bad(message: str, fix: str = "") -> tuple[None, list[Problem]]:
        return None, [Problem(name, None, None, message, fix)]

    if (big := too_large(name, data)) is not None:
        return bad(big, "keep fewer studies in one project")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if _META not in infos:
                return bad(
                    f"{name} is not a project file of this explorer (no {_META} inside)",
                    'choose a file made with "Download the project"',
                )
            unknown = set(infos) - {_META, *_TABLES, desc.FILE_NAME}
            if unknown or not set(_TABLES) <= set(infos):
                return bad(
                    f"{name} does not hold what a project file holds (studies.parquet, "
                    "outcomes.parquet, project.json)",
                    'choose a file made with "Download the project"',
                )
            if sum(i.file_size for i in infos.values()) > MAX_FILE_BYTES:
                return bad(f"{name} unpacks to more than {fmt.count(MAX_FILE_BYTES)} bytes")
            meta = json.loads(zf.read(_META).decode("utf-8"))
            files = {n: zf.read(n) for n in _TABLES}
            words_bytes = zf.read(desc.FILE_NAME) if desc.FILE_NAME in infos else None
    except zipfile.BadZipFile:
        return bad(f"{name} is not a ZIP file", "choose a project file (.zip)")
    except (ValueError, KeyError, OSError, RecursionError):
        return bad(f"{name}: its {_META} could not be read", "download the project again")
    if not isinstance(meta, dict) or meta.get("kind") != KIND:
        return bad(f"{name} is not a project file of this explorer", "")
    version = meta.get("version")
    if version != VERSION:
        return bad(
            f"{name} is a project file of version {version!r}; this explorer reads version "
            f"{VERSION}",
            "open it with the explorer that made it",
        )
    view, note = meta.get("view", ""), meta.get("note")
    if not isinstance(view, str) or not isinstance(note, str | None):
        return bad(f"{name}: its view or note is not text")
    if note is not None and len(note) > NOTE_LIMIT:
        return bad(f"{name}: its note is longer than {fmt.count(NOTE_LIMIT)} characters")
    words = None
    if words_bytes is not None:
        words, problems = desc.parse(words_bytes, f"{name}: {desc.FILE_NAME}")
        if words is None:
            return None, problems
    source = f"project file: {name}"
    dataset, report = load_files(files, source=source, description=words)
    if dataset is None:
        return None, list(report.problems)
    if report.errors:
        return None, list(report.errors)
    parsed = parse_query(view)
    state = parsed.state.replace(data=None)
    return Project(dataset, state, note, tuple(parsed.notices)), []
