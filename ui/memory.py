"""Give memory back to the system after sessions end (glibc's allocator; elsewhere a no-op).

glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so after a
few uploads their buffers are carved from the heap, whose freed space stays in the process:
measured, 5 sessions each uploading 16 MB left the server 104 MB above its baseline after
their tabs closed. A fixed threshold (every block of 128 KiB or more gets its own mapping,
unmapped when freed) and at most two arenas for the script threads bring that near zero.
The many small blocks of a parsed upload (its text cells) still leave free pages inside the
heap; ``malloc_trim`` hands those back once an upload is parsed and once a session's dataset
is released (benchmarks/memory_sessions.py, RESULTS.md).

A session Streamlit drops (a closed tab, after ``server.disconnectedSessionTTL``) is not freed
when it is dropped: its objects hold one another in cycles, so its upload waits for Python's
next full garbage collection, which comes rarely in a server of ~200,000 long-lived objects
(measured: 8 closed upload sessions left +260 MB, 15 MB of uploaded data each still alive).
Streamlit drops expired sessions when it stores the next closed one, so each closing tab
schedules one full collection a moment later (:func:`collect_when_session_ends`)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import threading
import weakref

import streamlit as st

M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
ARENA_MAX = 2
COLLECT_DELAY_S = 1.0
_collect_pending = threading.Lock()


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc (has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):  # not glibc (macOS, musl)
        return None
    return libc


@functools.cache
def return_freed_memory() -> bool:
    """Set glibc's allocator so freed large blocks go back to the system; True if it is
    glibc and both settings were accepted."""
    libc = _glibc()
    if libc is None:
        return False
    threshold = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    arenas = libc.mallopt(M_ARENA_MAX, ARENA_MAX)
    return bool(threshold) and bool(arenas)


def trim() -> bool:
    """Return the free pages inside the allocator's heaps to the system (``malloc_trim(0)``);
    True if some memory was released."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def trim_when_released(obj: object) -> None:
    """Call :func:`trim` once ``obj`` (a session's dataset) is garbage."""
    weakref.finalize(obj, trim)


def _collect() -> None:
    try:
        gc.collect()
        trim()
    finally:
        _collect_pending.release()


def collect_soon(delay_s: float = COLLECT_DELAY_S) -> bool:
    """In ``delay_s`` seconds (on a timer thread), a full garbage collection (``gc.collect()``,
    which frees dropped sessions' cycles) and :func:`trim`; False if one is already pending."""
    if not _collect_pending.acquire(blocking=False):
        return False
    timer = threading.Timer(delay_s, _collect)
    timer.daemon = True
    timer.start()
    return True


def _released(_marker: object) -> None:
    collect_soon()


@st.cache_resource(show_spinner=False, scope="session", on_release=_released, max_entries=1)
def _session_marker() -> object:
    return object()


def collect_when_session_ends() -> None:
    """Call on every run: when this tab's connection closes (Streamlit releases its
    session-scoped resources, then stores it, dropping expired sessions), :func:`collect_soon`."""
    _session_marker()
