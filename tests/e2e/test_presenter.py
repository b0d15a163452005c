"""The presenter view (board=1) in a real browser, at a projector's 1280x720 and at 1920x1080:
the headline ratio, the certainty rating, the plain sentence, the forest plot and the filters
line all lie in the first screen (no scrolling), the type is large at 1920, the app's chrome is
hidden, and a screenshot of each size is kept (tests/e2e/artifacts/presenter-*.png). One load
per size; axe-core finds no serious or critical violation (at 1280x720)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, expect

from tests.e2e.test_browser import RUN_TIMEOUT, wait_idle
from tests.e2e.test_layout import assert_accessible

LINK = "/presentation?board=1&outcome=DFS"  # three trials for 1-year DFS


def inside(box: dict | None, width: int, height: int) -> bool:
    """The bounding box lies in the window (no scrolling needed to see all of it)."""
    assert box is not None
    return (
        box["x"] >= 0
        and box["y"] >= 0
        and box["x"] + box["width"] <= width + 0.5
        and box["y"] + box["height"] <= height + 0.5
        and box["width"] > 0
        and box["height"] > 0
    )


def font_px(locator: Locator) -> float:
    return float(locator.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))


@pytest.mark.parametrize("width, height", [(1280, 720), (1920, 1080)])
def test_forest_screen_fits_the_first_screen(
    browser: Browser, app_url: str, artifacts: Path, width: int, height: int
):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        page.goto(app_url + LINK)
        forest = page.locator(".st-key-board_forest .vega-embed svg")
        expect(forest).to_have_count(1, timeout=RUN_TIMEOUT)
        wait_idle(page)
        expect(page.get_by_text("Wei 2019", exact=True).first).to_be_attached()
        page.wait_for_timeout(500)  # the plot re-lays out to its box
        page.screenshot(path=artifacts / f"presenter-{width}x{height}.png")

        ratio = page.locator(".st-key-board_ratio p")
        expect(ratio).to_have_text("Pooled OR 0.45 (95% CI 0.25–0.82)")
        certainty = page.locator(".st-key-board_certainty p")
        expect(certainty).to_contain_text("Certainty of the evidence")
        # the t prediction interval (k - 2 = 1 df) crosses 1: inconsistency serious
        expect(certainty).to_contain_text("Low (provisional)")
        sentence = page.locator(".st-key-board_sentence p").first
        expect(sentence).to_contain_text("Across 3 randomized trials (359 patients)")
        for what, locator in (
            ("forest plot", forest),
            ("certainty rating", certainty),
            ("headline ratio", ratio),
            ("sentence", sentence),
            ("step buttons", page.locator(".st-key-board_next button")),
            ("filters line", page.locator(".st-key-board_filters p")),
        ):
            assert inside(locator.bounding_box(), width, height), (what, locator.bounding_box())
        # the page itself does not scroll sideways, and the chrome is hidden
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        expect(page.get_by_test_id("stSidebar")).to_have_count(0)
        expect(page.get_by_test_id("stHeader")).to_be_hidden()  # with the app menu, toolbar
        expect(page.get_by_test_id("stMainMenu")).to_be_hidden()
        if width >= 1920:
            assert font_px(sentence) >= 20
            assert font_px(page.locator(".st-key-board_numbers p")) >= 20
        else:
            assert font_px(sentence) >= 16
            assert_accessible(page, f"presenter view {width}x{height}")  # axe, once
    finally:
        context.close()
