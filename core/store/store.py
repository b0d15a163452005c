"""Saved datasets: save, open, delete, history and differences of immutable versions.

No accounts and no listing: a version is reached only through its token. The store keeps the
token's hash as the row key and the payload (:mod:`core.store.payload`) sealed under a key
derived from the token (:mod:`core.store.crypto`), so a copy of the database alone shows no
study, label or number; it shows how many versions there are, their sizes and save times.
Saving an edit with ``parent=`` makes a new version whose sealed payload holds the parent's
token: a link's holder can walk back through the versions it came from, nobody else can.

Every outcome is a typed value (:class:`Saved`, :class:`Refused`, :class:`Opened`,
:class:`Missing`, :class:`Deleted`); a database that cannot be reached raises
:class:`~core.store.backend.StoreUnavailable`, whose text is a plain message.

Settings (environment): ``EXPLORER_STORE`` (default :func:`default_url`),
``EXPLORER_STORE_QUOTA_MB`` (total size of live versions, default 1000) and
``EXPLORER_STORE_RETENTION_DAYS`` (unset: versions are kept until deleted).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core import fmt
from core.data.dataset import Dataset
from core.data.schema import MAX_FILE_BYTES
from core.store import crypto
from core.store.backend import Backend, StoreUnavailable, Tx, backend_of
from core.store.diff import Change, diff
from core.store.payload import NOTE_LIMIT, pack, unpack

DEFAULT_QUOTA_MB = 1000
#: Versions a history walks back at most (a guard; a chain is acyclic by construction).
MAX_HISTORY = 1000
MissingReason = Literal["malformed", "unknown", "deleted", "expired", "unreadable"]


def default_url(env: Mapping[str, str] = os.environ) -> str:
    """``sqlite:///`` + ``$XDG_DATA_HOME/evidence-explorer/store.sqlite3`` (XDG_DATA_HOME
    defaults to ``~/.local/share``); the file and folder are created on the first save."""
    base = env.get("XDG_DATA_HOME") or str(Path("~/.local/share").expanduser())
    return "sqlite:///" + str(Path(base) / "evidence-explorer" / "store.sqlite3")


@dataclass(frozen=True)
class Settings:
    """Where the store is and its limits: total bytes of live versions, retention in days."""

    url: str
    quota_bytes: int = DEFAULT_QUOTA_MB * 1_000_000
    retention_days: float | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """The settings in ``env``; :class:`StoreUnavailable` naming a value that is wrong."""
        quota = env.get("EXPLORER_STORE_QUOTA_MB", "").strip() or str(DEFAULT_QUOTA_MB)
        days = env.get("EXPLORER_STORE_RETENTION_DAYS", "").strip()
        try:
            quota_mb = float(quota)
            retention = float(days) if days else None
        except ValueError:
            quota_mb = retention = math.nan
        if not math.isfinite(quota_mb) or quota_mb <= 0:
            raise StoreUnavailable("EXPLORER_STORE_QUOTA_MB must be a positive number")
        if retention is not None and not (math.isfinite(retention) and retention > 0):
            raise StoreUnavailable("EXPLORER_STORE_RETENTION_DAYS must be a positive number")
        url = env.get("EXPLORER_STORE", "").strip() or default_url(env)
        return cls(url, int(quota_mb * 1_000_000), retention)


@dataclass(frozen=True)
class Saved:
    """A new version: its token (the link's ``data=``) and delete key, both shown only once."""

    token: str
    delete_key: str
    parent: str | None
    size: int
    created: float


@dataclass(frozen=True)
class Refused:
    """A save that stored nothing, and why."""

    reason: Literal["too_large", "quota", "parent", "note", "invalid"]
    message: str


@dataclass(frozen=True, eq=False)
class Opened:
    """A saved version as it was saved."""

    token: str
    dataset: Dataset
    note: str | None
    parent: str | None
    created: float


@dataclass(frozen=True)
class Missing:
    """A token that opens nothing, and why (a plain message)."""

    token: str
    reason: MissingReason
    message: str


@dataclass(frozen=True)
class Deleted:
    """The outcome of a delete: ``ok`` when this call deleted the version."""

    ok: bool
    reason: Literal["deleted", "wrong_key", "unknown", "malformed", "gone"]
    message: str


@dataclass(frozen=True)
class HistoryEntry:
    """One version in a chain, newest first; ``status`` other than ``saved`` ends the walk."""

    token: str
    status: Literal["saved", "deleted", "expired", "unknown", "unreadable"]
    created: float | None
    note: str | None


_MISSING_TEXT: dict[str, str] = {
    "malformed": "the link's data= value is not a saved-dataset token",
    "unknown": "no saved dataset has this link's token",
    "deleted": "the saved dataset of this link was deleted",
    "expired": "the saved dataset of this link was removed after the retention time",
    "unreadable": "the saved dataset of this link could not be read",
}


def _missing(token: str, reason: MissingReason) -> Missing:
    return Missing(token, reason, _MISSING_TEXT[reason])


class Store:
    """Saved datasets in the database of ``settings.url``; safe to share between threads."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._db: Backend = backend_of(settings.url)
        self._clock = clock

    def _cutoff(self) -> float | None:
        days = self.settings.retention_days
        return None if days is None else self._clock() - days * 86_400

    def save(
        self, dataset: Dataset, note: str | None = None, parent: str | None = None
    ) -> Saved | Refused:
        """Store ``dataset`` as a new immutable version (child of ``parent`` when given), in
        one transaction."""
        if note is not None and len(note) > NOTE_LIMIT:
            return Refused("note", f"the note is longer than {fmt.count(NOTE_LIMIT)} characters")
        if parent is not None and not isinstance(self.open(parent), Opened):
            return Refused("parent", "the version this edit starts from cannot be opened")
        payload = pack(dataset, note, parent)
        if len(payload) > MAX_FILE_BYTES:
            return Refused(
                "too_large",
                f"the dataset takes {fmt.count(len(payload))} bytes; saved datasets are limited to "
                f"{fmt.count(MAX_FILE_BYTES)} bytes, as uploads are",
            )
        if not _reopens(payload, dataset):
            return Refused(
                "invalid",
                "the dataset does not pass the checks of an upload as it is; "
                "fix the rows with errors first",
            )
        token, delete_key = crypto.new_secret(), crypto.new_secret()
        sealed = crypto.seal(token, payload)
        created = self._clock()
        with self._db.transaction(create=True) as tx:
            cutoff = self._cutoff()
            if cutoff is not None:
                tx.run(
                    "UPDATE versions SET sealed = NULL, size = 0, gone = 'expired' "
                    "WHERE gone IS NULL AND created < ?",
                    (cutoff,),
                )
            (used,) = tx.run("SELECT COALESCE(SUM(size), 0) FROM versions WHERE gone IS NULL")[0]
            if used + len(sealed) > self.settings.quota_bytes:
                return Refused("quota", "the space for saved datasets is full")
            _insert(
                tx,
                (
                    crypto.row_id(token),
                    sealed,
                    len(sealed),
                    created,
                    crypto.delete_hash(delete_key),
                ),
            )
        return Saved(token, delete_key, parent, len(sealed), created)

    def open(self, token: str) -> Opened | Missing:
        """The version of ``token`` as saved, or why it cannot be opened."""
        if not crypto.well_formed(token):
            return _missing(str(token)[:64], "malformed")
        with self._db.transaction(create=False) as tx:
            rows = (
                []
                if tx is None
                else tx.run(
                    "SELECT sealed, created, gone FROM versions WHERE id = ?",
                    (crypto.row_id(token),),
                )
            )
        if not rows:
            return _missing(token, "unknown")
        sealed, created, gone = rows[0]
        if gone is not None:
            return _missing(token, gone)
        cutoff = self._cutoff()
        if cutoff is not None and created < cutoff:
            return _missing(token, "expired")
        plain = crypto.unseal(token, bytes(sealed))
        content = None if plain is None else unpack(plain, "saved dataset")
        if content is None:
            return _missing(token, "unreadable")
        return Opened(token, content.dataset, content.note, content.parent, created)

    def delete(self, token: str, delete_key: str) -> Deleted:
        """Delete the version of ``token`` when ``delete_key`` is its delete key; the token
        then opens as ``deleted``. Its payload is removed from the row."""
        if not (crypto.well_formed(token) and crypto.well_formed(delete_key)):
            return Deleted(False, "malformed", "the token or the delete key is not well formed")
        with self._db.transaction(create=False) as tx:
            rows = (
                []
                if tx is None
                else tx.run(
                    "SELECT delete_hash, gone FROM versions WHERE id = ?", (crypto.row_id(token),)
                )
            )
            if not rows:
                return Deleted(False, "unknown", _MISSING_TEXT["unknown"])
            stored, gone = rows[0]
            if gone is not None:
                return Deleted(False, "gone", _MISSING_TEXT[gone])
            if not crypto.same_hash(bytes(stored), crypto.delete_hash(delete_key)):
                return Deleted(False, "wrong_key", "the delete key does not match this dataset")
            tx.run(
                "UPDATE versions SET sealed = NULL, size = 0, gone = 'deleted' WHERE id = ?",
                (crypto.row_id(token),),
            )
        return Deleted(True, "deleted", "the saved dataset was deleted")

    def history(self, token: str) -> tuple[HistoryEntry, ...] | Missing:
        """The version of ``token`` and those it was made from, newest first."""
        first = self.open(token)
        if isinstance(first, Missing):
            return first
        entries = [HistoryEntry(token, "saved", first.created, first.note)]
        parent = first.parent
        while parent is not None and len(entries) < MAX_HISTORY:
            got = self.open(parent)
            if isinstance(got, Missing):
                status = "unknown" if got.reason == "malformed" else got.reason
                entries.append(HistoryEntry(parent, status, None, None))
                break
            entries.append(HistoryEntry(parent, "saved", got.created, got.note))
            parent = got.parent
        return tuple(entries)

    def compare(self, old: str, new: str) -> tuple[Change, ...] | Missing:
        """Every value that differs from version ``old`` to version ``new``."""
        a = self.open(old)
        if isinstance(a, Missing):
            return a
        b = self.open(new)
        if isinstance(b, Missing):
            return b
        return diff(a.dataset, b.dataset)


def _reopens(payload: bytes, dataset: Dataset) -> bool:
    """True when ``payload`` reads back (through the upload checks) as exactly ``dataset``'s
    tables: nothing is saved that would open differently, or not at all."""
    content = unpack(payload, "saved dataset")
    return (
        content is not None
        and content.dataset.studies.equals(dataset.studies)
        and content.dataset.outcomes.equals(dataset.outcomes)
    )


def _insert(tx: Tx, row: tuple[bytes, bytes, int, float, bytes]) -> None:
    """Insert one version row (a new primary key: a save never overwrites another)."""
    tx.run(
        "INSERT INTO versions (id, sealed, size, created, delete_hash) VALUES (?, ?, ?, ?, ?)",
        row,
    )


def open_store(env: Mapping[str, str] = os.environ) -> Store:
    """The store the environment configures; :class:`StoreUnavailable` when misconfigured."""
    return Store(Settings.from_env(env))
