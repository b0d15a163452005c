"""Saved datasets in the app: the link's ``data=`` opens a saved version as the session's data,
and "Save and get a link" stores the data in use (:mod:`core.store`).

A saved version in use sits where an upload sits (``st.session_state["upload"]``, a
(key, dataset) pair) with the key ``saved:`` + a hash of its token, so every page and cache
treats it as a session's own data. Whatever the store answers (unknown, malformed or deleted
token, store unreachable), the session keeps working on the bundled evidence with a plain
notice; nothing here raises.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import streamlit as st

from core.data.dataset import Dataset
from core.state.view import ViewState
from core.store import (
    HistoryEntry,
    Missing,
    Opened,
    Refused,
    Saved,
    Settings,
    Store,
    StoreUnavailable,
)
from core.store.diff import Change
from ui import memory, sync

UPLOAD = "upload"
KEY_PREFIX = "saved:"
#: the token of the saved version in use (None: the data in use are not a saved version)
_IN_USE = "saved_token"
#: the note and save time of the saved version in use
_ABOUT = "saved_about"
#: why the link's data= could not be opened (shown until another dataset is opened)
_PROBLEM = "saved_problem"
#: why the last "Save and get a link" saved nothing
_SAVE_PROBLEM = "saved_save_problem"
#: the token and delete key of the version just saved, shown until the user hides them
_SECRET = "saved_secret"
#: the saved version the data in use were edited from: their next save is its child
_PARENT = "saved_parent"
NOTE_FIELD = "save_note"
#: what viewers are told when the store cannot be reached (the detail, which may name a
#: server path or host, goes to the server log)
UNAVAILABLE = "saved datasets are unavailable right now"
_log = logging.getLogger("explorer.store")


@dataclass(frozen=True)
class About:
    """What the page says about the saved version in use."""

    token: str
    note: str | None
    created: float

    @property
    def saved_at(self) -> str:
        return when(self.created)


def when(created: float | None) -> str:
    """A save time as '2026-12-06 01:40 UTC' ('-' when unknown)."""
    if created is None:
        return "-"
    return datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d %H:%M UTC")


def key_of(token: str) -> str:
    """The session key of a saved version: ``saved:`` + 16 hex digits of SHA-256(token)."""
    return KEY_PREFIX + hashlib.sha256(token.encode("ascii")).hexdigest()[:16]


@st.cache_resource(show_spinner=False, max_entries=4)
def _store(settings: Settings) -> Store:
    return Store(settings)


def store() -> Store:
    """The store ``EXPLORER_STORE`` configures; :class:`StoreUnavailable` when it cannot be."""
    return _store(Settings.from_env())


def in_use() -> About | None:
    """The saved version whose data the session uses, if any."""
    return st.session_state.get(_ABOUT)


def problem() -> str | None:
    """Why the link's saved dataset could not be opened (None: nothing to say)."""
    return st.session_state.get(_PROBLEM)


def _use(opened: Opened) -> None:
    st.session_state[UPLOAD] = (key_of(opened.token), opened.dataset)
    st.session_state[_IN_USE] = opened.token
    st.session_state[_ABOUT] = About(opened.token, opened.note, opened.created)
    st.session_state.pop(_PROBLEM, None)
    memory.trim_when_released(opened.dataset)


def forget() -> None:
    """The data in use are no longer a saved version (an upload or the bundled evidence)."""
    for name in (_IN_USE, _ABOUT, _SECRET, _PROBLEM, _SAVE_PROBLEM, _PARENT):
        st.session_state.pop(name, None)


def edited_from(token: str) -> None:
    """The data in use are an edit of the saved version ``token``: saving them makes a new
    version of it (its history then lists ``token``)."""
    st.session_state[_PARENT] = token


def _unavailable(exc: StoreUnavailable) -> str:
    _log.warning("%s", exc)
    return UNAVAILABLE


def _open(token: str) -> Opened | str:
    """The saved version of ``token``, or a plain sentence saying why it cannot be opened."""
    try:
        got = store().open(token)
    except StoreUnavailable as exc:
        return f"The link's saved dataset could not be opened: {_unavailable(exc)}."
    except Exception:  # a last guard: a link must never break the page
        _log.exception("opening a saved dataset failed")
        return "The link's saved dataset could not be opened: the store gave an error."
    if isinstance(got, Missing):
        return f"The link's saved dataset could not be opened: {got.message}."
    return got


def follow(state: ViewState) -> ViewState:
    """Make the session's data what the link's ``data=`` says; the state to draw.

    A new token is opened from the store; when it cannot be, the session goes back to the
    bundled evidence, the token leaves the link and :func:`problem` says why. A link without
    ``data=`` drops a saved version in use (an unsaved upload is not in links and stays)."""
    token = state.data
    if token == st.session_state.get(_IN_USE):
        return state
    if token is None:
        if st.session_state.pop(_IN_USE, None) is not None:
            st.session_state.pop(UPLOAD, None)
            forget()
        return state
    got = _open(token)
    if isinstance(got, Opened):
        _use(got)
        return state
    st.session_state.pop(UPLOAD, None)
    forget()
    st.session_state[_PROBLEM] = got + " The bundled evidence is shown instead."
    return sync.commit(state.replace(data=None))


def save(dataset: Dataset) -> None:
    """on_click of "Save and get a link": store ``dataset`` with the note typed, put its
    token in the link and keep the delete key to show (or the reason nothing was saved)."""
    note = (st.session_state.get(NOTE_FIELD) or "").strip() or None
    st.session_state.pop(_SAVE_PROBLEM, None)
    if dataset.report.errors:
        st.session_state[_SAVE_PROBLEM] = (
            "Not saved: rows with errors were left out of this dataset; fix them in your file "
            "and load it again before saving."
        )
        return
    try:
        saved = store().save(dataset, note=note, parent=st.session_state.get(_PARENT))
    except StoreUnavailable as exc:
        st.session_state[_SAVE_PROBLEM] = f"Not saved: {_unavailable(exc)}."
        return
    if isinstance(saved, Refused):
        st.session_state[_SAVE_PROBLEM] = f"Not saved: {saved.message}."
        return
    assert isinstance(saved, Saved)
    _use(Opened(saved.token, dataset, note, st.session_state.pop(_PARENT, None), saved.created))
    st.session_state[_SECRET] = (saved.token, saved.delete_key)
    st.session_state[NOTE_FIELD] = ""
    sync.commit(sync.current().replace(data=saved.token))


def save_problem() -> str | None:
    """Why the last save stored nothing (None: it did, or none was tried)."""
    return st.session_state.get(_SAVE_PROBLEM)


def secret() -> tuple[str, str] | None:
    """(token, delete key) of the version just saved, until :func:`hide_secret`."""
    return st.session_state.get(_SECRET)


def hide_secret() -> None:
    st.session_state.pop(_SECRET, None)


def history(token: str) -> tuple[HistoryEntry, ...] | str:
    """The versions ``token`` was made from (newest first), or why they cannot be listed."""
    try:
        got = store().history(token)
    except StoreUnavailable as exc:
        return f"The version history cannot be shown: {_unavailable(exc)}."
    if isinstance(got, Missing):
        return f"The version history cannot be shown: {got.message}."
    return got


def compare(old: str, new: str) -> tuple[Change, ...] | str:
    """Every value that differs from ``old`` to ``new``, or why it cannot be shown."""
    try:
        got = store().compare(old, new)
    except StoreUnavailable as exc:
        return f"The differences cannot be shown: {_unavailable(exc)}."
    if isinstance(got, Missing):
        return f"The differences cannot be shown: {got.message}."
    return got
