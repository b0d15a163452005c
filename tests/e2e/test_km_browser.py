"""A study added from a digitised Kaplan-Meier figure, in a real browser: the two CSV files of
a simulated trial (tests/fixtures/km_trial.py) are uploaded on the Studies page, the
reconstruction is reviewed and added as a new study, and the Overview's forest plot then
draws it with its provenance ("reconstructed from Fig. 2A") in the row's description."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_browser import PAGES, RUN_TIMEOUT, wait_idle
from tests.fixtures.km_trial import files

LABEL = "Sim 2024"


def _type(page: Page, scope: Locator, label: str, value: str) -> None:
    box = scope.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def test_a_study_from_a_curve_in_the_forest_plot(page: Page, app_url: str, tmp_path: Path) -> None:
    paths = []
    for name, data in files():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    page.goto(app_url + "/studies")
    wait_idle(page)
    panel = page.get_by_role("tabpanel").filter(has_text="Digitise the figure")
    for label, path in zip(("Curve points", "Numbers at risk"), paths, strict=True):
        uploader = panel.get_by_test_id("stFileUploader").filter(has_text=label)
        uploader.locator("input[type=file]").set_input_files(str(path))
        wait_idle(page)
    expect(panel.get_by_text("Hazard ratio (RT vs control): 0.81 [0.55, 1.20]")).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    expect(panel.locator(".vega-embed")).to_have_count(1)  # the curves over the points
    _type(page, panel, "Where in the source", "Fig. 2A")
    _type(page, panel, "Source link", "https://doi.org/10.1000/sim.2024")
    _type(page, panel, "Study ID", "Sim2024")
    _type(page, panel, "Label", LABEL)
    panel.get_by_role("button", name="Add to the dataset").click()
    wait_idle(page)
    expect(page.get_by_text("Added to the data in use: 3 outcome rows")).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    expect(page.get_by_test_id("stException")).to_have_count(0)

    page.get_by_test_id("stSidebarNav").get_by_text(PAGES["overview"], exact=True).click()
    expect(page).to_have_url(re.compile(r"/(\?|$)"), timeout=RUN_TIMEOUT)
    wait_idle(page)
    row = page.locator(
        f'.vega-embed [aria-label*="Row: {LABEL};"][aria-label*="reconstructed from Fig. 2A"]'
    )
    expect(row.first).to_be_attached(timeout=RUN_TIMEOUT)
    expect(page.get_by_test_id("stException")).to_have_count(0)
