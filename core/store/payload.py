"""What one saved version holds, as bytes before sealing: a ZIP (stored, not compressed) of

- ``studies.parquet`` and ``outcomes.parquet``: the dataset's typed tables (Parquet keeps the
  nullable dtypes exactly; read back through :func:`core.data.dataset.load_files`, the same
  schema and limits as an upload);
- ``meta.json``: ``{"format": 1, "note": str | null, "parent": token | null}``; the parent's
  token sits here, inside the sealed payload, so only holders of a link can walk its history.

Tables are written without the spreadsheet guard of :mod:`core.data.export`: a saved version
must read back cell for cell as it was saved (the guard is applied again on every export).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import pandas as pd

from core.data.dataset import Dataset, load_files
from core.data.schema import MAX_FILE_BYTES

FORMAT = 1
NOTE_LIMIT = 2_000
_TABLES = ("studies.parquet", "outcomes.parquet")


@dataclass(frozen=True, eq=False)
class Content:
    """A saved version's contents: the dataset, the note and the parent version's token."""

    dataset: Dataset
    note: str | None
    parent: str | None


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def pack(dataset: Dataset, note: str | None, parent: str | None) -> bytes:
    """The payload bytes of a version (a stored ZIP of two Parquet tables and meta.json)."""
    meta = {"format": FORMAT, "note": note, "parent": parent}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("meta.json", json.dumps(meta))
        zf.writestr(_TABLES[0], _parquet(dataset.studies))
        zf.writestr(_TABLES[1], _parquet(dataset.outcomes))
    return buf.getvalue()


def unpack(data: bytes, source: str) -> Content | None:
    """The contents of payload bytes, or None when they are not a readable version."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if set(infos) != {"meta.json", *_TABLES}:
                return None
            if sum(i.file_size for i in infos.values()) > MAX_FILE_BYTES:
                return None
            meta = json.loads(zf.read("meta.json"))
            files = {name: zf.read(name) for name in _TABLES}
    except (zipfile.BadZipFile, ValueError, KeyError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return None
    note, parent = meta.get("note"), meta.get("parent")
    if not isinstance(note, str | None) or not isinstance(parent, str | None):
        return None
    dataset, _ = load_files(files, source=source)
    return None if dataset is None else Content(dataset, note, parent)
