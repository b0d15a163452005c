"""Give memory back to the system after sessions end (glibc's allocator; elsewhere a no-op).

glibc raises its mmap threshold each time a large block is freed (up to 32 MB), so after a
few uploads their buffers are carved from the heap, whose freed space stays in the process:
measured, 5 sessions each uploading 16 MB left the server 104 MB above its baseline after
their tabs closed. A fixed threshold (every block of 128 KiB or more gets its own mapping,
unmapped when freed) and at most two arenas for the script threads keep that near zero
(benchmarks/memory_sessions.py, RESULTS.md)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_ARENA_MAX = -8  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024
ARENA_MAX = 2


@functools.cache
def return_freed_memory() -> bool:
    """Set glibc's allocator so freed large blocks go back to the system; True if it is
    glibc and both settings were accepted."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, musl without mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, ARENA_MAX))
