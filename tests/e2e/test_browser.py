"""The app in a real browser: open a link, untick a study in the forest plot, see the pooled
value and the link change, reopen the link elsewhere; visit every page and keep screenshots
(tests/e2e/artifacts/, ignored by git) to look at by eye."""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from core.cli import main
from core.data.dataset import load_bundled
from core.state.view import parse_query
from core.views.analysis import analyse
from ui.blocks import fmt_ratio

LINK = "?v=2&ci=hksj"  # the default view (three studies pooled for 2-year OS), HKSJ CI
STUDY_ID, STUDY_LABEL = "Yu2014", "Yu 2014"
RUN_TIMEOUT = 60_000  # ms; a busy 2-core CI machine
PAGES = {
    "overview": "Overview",
    "studies": "Studies and data",
    "sensitivity": "Sensitivity",
    "bias": "Small-study effects",
    "presentation": "Present",
}


def cli_pooled(query: str, outcome: str = "OS") -> str:
    """The CLI's pooled ratio for ``query``, formatted as the page shows it."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["analyze", query]) == 0
    return fmt_ratio(math.exp(json.loads(out.getvalue())[outcome]["pooled"]["estimate"]))


def wait_idle(page: Page) -> None:
    """Wait until the script run has finished (Streamlit's running indicator is gone)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=RUN_TIMEOUT)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=RUN_TIMEOUT)


def go_to(page: Page, name: str) -> None:
    """Open page ``name`` (a key of ``PAGES``) from the sidebar and wait until it has replaced
    the one shown (its heading changed) and its script run has finished."""
    heading = page.get_by_test_id("stMain").locator("h1").first
    before = heading.inner_text()
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES[name], exact=True).click()
    url = re.compile(rf"/{'' if name == 'overview' else name}\?")
    expect(page).to_have_url(url, timeout=RUN_TIMEOUT)
    expect(heading).not_to_have_text(before, timeout=RUN_TIMEOUT)  # the new page
    wait_idle(page)


def pooled_metric(page: Page) -> Locator:
    """The first pooled-ratio metric (overall survival) on the overview."""
    metric = page.get_by_test_id("stMetric").filter(has_text=re.compile(r"^Pooled (OR|HR)"))
    return metric.first.get_by_test_id("stMetricValue")


def forest_row(page: Page, label: str, outcome_index: int = 0) -> Locator:
    """The clickable row of a study in a forest plot's plot panel (its hit area carries the
    tooltip; the label panel's hit area, the first of the two, is tried in test_layout.py)."""
    chart = page.locator(".vega-embed").nth(outcome_index)
    hit = 'g.mark-rect.role-mark path[aria-roledescription="rect mark"]'
    return chart.locator(f'{hit}[aria-label*="Row: {label};"][aria-label*="Status:"]').last


# Resolves once the page's tallest scroll height and every chart's size have not changed for
# ``quiet`` ms (polled every 50 ms; at most 5 s): the layout has settled after a resize.
SETTLED_JS = """
(quiet) => new Promise((done) => {
  const look = () => JSON.stringify([
    Math.max(...[...document.querySelectorAll("*")].map((e) => e.scrollHeight)),
    ...[...document.querySelectorAll(".vega-embed svg")].map((s) => [s.clientWidth,
                                                                    s.clientHeight]),
  ]);
  const start = performance.now();
  let last = look(), since = start;
  const poll = () => {
    const now = look();
    if (now !== last) { last = now; since = performance.now(); }
    if (performance.now() - since >= quiet || performance.now() - start > 5000) done(true);
    else setTimeout(poll, 50);
  };
  setTimeout(poll, 50);
})
"""


def full_screenshot(page: Page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its own containers, so grow the window to fit
    the tallest of them, until it fits (charts re-lay out to the new window, which can change
    the height; at most three times)."""
    size = page.viewport_size or {"width": 1440, "height": 1100}
    for _ in range(3):
        height = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
        )
        if height <= size["height"] or size["height"] >= 15_000:  # nothing taller: it fits
            break
        size = {"width": size["width"], "height": min(int(height) + 40, 15_000)}
        page.set_viewport_size(size)
        page.evaluate(SETTLED_JS, 250)
    page.screenshot(path=path, full_page=True)


def open_overview(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator(".vega-embed svg")).to_have_count(2, timeout=RUN_TIMEOUT)
    wait_idle(page)


def test_untick_a_study_changes_the_value_and_the_link(page: Page, app_url: str, artifacts: Path):
    open_overview(page, app_url + "/" + LINK)
    value = pooled_metric(page)
    expect(value).to_have_text(cli_pooled(LINK))
    before = value.inner_text()
    row = forest_row(page, STUDY_LABEL).first
    expect(row).to_have_attribute("aria-label", re.compile(r"Status: included"))

    row.click()
    expect(page).to_have_url(re.compile(rf"[?&]exclude={STUDY_ID}(&|$)"), timeout=RUN_TIMEOUT)
    expect(value).not_to_have_text(before, timeout=RUN_TIMEOUT)
    expect(forest_row(page, STUDY_LABEL).first).to_have_attribute(
        "aria-label", re.compile(r"Status: excluded"), timeout=RUN_TIMEOUT
    )
    wait_idle(page)
    after = value.inner_text()
    assert after == cli_pooled(f"{LINK}&exclude={STUDY_ID}")
    assert "?v=2&" in page.url and "ci=hksj" in page.url  # version and settings stay in it
    full_screenshot(page, artifacts / "overview-after-toggle.png")

    # The link opens the same view in a fresh browser context.
    other = page.context.browser.new_context(viewport=page.viewport_size).new_page()
    try:
        open_overview(other, page.url)
        expect(pooled_metric(other)).to_have_text(after)
        expect(forest_row(other, STUDY_LABEL).first).to_have_attribute(
            "aria-label", re.compile(r"Status: excluded")
        )
    finally:
        other.context.close()

    # A second study in the other plot, then the first one back: each click toggles exactly
    # the study clicked (the plots keep their identity and are redrawn in place).
    wei = forest_row(page, "Wei 2019", outcome_index=1).first
    wei.click()
    expect(page).to_have_url(re.compile(r"exclude=Wei2019&exclude=Yu2014"), timeout=RUN_TIMEOUT)
    expect(wei).to_have_attribute("aria-label", re.compile("Status: excluded"), timeout=RUN_TIMEOUT)
    forest_row(page, STUDY_LABEL).first.click()
    expect(page).to_have_url(re.compile(r"exclude=Wei2019(&|$)"), timeout=RUN_TIMEOUT)
    expect(page).not_to_have_url(re.compile("Yu2014"), timeout=RUN_TIMEOUT)
    wei.click()
    expect(value).to_have_text(before, timeout=RUN_TIMEOUT)
    expect(page).not_to_have_url(re.compile("exclude="), timeout=RUN_TIMEOUT)


def include_checkbox(page: Page, query: str, study_id: str) -> tuple[Locator, dict]:
    """The include table and where ``study_id``'s checkbox is in it. The grid draws on a
    canvas, so a cell is found by position: Include is the first column, 75 px wide
    (ui.blocks.INCLUDE_WIDTH), under a 35 px header, rows 35 px high, in the order of the
    view's selection."""
    ids = list(analyse(parse_query(query).state, load_bundled()).selection.ids)
    table = page.get_by_test_id("stDataFrame")
    expect(table).to_have_count(1, timeout=RUN_TIMEOUT)
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # the grid's first paint
    return table, {"x": 37.5, "y": 35 * (ids.index(study_id) + 1) + 17.5}


def test_untick_in_the_include_table_leaves_the_study_out(page: Page, app_url: str):
    open_overview(page, app_url + "/" + LINK)
    before = pooled_metric(page).inner_text()

    table, checkbox = include_checkbox(page, LINK, STUDY_ID)
    table.click(position=checkbox)
    expect(page).to_have_url(re.compile(rf"[?&]exclude={STUDY_ID}(&|$)"), timeout=RUN_TIMEOUT)
    for outcome_index in (0, 1):  # both forest plots show it left out, greyed
        expect(forest_row(page, STUDY_LABEL, outcome_index).first).to_have_attribute(
            "aria-label", re.compile(r"Status: excluded by you"), timeout=RUN_TIMEOUT
        )
    wait_idle(page)
    assert pooled_metric(page).inner_text() == cli_pooled(f"{LINK}&exclude={STUDY_ID}")

    # Ticked again (the table is drawn anew for the new view), the study is back.
    table, checkbox = include_checkbox(page, f"{LINK}&exclude={STUDY_ID}", STUDY_ID)
    table.click(position=checkbox)
    expect(page).not_to_have_url(re.compile("exclude="), timeout=RUN_TIMEOUT)
    expect(pooled_metric(page)).to_have_text(before, timeout=RUN_TIMEOUT)
    expect(forest_row(page, STUDY_LABEL).first).to_have_attribute(
        "aria-label", re.compile(r"Status: included"), timeout=RUN_TIMEOUT
    )


def test_every_page_opens_and_keeps_the_link(page: Page, app_url: str, artifacts: Path):
    """The link opened on the Overview, then each page in turn from the sidebar (one session,
    as a user goes through them): no error on any, and the link's keys kept on the way."""
    query = f"{LINK}&exclude={STUDY_ID}&method=DL"
    size = page.viewport_size or {"width": 1440, "height": 1100}
    open_overview(page, app_url + "/" + query)
    for name in PAGES:
        if name != "overview":
            go_to(page, name)
        wait_idle(page)
        full_screenshot(page, artifacts / f"page-{name}.png")
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.get_by_text("Traceback")).to_have_count(0)
        for key in ("v=2", "ci=hksj", f"exclude={STUDY_ID}", "method=DL"):
            assert key in page.url, f"{key} lost on the way to {name}: {page.url}"
        expect(page.get_by_text("It is not treatment advice", exact=False)).to_have_count(1)
        page.set_viewport_size(size)  # the next page from the usual window, not the grown one
