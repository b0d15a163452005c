"""metafor's dat.bcg with its own description (tests/fixtures/bcg_described), uploaded in
Chromium: the Overview pools metafor's REML odds ratio (the shipped reference,
tests/conformance/reference/bcg.json) and speaks the description's words, not the bundled
topic's (issue 15)."""

from __future__ import annotations

import json
import math

from playwright.sync_api import Page, expect

from tests.app.test_described_dataset_pages import BCG, REFERENCE
from tests.e2e.conftest import dataset_uploader
from tests.e2e.test_browser import RUN_TIMEOUT, pooled_metric, wait_idle
from ui.blocks import fmt_ratio

FILES = ("studies.csv", "outcomes.csv", "description.json")


def test_bcg_upload_pools_metafors_values_in_its_own_words(page: Page, app_url: str) -> None:
    reml = json.loads(REFERENCE.read_text())["expected"]["OR"]["pooled"]["REML"]
    page.goto(f"{app_url}/studies")
    wait_idle(page)
    dataset_uploader(page).set_input_files([str(BCG / name) for name in FILES])
    expect(page.get_by_text("Loaded studies.csv, outcomes.csv", exact=False)).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    wait_idle(page)
    # in the same session (a reload would start a new one, without the upload)
    page.get_by_test_id("stSidebarNav").get_by_text("Overview", exact=True).click()
    main = page.get_by_test_id("stMain")
    expect(main.locator("h1").first).to_have_text(
        "BCG vaccine against tuberculosis", timeout=RUN_TIMEOUT
    )
    wait_idle(page)
    expect(pooled_metric(page)).to_have_text(fmt_ratio(math.exp(reml["estimate"])))
    studies = page.get_by_test_id("stMetric").filter(has_text="Studies (k)").first
    expect(studies).to_contain_text("13")
    expect(main.get_by_text("Odds ratio of TB", exact=False).first).to_be_visible()
    shown = main.inner_text()
    for topic in ("overall survival", "disease-free", "HCC", "PVTT", "Rim et al"):
        assert topic.lower() not in shown.lower(), topic
    expect(page.get_by_test_id("stException")).to_have_count(0)
