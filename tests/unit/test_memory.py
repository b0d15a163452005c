"""ui/memory.py against the real allocator (glibc, in a fresh process): freed space inside the
heap goes back to the system when a session's dataset is released."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from ui import memory

ROOT = Path(__file__).resolve().parents[2]

#: Leaves about 200 MB of free 16 KB holes inside the heap (each between two small live
#: blocks, so the heap cannot shrink from its top), then releases ``owner``: prints the
#: resident set (KB) before and after.
SCRIPT = """
import gc, sys
from ui import memory
memory.return_freed_memory()
def rss():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmRSS')).split()[1])
class Dataset: pass
owner = Dataset()
big, keep = [], []
for _ in range(12_500):
    big.append(bytearray(16_000))
    keep.append(bytearray(64))
del big
gc.collect()
if sys.argv[1] == "release":
    memory.trim_when_released(owner)
before = rss()
del owner
gc.collect()
print(before, rss())
"""


def run(mode: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, after = map(int, out.stdout.split())
    return before, after


@pytest.mark.skipif(memory._glibc() is None, reason="glibc's allocator only")
def test_releasing_a_dataset_returns_free_heap_pages() -> None:
    before, after = run("release")
    assert before - after > 100 * 1024  # KB: most of the 200 MB of holes
    before, after = run("keep")  # control: without the finalizer the holes stay resident
    assert before - after < 20 * 1024


class _Session:
    """Stands for a dropped session: it holds itself (a cycle), as Streamlit's sessions do."""

    def __init__(self) -> None:
        self.me = self


def test_collect_soon_frees_objects_held_only_by_cycles() -> None:
    gc.disable()  # no automatic collection: only collect_soon's may free the cycle
    try:
        session = _Session()
        gone = threading.Event()
        weakref.finalize(session, gone.set)
        del session
        assert not gone.wait(0.2)  # a cycle outlives its last outside reference
        assert memory.collect_soon(delay_s=0.05)
        assert not memory.collect_soon(delay_s=0.05)  # one pending at a time
        assert gone.wait(5)
        deadline = time.monotonic() + 5
        while not memory.collect_soon(delay_s=0) and time.monotonic() < deadline:
            time.sleep(0.01)  # the first has finished: a new one can be scheduled
        assert time.monotonic() < deadline
    finally:
        gc.enable()
