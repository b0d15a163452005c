"""Text safety in a real browser: upload a dataset whose study labels, notes and sources carry
script and HTML payloads (tests/fixtures/uploads/xss_*.csv) through the Studies page, visit
every page, and prove that no script runs (window.__xss never set, no dialog) and that the
payloads show as literal text (page text, forest plot labels as drawn, shortened, and the
full label in the tooltip)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from core.charts.forest import DERIVED_MARK, LABEL_CHARS, LABEL_CHARS_NARROW, shorten
from tests.e2e.test_browser import (
    PAGES,
    RUN_TIMEOUT,
    dataset_upload,
    forest_row,
    full_screenshot,
    wait_idle,
)
from tests.fixtures.uploads.xss import PAYLOADS

UPLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "uploads"
FILES = [UPLOADS / "xss_studies.csv", UPLOADS / "xss_outcomes.csv"]
# every study passes the filters, and interpolated rates let most of them be pooled
LINK = (
    "?scope=all&tpoint=interp&design=RCT,PSM,prospective-nonrandomized,retrospective"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal"
)
IMG = f"{PAYLOADS[0]} S0"
# the forest plots shorten study labels (the full label stays in the tooltip): to 24 characters
# in the Overview's column, to 40 on the presentation page
LABEL_LIMIT = {"overview": LABEL_CHARS_NARROW, "presentation": LABEL_CHARS}


def drawn_label(page: Page, name: str) -> Locator:
    """The first study's label as ``name``'s forest plot draws it: the payload shortened, still
    literal text in an SVG text element (with the derived-data mark if its rates were
    interpolated)."""
    limit = LABEL_LIMIT[name]
    texts = [shorten(IMG, limit), shorten(IMG, limit - 2) + f" {DERIVED_MARK}"]
    assert all(t != IMG and t.startswith("<img src=x onerror=") for t in texts)
    exact = re.compile("^(" + "|".join(re.escape(t) for t in texts) + ")$")
    return page.locator(".vega-embed svg text").filter(has_text=exact)


def _no_script_ran(page: Page, dialogs: list[str], where: str) -> None:
    assert page.evaluate("() => window.__xss === undefined"), f"a payload ran on {where}"
    assert not dialogs, f"a dialog opened on {where}: {dialogs}"
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _goto(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES[name], exact=True).click()
    path = "" if name == "overview" else name
    expect(page).to_have_url(re.compile(rf":\d+/{path}\?"), timeout=RUN_TIMEOUT)
    wait_idle(page)


@pytest.mark.timeout(300)
def test_payloads_in_an_upload_show_as_text_and_never_run(
    page: Page, app_url: str, artifacts: Path
) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # record and close, so a payload cannot block the page
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(app_url + "/" + LINK)
    wait_idle(page)
    _goto(page, "studies")
    dataset_upload(page).set_input_files([str(f) for f in FILES])
    expect(page.get_by_text("Loaded xss_studies.csv, xss_outcomes.csv")).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    wait_idle(page)
    _no_script_ran(page, dialogs, "studies (after upload)")
    # the first study's heading and notes, as text
    expect(page.get_by_role("heading", name=IMG)).to_be_visible()
    # its notes (the include table's grid cells hold the text too, hidden behind its canvas)
    expect(page.get_by_text(PAYLOADS[1], exact=True).filter(visible=True).first).to_be_visible()
    # Markdown and Streamlit directives in data stay literal too
    expect(
        page.get_by_text(f"{PAYLOADS[5]} S11", exact=False).filter(visible=True).first
    ).to_be_visible()
    full_screenshot(page, artifacts / "xss-studies.png")

    for name in PAGES:
        if name == "studies":
            continue
        _goto(page, name)
        _no_script_ran(page, dialogs, name)
        text = page.locator("body").inner_text()
        if name in ("overview", "presentation"):
            # forest plot labels are SVG text: the payload is there (shortened), literally
            label = drawn_label(page, name).first
            expect(label).to_be_attached(timeout=RUN_TIMEOUT)  # the page may still be drawing
            # ... and in full in the tooltip of its row, as text
            row = forest_row(page, IMG)
            row.first.hover(force=True)
            tooltip = page.locator("#vg-tooltip-element")
            expect(tooltip).to_contain_text(IMG, timeout=10_000)
            assert tooltip.locator("img, script, svg, iframe").count() == 0
        if name == "presentation":  # the studies left out are listed by label, as text
            assert any(p in text for p in PAYLOADS[:5]), "no payload shown as text"
        full_screenshot(page, artifacts / f"xss-{name}.png")
        _no_script_ran(page, dialogs, name)
    # no element built from a payload exists anywhere in the last page's DOM
    assert page.locator("img[src=x], iframe[src^=javascript]").count() == 0
    assert page.locator("a[href^=javascript]").count() == 0
