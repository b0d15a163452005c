"""Every page at every screen size, in a real browser: nothing runs off the side of the page,
forest plots keep their CI column, no request leaves the app's own host, axe-core finds no
serious or critical accessibility violation (in the default view and after an upload), and a
study can be toggled by a click on its label or from the keyboard. Screenshots of every page
at every size go to tests/e2e/artifacts/layout/ (ignored by git) to look at by eye.

Lean on purpose: one page load per page and size; the checks, the screenshot and (at one
size) axe all use that load."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.conftest import dataset_uploader
from tests.e2e.test_browser import PAGES, RUN_TIMEOUT, SETTLED_JS, forest_row, go_to, wait_idle
from tests.e2e.test_save_share import bcg_at_one_year

SIZES = ((390, 844), (768, 1024), (1280, 720), (1440, 900), (1920, 1080))
AXE_SIZE = (1440, 900)  # axe runs once per page, at this size
GROUPED = "?group=indication&tpoint=interp"  # grouped forest plots: the widest labels
SERIOUS = ("serious", "critical")

# Elements that stick out past the right edge of the window and are not inside a box that
# scrolls sideways on purpose (a table, a code block) and itself fits. The page's own
# scrolling containers do not count as such boxes: what they would scroll is cut off.
OVERFLOW_JS = """
(vw) => {
  const PAGE = new Set(["stApp", "stAppViewContainer", "stMain", "stMainBlockContainer",
                        "stSidebar", "stSidebarContent", "stAppScrollToBottomContainer"]);
  const scrolled = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (PAGE.has(a.getAttribute("data-testid"))) return false;
      const s = getComputedStyle(a);
      if ((s.overflowX === "auto" || s.overflowX === "scroll")
          && a.getBoundingClientRect().right <= vw + 1) return true;
    }
    return false;
  };
  const sticks = (e) => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > vw + 1
      && getComputedStyle(e).visibility !== "hidden" && !scrolled(e);
  };
  const out = [];
  for (const e of document.querySelectorAll("body *")) {
    if (!sticks(e)) continue;
    const p = e.parentElement;
    if (p && p !== document.body && sticks(p)) continue;  // the outermost one only
    const r = e.getBoundingClientRect();
    const id = e.getAttribute("data-testid") || e.tagName.toLowerCase();
    const text = (e.textContent || "").replace(/\\s+/g, " ").slice(0, 50);
    out.push(`${id} ${Math.round(r.left)}..${Math.round(r.right)} px: ${text}`);
  }
  return out;
}
"""

# The right edge of each forest plot's "Ratio [95% CI]" header: the CI column is in view.
CI_HEADERS_JS = """
() => [...document.querySelectorAll(".vega-embed svg text")]
  .filter(t => t.textContent === "Ratio [95% CI]")
  .map(t => t.getBoundingClientRect().right)
"""

# Every chart drawn: at least ``least`` charts, and as many SVGs as chart containers.
CHARTS_DRAWN_JS = """
(least) => document.querySelectorAll(".vega-embed svg").length >= least
  && document.querySelectorAll(".vega-embed").length
     === document.querySelectorAll(".vega-embed svg").length
"""
# charts drawn in the default view (2-year OS with interpolated rates: three studies, so the
# funnel and bubble plots and five sensitivity charts, the GOSH plot only on request)
CHARTS = {"overview": 2, "studies": 0, "sensitivity": 5, "bias": 2, "presentation": 1}


# Sidebar filter chips whose text is cut off (wider than the chip shows).
CUT_CHIPS_JS = """
() => [...document.querySelectorAll(
    "[data-testid=stSidebar] [data-testid=stMultiSelectTagsContainer] [data-tag] > span")]
  .filter(s => s.scrollWidth > s.clientWidth + 1 || s.getBoundingClientRect().width === 0)
  .map(s => s.textContent)
"""


# Metric values cut off with an ellipsis (their text wider than the tile shows).
CUT_METRICS_JS = """
() => [...document.querySelectorAll("[data-testid=stMetricValue] *")]
  .filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => e.textContent)
"""


def record_hosts(page: Page) -> list[str]:
    """Every http(s)/ws(s) request the page makes from now on, as ``scheme://host``."""
    seen: list[str] = []

    def on_request(request: Request) -> None:
        url = urlparse(request.url)
        if url.scheme in ("http", "https", "ws", "wss"):
            seen.append(f"{url.scheme}://{url.netloc}")

    page.on("request", on_request)
    return seen


def page_url(base: str, name: str, query: str = "") -> str:
    return f"{base}/{'' if name == 'overview' else name}{query}"


def open_page(page: Page, url: str, charts: int = 0) -> None:
    """Open ``url`` and wait until the script has run: the page's title and the sidebar's
    filters are there, at least ``charts`` charts, and every chart is drawn."""
    page.goto(url)
    expect(page.get_by_test_id("stMain").locator("h1").first).to_be_visible(timeout=RUN_TIMEOUT)
    page.wait_for_selector("[data-testid=stMultiSelect]", state="attached", timeout=RUN_TIMEOUT)
    wait_idle(page)
    page.wait_for_function(CHARTS_DRAWN_JS, arg=charts, timeout=RUN_TIMEOUT)
    page.wait_for_timeout(300)  # charts settle to their column's width


def assert_fits(page: Page, where: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") == width, where
    assert page.evaluate(OVERFLOW_JS, width) == [], f"{where}: runs off the right edge"
    assert all(r <= width + 1 for r in page.evaluate(CI_HEADERS_JS)), f"{where}: CI column cut"
    assert page.evaluate(CUT_METRICS_JS) == [], f"{where}: metric values cut off"


def screenshot(page: Page, path: Path) -> None:
    """The whole page at the window's width: the window grown to the page's height (the
    page scrolls inside Streamlit's own container), then back."""
    size = page.viewport_size or {"width": 1440, "height": 900}
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], body')]"
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12_000)})
    page.evaluate(SETTLED_JS, 200)  # charts re-laid out to the grown window
    page.screenshot(path=path)
    page.set_viewport_size(size)


def assert_accessible(page: Page, where: str) -> None:
    """axe-core (bundled with axe-playwright-python): no serious or critical violation (on the
    page at rest: the running indicator's Stop button is not part of it, so a check that a
    late rerun caught with only that button flagged is run again once the page is idle)."""
    for _ in range(3):
        page.wait_for_timeout(300)
        wait_idle(page)
        results = Axe().run(page)
        bad = [v for v in results.response["violations"] if v["impact"] in SERIOUS]
        if not bad or not all(_running_indicator(n["html"]) for v in bad for n in v["nodes"]):
            break
    assert not bad, f"{where}: " + "; ".join(
        f"{v['id']} ({v['impact']}, {len(v['nodes'])}x): {v['nodes'][0]['html'][:160]}" for v in bad
    )


def _running_indicator(html: str) -> bool:
    """Streamlit's Stop button, shown in the header only while a script run is going on."""
    return 'data-testid="stBaseButton-header"' in html and html.endswith(">Stop</button>")


@pytest.mark.timeout(420)
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_page_fits_stays_on_the_app_and_is_accessible(
    browser: Browser, app_url: str, artifacts: Path, size: tuple[int, int]
) -> None:
    width, height = size
    folder = artifacts / "layout"
    folder.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    hosts = record_hosts(page)
    visits: list[tuple[str, str, Callable[[Page, str], None] | None]] = [
        (name, page_url(app_url, name), assert_accessible if size == AXE_SIZE else None)
        for name in PAGES
    ]
    if width in (390, 1440):  # grouped forest plots, on a phone and on a laptop
        visits.append(("overview-grouped", page_url(app_url, "overview", GROUPED), None))
    spent = dict.fromkeys(("open", "check", "axe", "screenshot"), 0.0)
    try:
        for name, url, extra in visits:
            where = f"{name} at {width}x{height}"
            clock = time.monotonic()
            open_page(page, url, CHARTS[name.removesuffix("-grouped")])
            spent["open"] += time.monotonic() - clock
            clock = time.monotonic()
            expect(page.get_by_test_id("stException")).to_have_count(0)
            assert_fits(page, where)
            spent["check"] += time.monotonic() - clock
            if extra is not None:
                clock = time.monotonic()
                extra(page, where)
                spent["axe"] += time.monotonic() - clock
            if name == "overview" and width >= 1280:  # the sidebar is open: chips readable
                chips = page.get_by_test_id("stMultiSelectTagsContainer")
                expect(chips.first).to_be_visible(timeout=RUN_TIMEOUT)
                assert page.evaluate(CUT_CHIPS_JS) == [], f"{where}: sidebar chips cut off"
            clock = time.monotonic()
            screenshot(page, folder / f"{name}-{width}x{height}.png")
            spent["screenshot"] += time.monotonic() - clock
        app_host = f"http://{urlparse(app_url).netloc}"
        assert hosts and set(hosts) <= {app_host, app_host.replace("http", "ws", 1)}, (
            f"requests outside the app: {sorted(set(hosts))}"
        )
    finally:
        context.close()
    print(
        f"{len(visits)} pages at {width}x{height}: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in spent.items())
    )


def test_a_study_is_toggled_by_its_label_and_from_the_keyboard(page: Page, app_url: str):
    """A click on a study's label in the forest plot leaves it out; then, keyboard only, Tab
    into the include table, arrow down to the study and Space brings it back."""
    page.goto(f"{app_url}/?tpoint=interp")
    expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=RUN_TIMEOUT)
    wait_idle(page)
    label = page.locator(".vega-embed").first.locator("svg text", has_text=re.compile("^Yu 2014"))
    # where a user clicks: on the label's text (the label panel's hit area lies over it)
    box = label.first.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page).to_have_url(re.compile(r"[?&]exclude=Yu2014(&|$)"), timeout=RUN_TIMEOUT)
    for outcome_index in (0, 1):
        expect(forest_row(page, "Yu 2014", outcome_index).first).to_have_attribute(
            "aria-label", re.compile("Status: excluded by you"), timeout=RUN_TIMEOUT
        )
    wait_idle(page)

    # Keyboard only: from the top of the page, Tab until the grid has the focus.
    page.locator("body").focus()
    in_grid = "() => document.activeElement?.getAttribute('data-testid') === 'data-grid-canvas'"
    for _ in range(300):
        if page.evaluate(in_grid):
            break
        page.keyboard.press("Tab")
    assert page.evaluate(in_grid), "the include table cannot be reached with Tab"
    # The grid selects its first cell (Include of the first study); Yu 2014 is the second.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Space")
    expect(page).not_to_have_url(re.compile("exclude="), timeout=RUN_TIMEOUT)
    expect(forest_row(page, "Yu 2014").first).to_have_attribute(
        "aria-label", re.compile("Status: included"), timeout=RUN_TIMEOUT
    )


@pytest.mark.timeout(300)
def test_every_page_is_accessible_after_an_upload(
    browser: Browser, app_url: str, tmp_path: Path
) -> None:
    """axe-core on every page with an uploaded dataset in use (the pages are reached through
    the sidebar: a reload would start a new session without the upload)."""
    files = bcg_at_one_year(tmp_path / "bcg")
    context = browser.new_context(viewport={"width": AXE_SIZE[0], "height": AXE_SIZE[1]})
    page = context.new_page()
    try:
        query = "?indication=other&design=RCT&design=prospective-nonrandomized"
        open_page(page, f"{app_url}/studies{query}", CHARTS["studies"])
        dataset_uploader(page).set_input_files([str(f) for f in files])
        expect(page.get_by_text("Loaded studies.csv, outcomes.csv")).to_be_visible(
            timeout=RUN_TIMEOUT
        )
        wait_idle(page)
        assert_accessible(page, "studies after an upload")
        for name in PAGES:
            if name == "studies":
                continue
            go_to(page, name)
            page.wait_for_function(CHARTS_DRAWN_JS, arg=0, timeout=RUN_TIMEOUT)
            expect(page.get_by_text("your upload, this session only")).to_be_visible()
            assert_accessible(page, f"{name} after an upload")
    finally:
        context.close()
