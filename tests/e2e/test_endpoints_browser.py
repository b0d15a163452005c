"""Endpoints in a real browser: the Present page names what the pooled HR measured, and on the
Overview the default 1-year DFS pool (DFS and RFS) warns and keeps one definition on a click,
with the link and the pooled value the command line gives for that link."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_browser import (
    RUN_TIMEOUT,
    cli_pooled,
    full_screenshot,
    open_overview,
    wait_idle,
)


def test_present_names_hcc_related_death(page: Page, app_url: str, artifacts: Path):
    page.goto(app_url + "/presentation?measure=HR&indication=PVTT")
    heading = page.get_by_role("heading", level=1).first
    expect(heading).to_have_text(
        "Overall survival: hazard ratio for HCC-related death, multivariable Cox",
        timeout=RUN_TIMEOUT,
    )
    wait_idle(page)
    expect(page.get_by_text("a lower hazard of HCC-related death", exact=False)).to_have_count(1)
    expect(page.get_by_text("hazard of death", exact=False)).to_have_count(0)
    full_screenshot(page, artifacts / "present-hr-hcc-related-death.png")


def test_keep_one_definition_in_the_mixed_dfs_pool(page: Page, app_url: str, artifacts: Path):
    open_overview(page, app_url + "/")
    warning = page.get_by_test_id("stAlert").filter(
        has_text=re.compile("Mixed endpoint definitions:")
    )
    expect(warning).to_have_count(1)
    page.get_by_test_id("stRadio").filter(has_text="Endpoint definitions pooled").get_by_text(
        "Only DFS (2 studies)"
    ).click()
    expect(page).to_have_url(re.compile(r"[?&]endpoint=DFS\.dfs(&|$)"), timeout=RUN_TIMEOUT)
    expect(warning).to_have_count(0, timeout=RUN_TIMEOUT)
    wait_idle(page)
    dfs = page.get_by_test_id("stMetric").filter(has_text=re.compile(r"^Pooled OR")).nth(1)
    expect(dfs.get_by_test_id("stMetricValue")).to_have_text(
        cli_pooled("?endpoint=DFS.dfs", "DFS"), timeout=RUN_TIMEOUT
    )
    full_screenshot(page, artifacts / "overview-dfs-kept.png")
