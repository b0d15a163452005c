"""Memory returns to its baseline after sessions end: the short version of
benchmarks/memory_sessions.py (30 sessions there, recorded in RESULTS.md). Four tabs each
upload a 16 MB dataset and close; after Streamlit has dropped their sessions the server's
resident set is within 100 MB of its baseline (before: +248 MB after five such sessions)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from benchmarks.memory_sessions import describe, run

RETAINED_MB = 100


@pytest.mark.timeout(600)
def test_uploads_are_released_when_their_tabs_close(browser_type_launch_args: dict) -> None:
    # In a process of its own: its sync Playwright cannot start inside the event loop that
    # pytest-playwright's fixtures keep running in this worker after any other browser test.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        result = pool.submit(run, 4, 1000, 15_000, 3, 30).result()
    print(describe(result))
    assert result.peak_mb > result.baseline_mb + 30  # the uploads did take memory
    assert result.retained_mb < RETAINED_MB, describe(result)
