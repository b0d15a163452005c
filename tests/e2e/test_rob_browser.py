"""Risk of bias in a real browser: a dataset with RoB 2 columns (tests/fixtures/rob2, made-up
judgements) uploaded through the Studies page draws traffic lights beside both forest plots on
the Overview (each light named in words for screen readers and tooltips) and the robvis-style
summary; a screenshot goes to tests/e2e/artifacts/rob/ to look at by eye."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_browser import PAGES, RUN_TIMEOUT, dataset_upload, wait_idle

ROB2 = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "rob2"


def test_traffic_lights_render_for_an_uploaded_rob2_dataset(
    page: Page, app_url: str, artifacts: Path
) -> None:
    page.goto(f"{app_url}/studies")
    wait_idle(page)
    files = [str(ROB2 / "studies.csv"), str(ROB2 / "outcomes.csv")]
    dataset_upload(page).set_input_files(files)
    expect(page.get_by_text("Loaded studies.csv, outcomes.csv")).to_be_visible(timeout=RUN_TIMEOUT)
    # the Overview through the sidebar: a reload would start a session without the upload
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES["overview"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/(\?.*)?$"), timeout=RUN_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    charts = page.locator(".vega-embed")
    expect(charts).to_have_count(3, timeout=RUN_TIMEOUT)  # two forest plots, the summary
    for i in range(2):
        forest = charts.nth(i)
        # Trial C's randomization domain: high (red, ×); Trial A's overall: low (green, +)
        high = forest.locator(
            '[aria-label*="Study: Trial C; Risk of bias: RoB 2, D1 randomization process: high"]'
        )
        expect(high.first).to_be_attached(timeout=RUN_TIMEOUT)
        low = forest.locator('[aria-label*="Study: Trial A; Risk of bias: RoB 2, overall: low"]')
        expect(low.first).to_be_attached()
        expect(forest.locator('[aria-label*="Study: Trial E; Risk of bias"]')).to_have_count(0)
        texts = forest.locator("svg text").all_text_contents()
        assert {"D1", "D5", "All", "×", "+", "−"} <= set(texts), texts
    expect(page.get_by_role("heading", name="Risk of bias")).to_be_visible()
    summary = charts.nth(2).locator("svg text").all_text_contents()
    assert "Share of studies (%)" in summary and "+ 50%" in summary, summary
    out = artifacts / "rob"
    out.mkdir(parents=True, exist_ok=True)
    charts.nth(0).screenshot(path=str(out / "forest-os-rob2.png"))
    charts.nth(2).screenshot(path=str(out / "rob-summary.png"))
