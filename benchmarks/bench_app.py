"""Dashboard timings (run by hand, not in CI; needs Debian's /usr/bin/chromium):

    python3 benchmarks/bench_app.py            # appends a "Dashboard" section to RESULTS.md
    python3 benchmarks/bench_app.py --no-write # print only

(a) server side: one full script run (app.py, sidebar, page) per page with AppTest, median
and p95 of N runs after warm-up runs; (b) in the browser: from a click on a study's row in
the forest plot (which toggles it) to both plots showing its new status and to the settled
page, timed in the page (benchmarks/inpage.py), median and p95 over the toggles; (c) where
a rerun's time goes: core analysis, forest frame, Altair chart build and spec serialisation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.inpage import QUIET_MS  # noqa: E402
from benchmarks.results import write_section  # noqa: E402
from core.charts.forest import forest_chart  # noqa: E402
from core.data.dataset import load_bundled  # noqa: E402
from core.state.view import parse_query  # noqa: E402
from core.views.analysis import analyse, forest_frame  # noqa: E402

OUT = ROOT / "benchmarks" / "RESULTS.md"
LINK = "?tpoint=interp"  # three studies per outcome: the toggled one changes both plots
STUDY = "Yu 2014"
PAGES = {
    "overview": "pages/overview.py",
    "studies": "pages/studies.py",
    "sensitivity": "pages/sensitivity.py",
    "bias": "pages/bias.py",
    "presentation": "pages/presentation.py",
}


def summary(seconds: list[float]) -> tuple[float, float]:
    """(median, p95) in milliseconds (p95: nearest rank)."""
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, max(0, round(0.95 * len(ms)) - 1))]
    return statistics.median(ms), p95


def server_side(runs: int, warmup: int) -> dict[str, tuple[float, float]]:
    """Median/p95 ms of a full script run per page (AppTest)."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    # AppTest resets Streamlit's class-level "pages/ folder" mode before every run, and with
    # a pages/ folder next to app.py that mode runs a non-default page without app.py. A
    # browser session leaves the mode after the first run; do the same here.
    init = PagesManager.__init__

    def init_v2(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init_v2
    out = {}
    for name, path in PAGES.items():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["tpoint"] = "interp"
        at.run()
        page_hash = ""
        if name != "overview":
            at.switch_page(path).run()
            page_hash = at._page_hash
        times = []
        for i in range(warmup + runs):
            at._page_hash = page_hash
            t = time.perf_counter()
            at.run()
            elapsed = time.perf_counter() - t
            if at.exception:
                raise RuntimeError(f"{name}: {at.exception[0].value}")
            if not at.sidebar.children:
                raise RuntimeError(f"{name}: the run did not go through app.py")
            if i >= warmup:
                times.append(elapsed)
        out[name] = summary(times)
        print(f"  {name:13s} median {out[name][0]:7.0f} ms  p95 {out[name][1]:7.0f} ms")
    PagesManager.__init__ = init
    return out


def breakdown(repeat: int = 5) -> dict[str, float]:
    """Median ms per overview rerun spent in core and Altair (both outcomes)."""
    ds = load_bundled()
    state = parse_query(LINK).state
    parts: dict[str, list[float]] = {"analyse": [], "forest_frame": [], "chart": [], "spec": []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        analysis = analyse(state, ds)
        parts["analyse"].append(time.perf_counter() - t0)
        for oa in analysis.outcomes.values():
            t1 = time.perf_counter()
            frame = forest_frame(oa, state, ds.studies)
            t2 = time.perf_counter()
            chart = forest_chart(frame, measure_label=oa.title)
            t3 = time.perf_counter()
            chart.to_dict()  # what st.altair_chart does with the chart
            t4 = time.perf_counter()
            parts["forest_frame"].append(t2 - t1)
            parts["chart"].append(t3 - t2)
            parts["spec"].append(t4 - t3)
    n = len(analysis.outcomes)
    out = {
        "core.views.analysis.analyse (uncached effects)": statistics.median(parts["analyse"]),
        "forest_frame, both outcomes": n * statistics.median(parts["forest_frame"]),
        "forest_chart (Altair build), both outcomes": n * statistics.median(parts["chart"]),
        "chart.to_dict() (validate + serialise), both": n * statistics.median(parts["spec"]),
    }
    out = {k: v * 1000 for k, v in out.items()}
    for k, v in out.items():
        print(f"  {k:48s} {v:7.0f} ms")
    return out


def browser(toggles: int) -> tuple[float, float, float, float]:
    """(median, p95) ms from the click to the redrawn plots and to the settled page, timed
    in the page (benchmarks/inpage.py)."""
    from playwright.sync_api import expect, sync_playwright

    from benchmarks import inpage
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, start_app, stop_app
    from tests.e2e.conftest import wait_healthy as _wait

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium")
    log = ROOT / "benchmarks" / "_out" / "streamlit.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_app(port, log)
    to_redraw: list[float] = []
    to_settled: list[float] = []
    try:
        _health(base, proc, log, _wait)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.add_init_script(inpage.INIT)
            page.goto(base + "/" + LINK)
            expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=120_000)
            expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=120_000)
            hit = 'g.mark-rect.role-mark path[aria-roledescription="rect mark"]'
            row_sel = f'{hit}[aria-label*="Row: {STUDY};"][aria-label*="Status:"]'
            # the study's row in the plot panel (its label, first in the DOM, toggles it too)
            row = page.locator(".vega-embed").first.locator(row_sel).last
            for i in range(toggles + 2):
                was_excluded = "Status: excluded" in (row.get_attribute("aria-label") or "")
                want = "included" if was_excluded else "excluded"
                page.evaluate(inpage.ARM)
                row.click()
                page.wait_for_function(
                    inpage.REDRAWN, arg=[STUDY, want], polling="raf", timeout=60_000
                )
                page.wait_for_function(
                    inpage.SETTLED, arg=inpage.QUIET_MS, polling=50, timeout=60_000
                )
                redrawn, settled = page.evaluate(inpage.TIMES)
                if i >= 2:  # the first two are warm-up
                    to_redraw.append(redrawn / 1000)
                    to_settled.append(settled / 1000)
            browser.close()
    finally:
        stop_app(proc)
    r, s = summary(to_redraw), summary(to_settled)
    print(f"  click -> both plots redrawn: median {r[0]:.0f} ms, p95 {r[1]:.0f} ms")
    print(f"  click -> page settled: median {s[0]:.0f} ms, p95 {s[1]:.0f} ms")
    return (*r, *s)


FLOOR = "benchmarks/floor_app.py"
FORESTS = "benchmarks/forests_app.py"  # the app's two forest plots alone


def _open_once(page, url: str) -> tuple[float, int, int]:
    """Open ``url`` in ``page``: (ms from the request to both plots drawn, elements mounted
    then, websocket bytes the server sent until then), timed in the page (inpage.OPEN_INIT)."""
    from benchmarks import inpage

    received = [0]

    def on_ws(ws) -> None:
        ws.on("framereceived", lambda f: received.__setitem__(0, received[0] + len(f)))

    page.on("websocket", on_ws)
    page.goto(url)
    page.wait_for_function(inpage.OPENED, polling=100, timeout=120_000)
    drawn, nodes = page.evaluate(inpage.OPEN_TIMES)
    page.remove_listener("websocket", on_ws)
    return drawn, int(nodes), received[0]


WARMED = "warm-up done in"  # serve.py's line in the server's log (ui/warmup.py)


def _wait_for_line(log: Path, text: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"no {text!r} in {log} within {timeout:.0f} s")
        time.sleep(0.2)


def opening(opens: int, starts: int) -> dict[str, dict[str, list[float]] | dict[str, int]]:
    """Open-to-both-plots (ms, timed in the page from the request) for the app's ``/`` and the
    floor page (floor_app.py), side by side in one run: (1) with the app cached (a second load
    in the same browser context), ``opens`` loads each, alternating; (2) the first visitor after
    a server start, a new browser context (nothing cached) on ``starts`` fresh servers each:
    the app as soon as the health endpoint answers ("app, at health": the warm-up may still be
    running) and once the log says the warm-up is done ("app"); the floor at health."""
    from playwright.sync_api import sync_playwright

    from benchmarks import inpage
    from tests.e2e.conftest import (
        APP_SCRIPT,
        CHROMIUM,
        CHROMIUM_ARGS,
        free_port,
        start_app,
        stop_app,
    )
    from tests.e2e.conftest import wait_healthy as _wait

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} not found: install Debian's chromium")
    out_dir = ROOT / "benchmarks" / "_out"
    out_dir.mkdir(parents=True, exist_ok=True)
    scripts = {"app": APP_SCRIPT, "floor": FLOOR, "forests": FORESTS}
    firsts = {"app": (APP_SCRIPT, True), "app, at health": (APP_SCRIPT, False)}
    firsts["floor"] = (FLOOR, False)
    cached: dict[str, list[float]] = {k: [] for k in scripts}
    first: dict[str, list[float]] = {k: [] for k in firsts}
    nodes: dict[str, int] = {}
    sent: dict[str, int] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def fresh_page():
            ctx = browser.new_context(viewport={"width": 1440, "height": 1100})
            ctx.add_init_script(inpage.OPEN_INIT)
            return ctx, ctx.new_page()

        # (2) the first visitor after a server start, the variants in turn
        for i in range(starts):
            for name, (script, warmed) in firsts.items():
                port, log = free_port(), out_dir / f"first-{name.split(',')[0]}.log"
                base = f"http://127.0.0.1:{port}"
                proc = start_app(port, log, script=script)
                try:
                    _health(base, proc, log, _wait)
                    if warmed:
                        _wait_for_line(log, WARMED)
                    ctx, page = fresh_page()
                    first[name].append(_open_once(page, base + "/")[0])
                    ctx.close()
                finally:
                    stop_app(proc)
                print(f"  first visitor, {name} #{i + 1}: {first[name][-1]:.0f} ms")
        # (1) the app cached in the browser: both servers up, one context each
        procs, pages = {}, {}
        try:
            for name, script in scripts.items():
                port, log = free_port(), out_dir / f"open-{name}.log"
                base = f"http://127.0.0.1:{port}"
                procs[name] = start_app(port, log, script=script)
                _health(base, procs[name], log, _wait)
                ctx, page = fresh_page()
                _open_once(page, base + "/")  # the browser caches the app's files
                _open_once(page, base + "/")  # and the server its caches
                pages[name] = (page, base + "/")
            for _ in range(opens):
                for name, (page, url) in pages.items():
                    drawn, nodes[name], sent[name] = _open_once(page, url)
                    cached[name].append(drawn)
        finally:
            for proc in procs.values():
                stop_app(proc)
        browser.close()
    for name, times in cached.items():
        m, p95 = summary([t / 1000 for t in times])
        print(
            f"  cached open, {name}: median {m:.0f} ms, p95 {p95:.0f} ms; {nodes[name]} "
            f"elements mounted, {sent[name] / 1000:.0f} kB over the websocket"
        )
    return {"cached": cached, "first": first, "nodes": nodes, "sent": sent}


def _health(base, proc, log, wait) -> None:
    try:
        wait(base, proc, log, timeout=120)
    except BaseException as exc:  # pytest.fail outside pytest
        raise SystemExit(f"streamlit did not start: {exc}") from None


def _open_rows(op) -> list[str]:
    """The "open to both plots" table: the app against the floor, and the ratio."""

    def cell(times: list[float]) -> str:
        m, p95 = summary([t / 1000 for t in times])
        return f"{m:.0f} ms | {p95:.0f} ms | {min(times):.0f}-{max(times):.0f} ms ({len(times)})"

    cached, first = op["cached"], op["first"]
    ratio = statistics.median(cached["app"]) / statistics.median(cached["floor"])
    return [
        "| open of `/` to both plots drawn | median | p95 | range (n) |",
        "|---|---:|---:|---:|",
        f"| app cached in the browser (second load, same context) | {cell(cached['app'])} |",
        f"| floor page, cached the same way | {cell(cached['floor'])} |",
        f"| the app's two forest plots alone (forests_app.py), cached the same way | "
        f"{cell(cached['forests'])} |",
        f"| first visitor after a server start, once the warm-up is done | {cell(first['app'])} |",
        "| first visitor after a server start, at the first health answer (warm-up may still "
        f"run) | {cell(first['app, at health'])} |",
        f"| floor page, first visitor after its start | {cell(first['floor'])} |",
        "",
        f"App over floor, cached (medians): **{ratio:.2f}x** (target 1.5x). When both plots "
        f"were drawn the app had mounted {op['nodes']['app']} elements, the floor "
        f"{op['nodes']['floor']}; the server had sent {op['sent']['app'] / 1000:.0f} kB and "
        f"{op['sent']['floor'] / 1000:.0f} kB over the websocket. The app's forest plots alone "
        f"read {statistics.median(cached['forests']) / statistics.median(cached['floor']):.2f}x "
        "the floor: what the app adds is the rest of the page (sidebar, navigation, tiles, "
        "text, tables), not its charts.",
    ]


def write(pages, parts, br, op, args, load: str) -> None:
    runs, warmup, toggles = args.runs, args.warmup, args.toggles
    today = dt.date.today().isoformat()
    cpu = platform.processor() or platform.machine()
    lines = [
        f"`python3 benchmarks/bench_app.py` on {today}, {platform.machine()} ({cpu}), "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, link `{LINK}` (three "
        f"studies per outcome); load average (1 min) at the start and the end {load} (the "
        "machine is shared: compare the app with the floor measured in the same run).",
        "",
        f"Server side: one full script run (app.py, sidebar, page) with AppTest, {runs} runs "
        f"after {warmup} warm-up runs.",
        "",
        "| page | median | p95 |",
        "|---|---:|---:|",
        *(f"| {name} | {m:.0f} ms | {p:.0f} ms |" for name, (m, p) in pages.items()),
        "",
        f"Browser (Debian Chromium, headless, 1440x1100): a click on {STUDY}'s row in the OS "
        f"forest plot toggles it; {toggles} toggles after 2 warm-up toggles.",
        "",
        "Timed in the page with its own clock (benchmarks/inpage.py): from the click's "
        "pointerdown to the first frame in which both forest plots show the study's new "
        f"status, and to the last change the rerun made to the page (nothing changed for "
        f"{QUIET_MS} ms after it).",
        "",
        "| from the click to | median | p95 | target median / p95 |",
        "|---|---:|---:|---:|",
        f"| both forest plots redrawn | {br[0]:.0f} ms | {br[1]:.0f} ms | 300 / 600 ms |",
        f"| the page settled | {br[2]:.0f} ms | {br[3]:.0f} ms | |",
        "",
        f"Open of `/` (the default view), timed in the page (benchmarks/inpage.py OPEN_INIT): "
        "from the navigation's start (the request) to the first frame in which both forest "
        "plots have drawn their marks; beside the floor, a minimal page with two metrics and "
        "two Altair charts of about the same size (benchmarks/floor_app.py), and the app's own "
        "two forest plots alone (benchmarks/forests_app.py), in the same run, "
        f"{args.opens} cached opens of each (alternating) and {args.starts} server starts per "
        "first-visitor case (a new browser context: nothing cached; the server as `streamlit "
        "run serve.py`, whose start-up hook warms the caches).",
        "",
        *_open_rows(op),
        "",
        "What an overview rerun would cost without the caches (outside Streamlit, medians); "
        "the app computes each once per view (dataset and link) and shares it between reruns "
        "and sessions:",
        "",
        "| step | time |",
        "|---|---:|",
        *(f"| {k} | {v:.0f} ms |" for k, v in parts.items()),
        "",
    ]
    write_section("Dashboard", lines)
    print(f"wrote the Dashboard section of {OUT}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--toggles", type=int, default=30)
    ap.add_argument("--opens", type=int, default=15, help="cached opens of each page")
    ap.add_argument("--starts", type=int, default=3, help="server starts per first-visitor case")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    load = Path("/proc/loadavg").read_text().split()[0]
    print("(c) where a rerun's time goes")
    parts = breakdown()
    print("(a) server side, full script run per page (AppTest)")
    pages = server_side(args.runs, args.warmup)
    print("(b) browser, click on a study toggle to redrawn forest plot")
    br = browser(args.toggles)
    print("(d) browser, open / to both forest plots drawn, beside the floor page")
    op = opening(args.opens, args.starts)
    after = Path("/proc/loadavg").read_text().split()[0]
    if not args.no_write:
        write(pages, parts, br, op, args, f"{load} -> {after}")


if __name__ == "__main__":
    main()
