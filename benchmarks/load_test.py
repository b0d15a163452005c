"""Many users at once (run by hand, not in CI; needs Debian's chromium-headless-shell or
chromium):

    python3 benchmarks/load_test.py                 # N = 5, 10, 20; writes its RESULTS.md section
    python3 benchmarks/load_test.py --sessions 5 --hold 30 --no-write --check
    python3 benchmarks/load_test.py --client protocol  # no browsers: the server alone
    python3 benchmarks/load_test.py --client protocol --saved --sessions 50 --hold 0

For each N the app is started afresh (``streamlit run`` on a free localhost port, as the
browser tests do) and warmed up by one session opening the link. Then N browser contexts of
one headless Chromium arrive one after another, evenly over ``--ramp`` seconds (people
joining a meeting, not N page loads in the same instant). Each opens the link once and then
repeats rounds of three steps, with a pause of ``--think`` seconds (0.5-1.5x) before each:

- toggle: click a study's row in the OS forest plot; timed in the page with its own clock
  (benchmarks/inpage.py) from the click's pointerdown to the first frame in which both forest
  plots show the study's new status (toggle-to-redraw), and to the settled page;
- page: click "Sensitivity" in the sidebar, until its URL, a chart and the finished run;
- page: click "Overview", until both forest plots show the study and the run is finished.

Once the last session has opened the link the level is at full load: all N sessions go on
for ``--hold`` seconds and then stop together. Only steps started at full load are timed
(open: every session's), so every number is N sessions at once; errors count throughout.

Per step: p50 and p95 latency, and errors (a step that times out, or a page that shows an
exception). Memory: the server's resident set (VmRSS of the process and its children, from
/proc) sampled every 0.2 s; its peak over the baseline after warm-up, per session. CPU: the
server's CPU seconds, each kind of Chromium process's, and how busy the machine's cores were
over the hold. Every level is bounded: ``--timeout`` seconds per step and ``--budget`` seconds
for the whole level, after which unfinished sessions are cancelled and counted as errors.

The browsers are the headless shell (``chromium-headless-shell``, what Playwright itself runs
headless) where it is installed: the full browser in headless mode adds a browser-UI renderer
per window, CPU that no user's browser takes from the server.

With ``--client protocol`` each session speaks Streamlit's websocket protocol instead of
running a browser (the same steps as rerun messages), so the browsers' CPU no longer
competes with the server's on the same cores: what the server alone sustains.

With ``--saved`` each session opens its own saved dataset instead (``?data=<token>&...``):
before the levels, copies of the bundled data, each with one value changed (a benchmark's
stand-in, not evidence), are saved with :class:`core.store.Store` into a SQLite store in a
temporary folder, and the servers are started with ``EXPLORER_STORE`` pointing at it. The
warm-up opens the plain link, so every timed open reads, decrypts and analyses a dataset the
server has not seen. A page that says the link's dataset could not be opened is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import inpage  # noqa: E402
from benchmarks.results import write_section  # noqa: E402
from core.data.dataset import load_bundled  # noqa: E402
from core.store import Saved, Settings, Store  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_app,
    stop_app,
    wait_healthy,
)

HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
BROWSER = HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM
LINK = "?tpoint=interp"  # three studies per outcome: the toggled one changes both plots
STUDY = "Yu 2014"
NOT_OPENED = "saved dataset could not be opened"  # ui/saved.py's notice
STEPS = ("open", "toggle", "settled", "page")
# The browsers share the server's two cores: spare them software GL and animations.
LIGHT_ARGS = ["--disable-software-rasterizer", "--disable-gpu-compositing"]
HIT = 'g.mark-rect.role-mark path[aria-roledescription="rect mark"]'
# A forest plot has two clickable areas per study, both carrying its tooltip: its label (first
# in the DOM) and its row in the plot panel (last); ROW matches both.
ROW = f'{HIT}[aria-label*="Row: {STUDY};"][aria-label*="Status:"]'


# ---------------------------------------------------------------------------------------
# Memory and CPU of the server's process tree and the browsers, from /proc (psutil is not a
# dependency)


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


def _tree(pid: int) -> Iterator[int]:
    """``pid`` and all its descendants (children read as the walk reaches them)."""
    todo = [pid]
    while todo:
        p = todo.pop()
        yield p
        todo += _children(p)


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of one process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and all its descendants."""
    total = 0.0
    for p in _tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):  # it has just ended
            total += _cpu_s(p)
    return total


def machine_busy_s() -> float:
    """CPU seconds all cores spent busy (not idle or iowait) since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def browser_cpu_s(root: int) -> dict[str, float]:
    """CPU seconds of the Chromium processes below ``root`` (this process: the browsers it
    launched, never another Chromium on the machine) by kind: ``renderer`` (the pages),
    ``browser``, ``gpu-process``, ``utility`` (network, storage) and the rest."""
    out: dict[str, float] = {}
    for pid in _tree(root):
        proc = Path(f"/proc/{pid}")
        try:
            if b"chrom" not in (proc / "comm").read_bytes():
                continue
            args = (proc / "cmdline").read_bytes().replace(b"\0", b" ").split()
            kind = next((a[7:].decode() for a in args if a.startswith(b"--type=")), "browser")
            out[kind] = out.get(kind, 0.0) + _cpu_s(pid)
        except (OSError, IndexError, ValueError):
            continue
    return out


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """Busy CPU seconds of the machine, the server's tree and the browsers, and the clock."""
    return {
        "wall": time.monotonic(),
        "busy": machine_busy_s(),
        "server": tree_cpu_s(server_pid),
        **browser_cpu_s(os.getpid()),
    }


def tree_rss_kb(pid: int) -> int:
    """VmRSS of ``pid`` and all its descendants, in kB."""
    return sum(_status_kb(p, "VmRSS") for p in _tree(pid))


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
# One session


@dataclass(frozen=True)
class Plan:
    """What every session of a level does: arrive (evenly over ``ramp_s``), open the link,
    then rounds of steps until ``hold_s`` after the last arrival."""

    hold_s: float
    timeout_s: float
    budget_s: float
    think_s: float
    ramp_s: float
    client: str = "browser"
    browser: Path = BROWSER
    links: tuple[str, ...] = ()  # session i opens links[i]; none: every session opens LINK

    @property
    def title(self) -> str:
        """Its section in RESULTS.md: one per client (browser) and pause."""
        who = "server only" if self.client == "protocol" else self.browser.name
        if self.links:
            return f"Saved datasets: each session opens its own, {who}"
        return f"Load, {who}, pause {self.think_s:g} s"


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


async def _step(tally: Tally, name: str, coro, *, keep: bool = True) -> bool:
    """Run one step; its time is the wall time, or the times (s) by step name it returns.
    Errors always count; times only where ``keep``."""
    t0 = time.perf_counter()
    try:
        timed = await coro
    except Exception as exc:  # a timeout or an exception on the page: count it, go on
        tally.errors[name] += 1
        tally.messages.append(f"{name}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        return False
    for step, seconds in (timed or {name: time.perf_counter() - t0}).items():
        if keep:
            tally.times[step].append(seconds)
    return True


Snapshot = Callable[[], dict[str, float]]


class Phase:
    """The level's clock. Sessions arrive over the ramp; once every one has opened the link
    (or failed to) the level is at full load, and it stays there until the hold is over,
    when every session stops. Only steps started at full load are timed: the table's
    numbers are N sessions at once, never fewer."""

    def __init__(self, n: int, hold_s: float, snapshot: Snapshot = dict) -> None:
        self.left, self.hold_s, self.snapshot = n, hold_s, snapshot
        self.end = float("inf")
        self.cpu: list[dict[str, float]] = []  # at full load, at the end of the hold

    def arrived(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.end = time.monotonic() + self.hold_s
            self.cpu.append(self.snapshot())
            asyncio.get_running_loop().call_later(
                self.hold_s, lambda: self.cpu.append(self.snapshot())
            )

    @property
    def full(self) -> bool:
        return self.left <= 0

    @property
    def over(self) -> bool:
        return time.monotonic() >= self.end


@dataclass(frozen=True)
class Start:
    """When a session arrives (seconds into the level) and the level's clock."""

    arrive_s: float
    phase: Phase
    link: str = LINK


PAGES = ("sensitivity", "overview")  # each round: the toggle, then these page switches


async def _user(tally: Tally, plan: Plan, phase: Phase, open_link, toggle, switch) -> None:
    """One user's steps: open the link, then rounds of the toggle and the page switches, a
    pause before each, until the level's hold is over."""
    try:
        opened = await _step(tally, "open", open_link())
    finally:
        phase.arrived()
    steps = [("toggle", toggle), *(("page", lambda n=n: switch(n)) for n in PAGES)]
    while opened and not phase.over:
        for name, action in steps:
            await _think(plan.think_s)
            if phase.over:
                return
            await _step(tally, name, action(), keep=phase.full)


async def session(browser, base: str, plan: Plan, start: Start, tally: Tally) -> None:
    from playwright.async_api import expect

    ms = plan.timeout_s * 1000
    await asyncio.sleep(start.arrive_s)
    try:
        context = await browser.new_context(
            viewport={"width": 1440, "height": 1100}, reduced_motion="reduce"
        )
        await context.add_init_script(inpage.INIT)
        page = await context.new_page()
    except Exception:
        start.phase.arrived()
        raise

    async def open_link() -> None:
        await page.goto(base + "/" + start.link, timeout=ms)
        await expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=ms)
        await _idle(page, ms)
        await _no_exception(page)
        if await page.get_by_text(NOT_OPENED).count():
            raise RuntimeError("the link's saved dataset was not opened")

    async def toggle() -> dict[str, float]:
        row = page.locator(".vega-embed").first.locator(ROW).last  # the row, not the label
        label = await row.get_attribute("aria-label", timeout=ms) or ""
        want = "included" if "Status: excluded" in label else "excluded"
        await page.evaluate(inpage.ARM)
        await row.click(timeout=ms)
        await page.wait_for_function(inpage.REDRAWN, arg=[STUDY, want], polling="raf", timeout=ms)
        await page.wait_for_function(inpage.SETTLED, arg=inpage.QUIET_MS, polling=50, timeout=ms)
        await _no_exception(page)
        redrawn, settled = await page.evaluate(inpage.TIMES)
        return {"toggle": redrawn / 1000, "settled": settled / 1000}

    async def switch(name: str) -> None:
        nav = page.get_by_test_id("stSidebarNav")
        await nav.get_by_text(name.capitalize(), exact=True).click(timeout=ms)
        if name == "sensitivity":
            await expect(page).to_have_url(re.compile(r"/sensitivity\?"), timeout=ms)
            await expect(page.locator(".vega-embed svg").first).to_be_visible(timeout=ms)
        else:  # the overview again: both forest plots with the study's row
            plots = page.locator(".vega-embed").filter(has=page.locator(ROW))
            await expect(plots).to_have_count(2, timeout=ms)
        await _idle(page, ms)
        await _no_exception(page)

    try:
        await _user(tally, plan, start.phase, open_link, toggle, switch)
    finally:
        await context.close()


async def protocol_session(base: str, plan: Plan, start: Start, tally: Tally) -> None:
    """One user as Streamlit's own websocket protocol sees it, without a browser: each step
    sends the BackMsg the browser would (rerun with the link; with the link plus
    ``exclude=`` for a toggle; with the Sensitivity page, then the overview) and waits for
    the server's ``script_finished``. Times the server's work and the transport, not the
    rendering. A run that shows an exception, or says the link's saved dataset could not be
    opened, fails the step."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    query = start.link.lstrip("?")
    url = base.replace("http://", "ws://") + "/_stcore/stream"
    await asyncio.sleep(start.arrive_s)
    try:
        ws = await websockets.connect(url, subprotocols=["streamlit"], max_size=None)
    except Exception:
        start.phase.arrived()
        raise
    current = {"query": query}  # the link as the last toggle left it

    async def rerun(query_string: str, page: str = "") -> None:
        msg = BackMsg()
        msg.rerun_script.query_string = query_string
        msg.rerun_script.page_name = page
        await ws.send(msg.SerializeToString())
        while True:
            fwd = ForwardMsg()
            fwd.ParseFromString(await asyncio.wait_for(ws.recv(), plan.timeout_s))
            if fwd.WhichOneof("type") == "script_finished":
                return
            element = fwd.delta.new_element
            if element.HasField("exception"):
                raise RuntimeError(f"the page shows an exception: {element.exception.message}")
            if NOT_OPENED in element.alert.body:
                raise RuntimeError(element.alert.body)

    async def toggle() -> None:
        current["query"] = f"{query}&exclude=Yu2014" if current["query"] == query else query
        await rerun(current["query"])

    async def switch(name: str) -> None:
        await rerun(current["query"], "" if name == "overview" else name)

    try:
        await _user(tally, plan, start.phase, lambda: rerun(query), toggle, switch)
    finally:
        await ws.close()


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
    base: str, n: int, plan: Plan, snapshot: Snapshot = dict
) -> tuple[Tally, Phase]:
    """N sessions, the i-th arriving ``ramp_s * i / n`` seconds into the level; ``snapshot()``
    is taken at full load and at the end of the hold."""
    from playwright.async_api import async_playwright

    tally, phase = Tally(), Phase(n, plan.hold_s, snapshot)
    links = plan.links or (LINK,) * n
    starts = [Start(plan.ramp_s * i / n, phase, links[i]) for i in range(n)]
    if plan.client == "protocol":
        sessions = [protocol_session(base, plan, s, tally) for s in starts]
        await _gather(sessions, plan.budget_s, tally)
        return tally, phase
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=str(plan.browser), args=[*CHROMIUM_ARGS, *LIGHT_ARGS]
        )
        try:
            sessions = [session(browser, base, plan, s, tally) for s in starts]
            await _gather(sessions, plan.budget_s, tally)
        finally:
            await browser.close()
    return tally, phase


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
    cpu: dict[str, float]  # CPU seconds over the hold, by process kind; "wall": its length

    @property
    def per_session_mb(self) -> float:
        return max(0.0, self.peak_mb - self.baseline_mb) / self.n

    def share(self, seconds: float) -> float:
        """``seconds`` as a share of the machine's busy CPU over the hold (NaN without one)."""
        busy = self.cpu.get("busy", 0.0)
        return seconds / busy if busy else float("nan")

    @property
    def busy_share(self) -> float:
        """How busy the cores were over the hold (1 = all of them all the time)."""
        wall = self.cpu.get("wall", 0.0)
        return self.cpu.get("busy", 0.0) / (wall * (os.cpu_count() or 1)) if wall else float("nan")

    @property
    def browsers_s(self) -> float:
        """All Chromium processes' CPU seconds over the hold."""
        return sum(v for k, v in self.cpu.items() if k not in ("wall", "busy", "server"))


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def settle(below: float, wait_s: float = 240.0) -> None:
    """Wait (at most ``wait_s``) for the 1-minute load average to fall below ``below``: the
    previous level's browsers leave it high for a while. ``below`` <= 0: no wait."""
    if below <= 0:
        return
    deadline = time.monotonic() + wait_s
    while float(loadavg().split()[0]) >= below and time.monotonic() < deadline:
        time.sleep(5)


def save_copies(n: int, url: str) -> tuple[str, ...]:
    """Save ``n`` copies of the bundled data into the store at ``url``, copy i with the first
    outcome row's ``rate_rt`` lowered by 0.1 * (i + 1) points (so no two are alike and no
    cache serves one for another); the link (``LINK`` with ``data=``) of each."""
    store, base = Store(Settings(url)), load_bundled()
    links = []
    for i in range(n):
        outcomes = base.outcomes.copy()
        outcomes.loc[0, "rate_rt"] = round(float(outcomes.loc[0, "rate_rt"]) - 0.1 * (i + 1), 1)
        saved = store.save(replace(base, outcomes=outcomes), note=f"load test copy {i}")
        if not isinstance(saved, Saved):
            raise SystemExit(f"saving copy {i} failed: {saved}")
        links.append(f"?data={saved.token}&{LINK.lstrip('?')}")
    return tuple(links)


def level(n: int, plan: Plan) -> Level:
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
        warm_plan = replace(plan, hold_s=0.0, think_s=0.0, ramp_s=0.0, links=())
        warm, _ = asyncio.run(run_level(base, 1, warm_plan))  # fills the per-view caches
        if sum(warm.errors.values()):
            print("  warm-up errors:", warm.messages)
        time.sleep(2)
        baseline = tree_rss_kb(proc.pid)
        sampler.start()
        sampler.reset()
        before, first = loadavg(), cpu_snapshot(proc.pid)
        tally, phase = asyncio.run(run_level(base, n, plan, lambda: cpu_snapshot(proc.pid)))
        cpu = {}
        if plan.hold_s <= 0:  # opens only: CPU over the whole level
            phase.cpu = [first, cpu_snapshot(proc.pid)]
        if len(phase.cpu) == 2:  # the hold was reached and ended
            cpu = {k: v - phase.cpu[0].get(k, 0.0) for k, v in phase.cpu[1].items()}
        peak = sampler.peak / 1024
        return Level(n, tally, baseline / 1024, peak, before, loadavg(), cpu)
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
        f"{lv.per_session_mb:.1f} MB/session; load {lv.load_before} -> {lv.load_after}"
    )
    print("  CPU s over the hold:", json.dumps({k: round(v, 1) for k, v in lv.cpu.items()}))
    for m in t.messages[:5]:
        print("   ", m)


def write(levels: list[Level], plan: Plan, note: str) -> None:
    today = dt.date.today().isoformat()
    think = plan.think_s
    pause = f"a pause of {think:g} s (0.5-1.5x) before each step" if think else "no pauses"
    rounds, over = (
        f"then repeats: toggle {STUDY} in the OS forest plot, switch to Sensitivity, back to "
        f"Overview; {pause}. Once the last one has opened the link, all N go on for "
        f"{plan.hold_s:g} s (the hold); only steps started in the hold are timed (open: all).",
        "the hold",
    )
    if plan.hold_s <= 0:
        rounds, over = "and stops (no hold): only the opens are timed.", "the level"
    steps = [s for s in STEPS if any(lv.tally.times[s] for lv in levels)]
    flag = "" if plan.browser == BROWSER else f" --browser {plan.browser}"
    saved = ""
    if plan.links:
        flag += " --saved"
        saved = (
            " Each session opens its own saved dataset, `?data=<token>&"
            f"{LINK.lstrip('?')}`: before the level, N copies of the bundled data (copy i with "
            "the first outcome row's rate_rt lowered by 0.1 (i + 1) points: a benchmark's "
            "stand-in, not evidence) were saved with core.store into a SQLite store that the "
            "server reads (EXPLORER_STORE); the warm-up opened the plain link, so every open "
            "reads, decrypts and analyses a dataset new to the server. A page saying the "
            "dataset could not be opened counts as an error."
        )
    if plan.client == "protocol":
        who = (
            "N sessions of a client that speaks Streamlit's websocket protocol (no browser), "
            "on the same machine"
        )
        timing = (
            "Each step: from sending the browser's rerun message (the link; the link with "
            "exclude=; the Sensitivity page; the overview) to the server's script_finished, "
            "i.e. the server's work and the transport, without rendering."
        )
    else:
        who = f"N browser contexts of one headless Chromium (`{plan.browser}`) on the same machine"
        timing = (
            "Open and page: from the action to the finished, redrawn page; toggle: from the "
            "click's pointerdown to both forest plots redrawn, timed in the page (settled: to "
            f"the page's last change, quiet for {inpage.QUIET_MS} ms after it)."
        )
    lines = [
        f"`python3 benchmarks/load_test.py --client {plan.client} --think {think:g} --ramp "
        f"{plan.ramp_s:g} --hold {plan.hold_s:g}{flag}` on {today}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, link `{LINK}`.{saved} "
        f"{who} as "
        f"the server, arriving evenly over {plan.ramp_s:g} s; each opens the link once, "
        f"{rounds} {timing} p50 / p95 over all sessions. RSS: the server's process tree; per "
        f"session = (peak - baseline after warm-up) / N. CPU over {over}: the server's and the "
        "browsers' CPU seconds (share of all busy CPU seconds on the machine), and how busy "
        "the cores were. Load average (1 min) before -> after.",
        "",
        "| N | " + " | ".join(f"{s} p50 / p95 (n)" for s in steps) + " | errors | RSS peak "
        "(baseline) | per session | server CPU | browsers' CPU | cores busy | load |",
        "|---:|" + "---:|" * (len(steps) + 6) + "---|",
    ]
    for lv in levels:
        t = lv.tally
        cells = [
            f"{pct(t.times[s], 0.5):.0f} / {pct(t.times[s], 0.95):.0f} ms ({len(t.times[s])})"
            for s in steps
        ]
        server = lv.cpu.get("server", 0.0)
        browsers = "–"  # the protocol client runs none
        if plan.client == "browser":
            browsers = f"{lv.browsers_s:.0f} s ({100 * lv.share(lv.browsers_s):.0f}%)"
        lines.append(
            f"| {lv.n} | {' | '.join(cells)} | {sum(t.errors.values())} | "
            f"{lv.peak_mb:.0f} MB ({lv.baseline_mb:.0f}) | {lv.per_session_mb:.1f} MB | "
            f"{server:.0f} s ({100 * lv.share(server):.0f}%) | "
            f"{browsers} | {100 * lv.busy_share:.0f}% | "
            f"{lv.load_before.split()[0]} -> {lv.load_after.split()[0]} |"
        )
    lines.append("")
    if not plan.links:
        lines += ["Target: N = 20 with toggle p95 under 2 s and no errors.", ""]
    if note:
        lines += [note, ""]
    write_section(plan.title, lines)
    print(f"wrote the {plan.title} section of", ROOT / "benchmarks" / "RESULTS.md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20])
    ap.add_argument("--hold", type=float, default=120.0, help="seconds at full load")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per step")
    ap.add_argument("--budget", type=float, default=600.0, help="seconds per level")
    ap.add_argument("--settle", type=float, default=3.0, help="start below this load; 0: at once")
    ap.add_argument("--think", type=float, default=5.0, help="mean pause between steps, s")
    ap.add_argument("--ramp", type=float, default=60.0, help="sessions arrive over this, s")
    ap.add_argument("--note", default="", help="a paragraph to add under the table")
    ap.add_argument(
        "--client",
        choices=["browser", "protocol"],
        default="browser",
        help="headless Chromium, or Streamlit's websocket protocol without a browser",
    )
    ap.add_argument("--browser", type=Path, default=BROWSER, help="the Chromium to run")
    ap.add_argument("--saved", action="store_true", help="each session opens its own saved dataset")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--check", action="store_true", help="exit 1 if any step failed")
    args = ap.parse_args()
    if args.client == "browser" and not args.browser.exists():
        raise SystemExit(f"{args.browser} not found: install Debian's chromium-headless-shell")
    if args.sessions and max(args.sessions) > 50:
        raise SystemExit("at most 50 sessions")
    plan = Plan(
        args.hold, args.timeout, args.budget, args.think, args.ramp, args.client, args.browser
    )
    with tempfile.TemporaryDirectory() as tmp:
        if args.saved:  # the servers started below inherit the store
            os.environ["EXPLORER_STORE"] = f"sqlite:///{tmp}/store.sqlite3"
            links = save_copies(max(args.sessions), os.environ["EXPLORER_STORE"])
            plan = replace(plan, links=links)
        run(plan, args)


def run(plan: Plan, args: argparse.Namespace) -> None:
    """Every level of ``args.sessions``; the section written; exit 1 on errors if asked."""
    levels = []
    for n in args.sessions:
        settle(args.settle)
        print(f"level N = {n} (load {loadavg()})")
        lv = level(n, plan)
        report(lv)
        levels.append(lv)
    if not args.no_write:
        write(levels, plan, args.note)
    if args.check and any(sum(lv.tally.errors.values()) for lv in levels):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
