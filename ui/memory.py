"""Give memory back to the system after sessions end (glibc's allocator; elsewhere a no-op).

glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so after a
few uploads their buffers are carved from the heap, whose freed space stays in the process:
measured, 5 sessions each uploading 16 MB left the server 104 MB above its baseline after
their tabs closed. A fixed threshold (every block of 128 KiB or more gets its own mapping,
unmapped when freed) and at most two arenas for the script threads bring that near zero.
The many small blocks of a parsed upload (its text cells) still leave free pages inside the
heap; ``malloc_trim`` hands those back once an upload is parsed and once a session's dataset
is released (benchmarks/memory_sessions.py, RESULTS.md)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import weakref

M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
ARENA_MAX = 2


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
