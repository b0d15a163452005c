"""``python -m core ... | head``: a reader that closes the pipe early ends the command quietly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each test starts Python with pandas and scipy


def _run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess[bytes]:
    """Run the CLI with stdout a pipe whose reading end is closed before the first write (as
    ``| head -c 0`` would leave it): every write gets EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "core", *args],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "args",
    [("analyze", "?design=RCT"), ("rscript", "?outcome=DFS", "--outcome", "DFS")],
)
def test_closed_pipe_exits_quietly(args: tuple[str, ...]) -> None:
    done = _run_into_closed_pipe(*args)
    assert done.stderr == b""  # no BrokenPipeError traceback, no "Exception ignored" line
    assert done.returncode == 128 + signal.SIGPIPE


def test_open_pipe_still_gets_everything() -> None:
    """The same command into an open pipe prints its JSON in full and exits 0."""
    done = subprocess.run(
        [sys.executable, "-m", "core", "analyze", "?design=RCT"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert done.stdout.rstrip().endswith(b"}")
    assert b'"design": [\n      "RCT"\n    ]' in done.stdout
