"""Many users at once (run by hand, not in CI; needs Debian's /usr/bin/chromium):

    python3 benchmarks/load_test.py                 # N = 5, 10, 20; writes "Load" in RESULTS.md
    python3 benchmarks/load_test.py --sessions 5 --rounds 2 --no-write
    python3 benchmarks/load_test.py --client protocol  # no browsers: "Load, server only"

For each N the app is started afresh (``streamlit run`` on a free localhost port, as the
browser tests do) and warmed up by one session; then N browser contexts of one headless
Chromium run at once, each for ``--rounds`` rounds of three steps:

- open: load the link, until both forest plots are drawn and the run is finished;
- toggle: click a study's row in the OS forest plot; timed in the page with its own clock
  (benchmarks/inpage.py) from the click's pointerdown to the first frame in which both forest
  plots show the study's new status (toggle-to-redraw), and to the settled page;
- page: click "Sensitivity" in the sidebar, until its URL, a chart and the finished run.

Per step: p50 and p95 latency over all sessions and rounds, and errors (a step that times
out, or a page that shows an exception). Memory: the server's resident set (VmRSS of the
process and its children, from /proc) sampled every 0.2 s; its peak over the baseline after
warm-up, per session. Every level is bounded: ``--timeout`` seconds per step and
``--budget`` seconds for the whole level, after which unfinished sessions are cancelled and
counted as errors.

With ``--client protocol`` each session speaks Streamlit's websocket protocol instead of
running a browser (the same three steps as rerun messages), so the browsers' CPU no longer
competes with the server's on the same cores: what the server alone sustains.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import inpage  # noqa: E402
from benchmarks.results import write_section  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_app,
    stop_app,
    wait_healthy,
)

LINK = "?tpoint=interp"  # three studies per outcome: the toggled one changes both plots
STUDY = "Yu 2014"
STEPS = ("open", "toggle", "settled", "page")
# The browsers share the server's two cores: spare them software GL and animations.
LIGHT_ARGS = ["--disable-software-rasterizer", "--disable-gpu-compositing"]
HIT = 'g.mark-rect.role-mark path[aria-roledescription="rect mark"]'
ROW = f'{HIT}[aria-label*="Row: {STUDY};"][aria-label*="Status:"]'


# ---------------------------------------------------------------------------------------
# Memory of the server's process tree, from /proc (psutil is not a dependency)


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        kids = []
        for t in tasks:
            text = (t / "children").read_text()
            kids += [int(c) for c in text.split()]
        return kids
    except OSError:
        return []


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and all its descendants."""
    total, todo = 0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
        todo += _children(p)
    return total / tick


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in kB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += _status_kb(p, "VmRSS")
        todo += _children(p)
    return total


class RssSampler(threading.Thread):
    """Samples the tree's RSS every ``every`` seconds; ``peak`` since the last ``reset``."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.peak = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.peak = max(self.peak, tree_rss_kb(self.pid))
            self._halt.wait(self.every)

    def reset(self) -> None:
        self.peak = tree_rss_kb(self.pid)

    def stop(self) -> None:
        self._halt.set()


# ---------------------------------------------------------------------------------------
# One browser session


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STEPS})
    errors: dict[str, int] = field(default_factory=lambda: {s: 0 for s in STEPS})
    messages: list[str] = field(default_factory=list)


async def _idle(page, timeout: float) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=timeout)
    await expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout)


async def _no_exception(page) -> None:
    if await page.get_by_test_id("stException").count():
        raise RuntimeError("the page shows an exception")


async def _think(seconds: float) -> None:
    """A user's pause between actions: uniform on [0.5, 1.5] x ``seconds``."""
    if seconds > 0:
        await asyncio.sleep(seconds * random.uniform(0.5, 1.5))


async def _step(tally: Tally, name: str, coro) -> bool:
    """Run one step; its time is the wall time, or the times (s) by step name it returns."""
    t0 = time.perf_counter()
    try:
        timed = await coro
    except Exception as exc:  # a timeout or an exception on the page: count it, go on
        tally.errors[name] += 1
        tally.messages.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        return False
    for step, seconds in (timed or {name: time.perf_counter() - t0}).items():
        tally.times[step].append(seconds)
    return True


async def session(
    browser, base: str, rounds: int, timeout_s: float, think_s: float, tally: Tally
) -> None:
    from playwright.async_api import expect

    ms = timeout_s * 1000
    context = await browser.new_context(
        viewport={"width": 1440, "height": 1100}, reduced_motion="reduce"
    )
    await context.add_init_script(inpage.INIT)
    page = await context.new_page()
    try:
        for _ in range(rounds):

            async def open_link() -> None:
                await page.goto(base + "/" + LINK, timeout=ms)
                await expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=ms)
                await _idle(page, ms)
                await _no_exception(page)

            if not await _step(tally, "open", open_link()):
                continue
            await _think(think_s)

            async def toggle() -> dict[str, float]:
                row = page.locator(".vega-embed").first.locator(ROW).first
                label = await row.get_attribute("aria-label") or ""
                want = "included" if "Status: excluded" in label else "excluded"
                await page.evaluate(inpage.ARM)
                await row.click(timeout=ms)
                await page.wait_for_function(
                    inpage.REDRAWN, arg=[STUDY, want], polling="raf", timeout=ms
                )
                await page.wait_for_function(
                    inpage.SETTLED, arg=inpage.QUIET_MS, polling=50, timeout=ms
                )
                await _no_exception(page)
                redrawn, settled = await page.evaluate(inpage.TIMES)
                return {"toggle": redrawn / 1000, "settled": settled / 1000}

            await _step(tally, "toggle", toggle())
            await _think(think_s)

            async def switch() -> None:
                nav = page.get_by_test_id("stSidebarNav")
                await nav.get_by_text("Sensitivity", exact=True).click(timeout=ms)
                await expect(page).to_have_url(re.compile(r"/sensitivity\?"), timeout=ms)
                await expect(page.locator(".vega-embed svg").first).to_be_visible(timeout=ms)
                await _idle(page, ms)
                await _no_exception(page)

            await _step(tally, "page", switch())
            await _think(think_s)
    finally:
        await context.close()


async def protocol_session(
    base: str, rounds: int, timeout_s: float, think_s: float, tally: Tally
) -> None:
    """One user as Streamlit's own websocket protocol sees it, without a browser: each step
    sends the BackMsg the browser would (rerun with the link; with the link plus
    ``exclude=`` for a toggle; with the Sensitivity page) and waits for the server's
    ``script_finished``. Times the server's work and the transport, not the rendering."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    query = LINK.lstrip("?")
    url = base.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:

        async def rerun(query_string: str, page: str = "") -> None:
            msg = BackMsg()
            msg.rerun_script.query_string = query_string
            msg.rerun_script.page_name = page
            await ws.send(msg.SerializeToString())
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout_s))
                if fwd.WhichOneof("type") == "script_finished":
                    return

        excluded = False
        for _ in range(rounds):
            if not await _step(tally, "open", rerun(query)):
                return
            await _think(think_s)
            excluded = not excluded
            toggled = f"{query}&exclude=Yu2014" if excluded else query
            await _step(tally, "toggle", rerun(toggled))
            await _think(think_s)
            await _step(tally, "page", rerun(toggled, "sensitivity"))
            await _think(think_s)


async def _gather(sessions: list, budget_s: float, tally: Tally) -> None:
    """Run the sessions at once for at most ``budget_s``; what is left counts as errors."""
    tasks = [asyncio.create_task(s) for s in sessions]
    done, pending = await asyncio.wait(tasks, timeout=budget_s)
    for t in pending:
        t.cancel()
        tally.messages.append("session cancelled: the level's time budget ran out")
    for t in done:
        if t.exception() is not None:
            tally.messages.append(f"session failed: {t.exception()!r}"[:200])
    tally.errors["open"] += len(pending) + sum(t.exception() is not None for t in done)
    if pending:
        await asyncio.wait(pending, timeout=30)


async def run_level(
    base: str,
    n: int,
    rounds: int,
    timeout_s: float,
    budget_s: float,
    think_s: float,
    client: str = "browser",
) -> Tally:
    from playwright.async_api import async_playwright

    tally = Tally()
    if client == "protocol":
        sessions = [protocol_session(base, rounds, timeout_s, think_s, tally) for _ in range(n)]
        await _gather(sessions, budget_s, tally)
        return tally
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *LIGHT_ARGS]
        )
        try:
            await _gather(
                [session(browser, base, rounds, timeout_s, think_s, tally) for _ in range(n)],
                budget_s,
                tally,
            )
        finally:
            await browser.close()
    return tally


# ---------------------------------------------------------------------------------------
# Levels, summary and the RESULTS.md section


def pct(seconds: list[float], q: float) -> float:
    """Nearest-rank percentile in ms (NaN for no data)."""
    if not seconds:
        return float("nan")
    ms = sorted(s * 1000 for s in seconds)
    return ms[min(len(ms) - 1, max(0, round(q * len(ms)) - 1))]


@dataclass
class Level:
    n: int
    tally: Tally
    baseline_mb: float
    peak_mb: float
    load_before: str
    load_after: str
    wall_s: float
    server_cpu_s: float
    busy_cpu_s: float

    @property
    def per_session_mb(self) -> float:
        return max(0.0, self.peak_mb - self.baseline_mb) / self.n


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def settle(below: float, wait_s: float = 240.0) -> None:
    """Wait (at most ``wait_s``) for the 1-minute load average to fall below ``below``: the
    previous level's browsers leave it high for a while."""
    deadline = time.monotonic() + wait_s
    while float(loadavg().split()[0]) >= below and time.monotonic() < deadline:
        time.sleep(5)


def level(
    n: int, rounds: int, timeout_s: float, budget_s: float, think_s: float, client: str
) -> Level:
    log = ROOT / "benchmarks" / "_out" / f"load-{n}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_app(port, log)
    sampler = RssSampler(proc.pid)
    try:
        try:
            wait_healthy(base, proc, log, timeout=120)
        except BaseException as exc:  # pytest.fail outside pytest
            raise SystemExit(f"streamlit did not start: {exc}") from None
        warm = asyncio.run(run_level(base, 1, 1, timeout_s, budget_s, 0.0, client))  # caches
        if sum(warm.errors.values()):
            print("  warm-up errors:", warm.messages)
        time.sleep(2)
        baseline = tree_rss_kb(proc.pid)
        sampler.start()
        sampler.reset()
        before = loadavg()
        t0, cpu0, busy0 = time.perf_counter(), tree_cpu_s(proc.pid), machine_busy_s()
        tally = asyncio.run(run_level(base, n, rounds, timeout_s, budget_s, think_s, client))
        wall = time.perf_counter() - t0
        cpu, busy = tree_cpu_s(proc.pid) - cpu0, machine_busy_s() - busy0
        peak = sampler.peak / 1024
        return Level(n, tally, baseline / 1024, peak, before, loadavg(), wall, cpu, busy)
    finally:
        sampler.stop()
        stop_app(proc)


def report(lv: Level) -> None:
    t = lv.tally
    parts = [
        f"{s} p50 {pct(t.times[s], 0.5):.0f} / p95 {pct(t.times[s], 0.95):.0f} ms "
        f"({len(t.times[s])} ok, {t.errors[s]} err)"
        for s in STEPS
    ]
    print(f"N={lv.n}: " + "; ".join(parts))
    print(
        f"  RSS baseline {lv.baseline_mb:.0f} MB, peak {lv.peak_mb:.0f} MB, "
        f"{lv.per_session_mb:.1f} MB/session; load {lv.load_before} -> {lv.load_after}; "
        f"{lv.wall_s:.0f} s; server CPU {lv.server_cpu_s:.0f} s of {lv.busy_cpu_s:.0f} s busy"
    )
    for m in t.messages[:5]:
        print("   ", m)


def write(levels: list[Level], rounds: int, think: float, note: str, client: str) -> None:
    today = dt.date.today().isoformat()
    pause = f"a pause of {think:g} s (0.5-1.5x) after each step" if think else "no pauses"
    steps = [s for s in STEPS if any(lv.tally.times[s] for lv in levels)]
    if client == "protocol":
        title = "Load, server only"
        who = (
            "N concurrent sessions of a client that speaks Streamlit's websocket protocol "
            "(no browser), on the same machine as the server"
        )
        timing = (
            "Each step: from sending the browser's rerun message (the link; the link with "
            "exclude=; the Sensitivity page) to the server's script_finished, i.e. the "
            "server's work and the transport, without rendering."
        )
    else:
        title = "Load"
        who = "N browser contexts of one headless Chromium on the same machine as the server"
        timing = (
            "Open and page: from the action to the finished, redrawn page; toggle: from the "
            "click's pointerdown to both forest plots redrawn, timed in the page (settled: to "
            f"the page's last change, quiet for {inpage.QUIET_MS} ms after it)."
        )
    lines = [
        f"`python3 benchmarks/load_test.py --client {client} --think {think:g}` on {today}, "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"link `{LINK}`. {who}, each {rounds} rounds of: open the link, toggle {STUDY} in "
        f"the OS forest plot, switch to Sensitivity; {pause}. {timing} p50 / p95 over all "
        "sessions and rounds. RSS: the server's process tree; per session = (peak - baseline "
        "after warm-up) / N. Server CPU: the server's CPU seconds during the level and their "
        "share of all busy CPU seconds on the machine. Load average (1 min) before -> after.",
        "",
        "| N | " + " | ".join(f"{s} p50 / p95" for s in steps) + " | errors | RSS peak "
        "(baseline) | per session | server CPU (share) | load |",
        "|---:|" + "---:|" * (len(steps) + 4) + "---|",
    ]
    for lv in levels:
        t = lv.tally
        cells = [f"{pct(t.times[s], 0.5):.0f} / {pct(t.times[s], 0.95):.0f} ms" for s in steps]
        share = 100 * lv.server_cpu_s / lv.busy_cpu_s if lv.busy_cpu_s else float("nan")
        lines.append(
            f"| {lv.n} | {' | '.join(cells)} | {sum(t.errors.values())} | "
            f"{lv.peak_mb:.0f} MB ({lv.baseline_mb:.0f}) | {lv.per_session_mb:.1f} MB | "
            f"{lv.server_cpu_s:.0f} s ({share:.0f}%) | "
            f"{lv.load_before.split()[0]} -> {lv.load_after.split()[0]} |"
        )
    lines += ["", "Target: N = 20 with toggle p95 under 2 s and no errors.", ""]
    if note:
        lines += [note, ""]
    write_section(title, lines)
    print(f"wrote the {title} section of", ROOT / "benchmarks" / "RESULTS.md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per step")
    ap.add_argument("--budget", type=float, default=600.0, help="seconds per level")
    ap.add_argument("--settle", type=float, default=3.0, help="start a level below this load")
    ap.add_argument("--think", type=float, default=0.0, help="mean pause between steps, s")
    ap.add_argument("--note", default="", help="a paragraph to add under the table")
    ap.add_argument(
        "--client",
        choices=["browser", "protocol"],
        default="browser",
        help="headless Chromium, or Streamlit's websocket protocol without a browser",
    )
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    if args.client == "browser" and not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium")
    if args.sessions and max(args.sessions) > 50:
        raise SystemExit("at most 50 sessions")
    levels = []
    for n in args.sessions:
        settle(args.settle)
        print(f"level N = {n} (load {loadavg()})")
        lv = level(n, args.rounds, args.timeout, args.budget, args.think, args.client)
        report(lv)
        levels.append(lv)
    if not args.no_write:
        write(levels, args.rounds, args.think, args.note, args.client)


if __name__ == "__main__":
    main()
