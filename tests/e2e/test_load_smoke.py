"""The load test (benchmarks/load_test.py, run by hand) still runs: two browser sessions on
the bundled data and two protocol sessions each on its own saved dataset (``--saved``), for a
few seconds each, every step without an error. Times are printed, never asserted."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# No wait for a quiet machine (--settle 0): in CI the other test worker keeps the load up, and
# waiting for it cost up to 4 minutes per run. The hold is long enough for every step to run
# at least once on a busy machine (a toggle took up to 5.5 s there).
SHORT = ["--sessions", "2", "--ramp", "1", "--hold", "15", "--think", "0.5", "--timeout", "60"]
SHORT += ["--settle", "0"]


def run_load_test(*args: str) -> str:
    cmd = [sys.executable, "benchmarks/load_test.py", *SHORT, *args, "--no-write", "--check"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=480)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def counts(out: str) -> dict[str, tuple[int, int]]:
    """(ok, errors) per step from the level's summary line."""
    return {
        step: (int(ok), int(err))
        for step, ok, err in re.findall(r"(\w+) p50 \S+ / p95 \S+ ms \((\d+) ok, (\d+) err\)", out)
    }


@pytest.mark.parametrize("client", ["browser", "protocol"])
def test_load_test_runs_every_step_without_errors(
    client: str, browser_type_launch_args: dict
) -> None:
    """The protocol run also takes ``--saved``: two copies saved into a temporary store, each
    session opens its own link and then toggles and switches pages on it; a page saying the
    dataset could not be opened would count as an error (one run instead of a second,
    opens-only run of its own)."""
    out = run_load_test("--client", client, *(["--saved"] if client == "protocol" else []))
    steps = counts(out)
    assert steps["open"] == (2, 0)
    assert steps["toggle"][0] >= 1 and steps["page"][0] >= 1
    assert all(err == 0 for _, err in steps.values())
    cpu = re.search(r"CPU s over the hold: (\{.*\})", out)
    assert cpu is not None
    kinds = json.loads(cpu.group(1))
    assert kinds["busy"] > 0 and kinds["server"] > 0
    assert (kinds.get("renderer", 0) > 0) == (client == "browser")
