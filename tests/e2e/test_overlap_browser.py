"""Overlapping cohorts in a real browser: a link that pools Yu 2014 and Wang WH 2015 (one
overlap group) shows the ‡ warning on every page that pools, and the forest plot's rows carry
the mark; the sidebar's "One per overlap group" pools the CLI's numbers without the smaller."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_browser import RUN_TIMEOUT, cli_pooled, go_to, pooled_metric, wait_idle

LINK = "?scope=all&design=RCT&design=PSM&design=retrospective&t_os=3&t_dfs=3"
SENTENCE = "are pooled together: Yu 2014 and Wang WH 2015 (overlap group beijing_cams)"


def test_the_mark_on_every_pooling_page(page: Page, app_url: str) -> None:
    """The link opened on the Overview, then each other pooling page in turn from the sidebar
    (one session): the warning on every page, the marked rows in every forest plot."""
    page.goto(app_url + "/" + LINK)
    wait_idle(page)
    for name in ("overview", "presentation", "sensitivity", "bias"):
        if name != "overview":
            go_to(page, name)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        warning = page.get_by_test_id("stAlert").filter(has_text=SENTENCE)
        expect(warning).to_have_count(2 if name == "overview" else 1, timeout=RUN_TIMEOUT)
        if name in ("overview", "presentation"):
            rows = page.locator('.vega-embed [aria-label*="Row: Yu 2014 ‡;"]')
            expect(rows.first).to_be_attached(timeout=RUN_TIMEOUT)
            expect(page.locator(".vega-embed").first).to_contain_text("‡ Same overlap group")


def test_one_per_group_from_the_sidebar(page: Page, app_url: str) -> None:
    page.goto(app_url + "/" + LINK)
    wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_text("One per overlap group", exact=True).click()
    expect(page).to_have_url(re.compile(r"overlap=one"), timeout=RUN_TIMEOUT)
    wait_idle(page)
    expect(pooled_metric(page)).to_have_text(cli_pooled(LINK + "&overlap=one"), timeout=RUN_TIMEOUT)
    alerts = page.get_by_test_id("stAlert").filter(has_text=SENTENCE)
    expect(alerts).to_have_count(0, timeout=RUN_TIMEOUT)
    expect(page.get_by_text("Yu 2014 kept, Wang WH 2015 left out").first).to_be_visible()
