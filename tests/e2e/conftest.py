"""Browser tests: the app under ``streamlit run serve.py`` on a free localhost port, driven by
Debian's Chromium through pytest-playwright (never a downloaded browser).

Without /usr/bin/chromium the tests are skipped with a reason, unless REQUIRE_BROWSER=1 (CI),
where a missing browser fails them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 60.0
APP_SCRIPT = "serve.py"  # what `streamlit run` starts (README, Dockerfile CMD): app.py, warmed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder ``e2e``; skip (or, in CI, fail) without Chromium."""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's Chromium; never a browser downloaded by Playwright."""
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A desktop window tall enough that the forest plots are on screen without scrolling."""
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1100}}


#: The Studies page's dataset uploader (the page also has the survival-curve uploaders).
DATASET_UPLOADER = "Studies and outcomes files"


def dataset_uploader(page: Page) -> Locator:
    """The file input of the Studies page's dataset uploader (a Playwright locator)."""
    return (
        page.get_by_test_id("stFileUploader")
        .filter(has_text=DATASET_UPLOADER)
        .locator("input[type=file]")
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(
    base: str, proc: subprocess.Popen, log: Path, timeout: float = STARTUP_TIMEOUT
) -> None:
    """Poll /_stcore/health until it answers ok; fail with the server's output otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text(errors="replace")
            pytest.fail(f"streamlit exited with {proc.returncode}:\n{out}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.25)
    pytest.fail(f"streamlit did not answer {base}/_stcore/health within {timeout:.0f} s")


def start_app(
    port: int, log: Path, extra: Sequence[str] = (), script: str = APP_SCRIPT
) -> subprocess.Popen:
    """``streamlit run <script>`` on ``port`` (with ``extra`` options), its output to ``log``."""
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *extra]
    with log.open("w") as out:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def stop_app(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def app_server(artifacts: Path) -> Iterator[str]:
    """Base URL of the shared app, started once per session (tests/e2e/test_nginx.py puts
    nginx in front of it, also where Chromium is missing)."""
    with serve(artifacts / "streamlit.log") as (base, _):
        yield base


@pytest.fixture(scope="session")
def app_url(browser_type_launch_args: dict, app_server: str) -> str:
    """Base URL of the shared app, for browser tests (after the Chromium check)."""
    return app_server


@contextlib.contextmanager
def serve(log: Path, extra: Sequence[str] = ()) -> Iterator[tuple[str, subprocess.Popen]]:
    """A fresh app on a free port, healthy: its base URL and process; stopped afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_app(port, log, extra)
    try:
        wait_healthy(base, proc, log)
        yield base, proc
    finally:
        stop_app(proc)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
