"""What one saved version holds, as bytes before sealing: a ZIP (stored, not compressed) of

- ``studies.parquet`` and ``outcomes.parquet``: the dataset's typed tables (Parquet keeps the
  nullable dtypes exactly; read back through :func:`core.data.dataset.load_files`, the same
  schema and limits as an upload);
- ``meta.json``: ``{"format": 2, "note": str | null, "parent": token | null}``; the parent's
  token sits here, inside the sealed payload, so only holders of a link can walk its history;
- ``description.json`` (format 2): the dataset's description (core.data.description). Its
  tables already hold the analysis's outcome slots, so it gives their words. Versions saved in
  format 1, before descriptions, have none and read back with neutral words.

Tables are written without the spreadsheet guard of :mod:`core.data.export`: a saved version
must read back cell for cell as it was saved (the guard is applied again on every export).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import pandas as pd

from core.data import description as desc
from core.data.dataset import Dataset, load_files
from core.data.schema import MAX_FILE_BYTES

FORMAT = 2
#: formats read back: 1 (no description) and 2
READ_FORMATS = (1, 2)
NOTE_LIMIT = 2_000
_TABLES = ("studies.parquet", "outcomes.parquet")
_WORDS = "description.json"


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
        if dataset.description.given:  # neutral words are found again from the data
            zf.writestr(_WORDS, desc.to_bytes(dataset.description))
    return buf.getvalue()


def unpack(data: bytes, source: str) -> Content | None:
    """The contents of payload bytes, or None when they are not a readable version."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = {i.filename: i for i in zf.infolist()}
            if set(infos) - {_WORDS} != {"meta.json", *_TABLES}:
                return None
            if sum(i.file_size for i in infos.values()) > MAX_FILE_BYTES:
                return None
            meta = json.loads(zf.read("meta.json"))
            files = {name: zf.read(name) for name in _TABLES}
            words_bytes = zf.read(_WORDS) if _WORDS in infos else None
    except (zipfile.BadZipFile, ValueError, KeyError):
        return None
    if not isinstance(meta, dict) or meta.get("format") not in READ_FORMATS:
        return None
    note, parent = meta.get("note"), meta.get("parent")
    if not isinstance(note, str | None) or not isinstance(parent, str | None):
        return None
    words = None
    if words_bytes is not None:
        words, _ = desc.parse(words_bytes, _WORDS)
        if words is None:
            return None
    dataset, _ = load_files(files, source=source, description=words)
    return None if dataset is None else Content(dataset, note, parent)
