"""Saved datasets (``data=<token>`` links): one interface, SQLite or PostgreSQL behind it.

See :mod:`core.store.store` for what is kept and who can read it.
"""

from core.store.backend import StoreUnavailable
from core.store.diff import Change
from core.store.store import (
    Deleted,
    HistoryEntry,
    Missing,
    Opened,
    Refused,
    Saved,
    Settings,
    Store,
    open_store,
)

__all__ = [
    "Change",
    "Deleted",
    "HistoryEntry",
    "Missing",
    "Opened",
    "Refused",
    "Saved",
    "Settings",
    "Store",
    "StoreUnavailable",
    "open_store",
]
