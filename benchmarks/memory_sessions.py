"""Memory after sessions end (run by hand; a short version runs in CI, see
tests/e2e/test_memory_sessions.py):

    python3 benchmarks/memory_sessions.py                 # 30 sessions of a 15 MB upload
    python3 benchmarks/memory_sessions.py --sessions 5 --no-write

The app is started afresh and warmed up by one session that uploads the file once (the
readers' imports are then loaded) and closes; its resident set after that session has been
dropped is the baseline. Each of ``--sessions`` browser contexts in turn opens the
Studies page, uploads a large valid dataset (``tests/fixtures/uploads/large.py``; the same
bytes each time, as a team re-uploading its file) and waits for "Loaded", then closes. The
server's VmRSS (process and children, from /proc) is sampled throughout (peak). After the last
tab closed, ``--ttl`` seconds pass (Streamlit's ``server.disconnectedSessionTTL``: a closed
tab's session, its upload included, is kept that long for a reconnect) and one more visitor
opens and closes the Studies page (Streamlit drops expired sessions when it stores a closed
one). Then the resident set is read every second until it stops falling (at most
``--settle`` s): that is "after", compared with the baseline. Results computed from an upload
are released as soon as its tab closes (a session-scoped cache).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_test import BROWSER, RssSampler, loadavg, tree_rss_kb  # noqa: E402
from benchmarks.results import write_section  # noqa: E402
from tests.e2e.conftest import CHROMIUM_ARGS, dataset_uploader, serve  # noqa: E402
from tests.fixtures.uploads import large  # noqa: E402

LOADED = "Loaded large_studies.csv, large_outcomes.csv"
TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class MemoryRun:
    sessions: int
    upload_mb: float
    baseline_mb: float
    peak_mb: float
    after_mb: float
    seconds: float

    @property
    def retained_mb(self) -> float:
        return self.after_mb - self.baseline_mb


def _mb(kb: int) -> float:
    return kb / 1024


def _settled_rss(pid: int, wait_s: float) -> int:
    """The resident set once it stops falling (3 readings in a row no lower), within wait_s."""
    deadline = time.monotonic() + wait_s
    low, flat = tree_rss_kb(pid), 0
    while time.monotonic() < deadline and flat < 3:
        time.sleep(1)
        now = tree_rss_kb(pid)
        low, flat = (now, 0) if now < low - 1024 else (min(low, now), flat + 1)
    return low


def run(sessions: int, studies: int, note_chars: int, ttl: int, settle: float) -> MemoryRun:
    from playwright.sync_api import expect, sync_playwright

    files = large.files(studies, note_chars)
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
            paths.append(str(Path(tmp) / name))
        log = Path(tmp) / "streamlit.log"
        extra = ["--server.disconnectedSessionTTL", str(ttl)]
        with serve(log, extra) as (base, proc), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(BROWSER), args=CHROMIUM_ARGS)

            def session(upload: bool) -> None:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                page.goto(base + "/studies")
                uploader = dataset_uploader(page)
                expect(uploader).to_be_attached(timeout=TIMEOUT_MS)
                if upload:
                    uploader.set_input_files(paths)
                    expect(page.get_by_text(LOADED)).to_be_visible(timeout=TIMEOUT_MS)
                context.close()

            session(upload=True)  # warm-up: the readers' imports count in the baseline
            time.sleep(ttl + 1)
            session(upload=False)
            baseline = _settled_rss(proc.pid, settle)
            sampler = RssSampler(proc.pid)
            sampler.start()
            for _ in range(sessions):
                session(upload=True)
            time.sleep(ttl + 1)
            session(upload=False)  # a later visitor: its closing makes Streamlit drop expired
            after = _settled_rss(proc.pid, settle)
            sampler.stop()
            browser.close()
    return MemoryRun(
        sessions,
        sum(map(len, files.values())) / 1e6,
        _mb(baseline),
        _mb(max(sampler.peak, after)),
        _mb(after),
        time.monotonic() - start,
    )


def describe(r: MemoryRun) -> str:
    return (
        f"{r.sessions} sessions, each uploading {r.upload_mb:.1f} MB: baseline "
        f"{r.baseline_mb:.0f} MB, peak {r.peak_mb:.0f} MB, after every tab closed "
        f"{r.after_mb:.0f} MB ({r.retained_mb:+.0f} MB over the baseline); {r.seconds:.0f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--studies", type=int, default=1000)
    ap.add_argument("--note-chars", type=int, default=15_000)
    ap.add_argument("--ttl", type=int, default=10)
    ap.add_argument("--settle", type=float, default=60.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    r = run(args.sessions, args.studies, args.note_chars, args.ttl, args.settle)
    print(describe(r))
    if not args.no_write:
        write_section(
            "Memory after sessions end",
            [
                f"Measured {dt.date.today():%Y-%m-%d} with `python3 benchmarks/memory_sessions.py "
                f"--sessions {args.sessions}` on {platform.machine()}, Python "
                f"{platform.python_version()}, load average {loadavg()} at the end; the server's "
                "resident set (VmRSS of the process and its children, from /proc).",
                "",
                f"- {describe(r)}.",
                f"- Closed tabs' sessions are dropped after `server.disconnectedSessionTTL` "
                f"(here {args.ttl} s; Streamlit's default is 120 s).",
            ],
        )


if __name__ == "__main__":
    main()
