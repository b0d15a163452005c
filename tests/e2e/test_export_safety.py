"""One user's hostile upload cannot end other users' sessions through an export.

A dataset whose study labels carry control characters, a Unicode non-character and a
10,000-character label (tests/fixtures/uploads/controls.py) is uploaded on the Studies page;
then every export on the Present page (figure PNG, SVG, PDF, its CSV, the HTML and PDF reports)
and the leave-one-out figure on the Sensitivity page are downloaded. vl-convert used to abort
the whole server on such labels. Afterwards the server process is alive and a second session
opens the app and draws its forest plots. The server is this test's own, so its process can be
watched."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import serve
from tests.e2e.test_browser import PAGES, RUN_TIMEOUT, dataset_upload, open_overview, wait_idle
from tests.fixtures.uploads import controls

LINK = (
    "?scope=all&tpoint=interp&design=RCT,PSM,prospective-nonrandomized,retrospective"
    "&indication=PVTT,narrow_margin,MVI,other&rt=external,internal"
)
SIGNATURES = {
    "png": b"\x89PNG",
    "svg": b"<svg",
    "pdf": b"%PDF",
    "csv": b"",
    "html": b"<!DOCTYPE html>",
}


@pytest.fixture(scope="module")
def server(browser_type_launch_args: dict, artifacts: Path) -> Iterator[tuple[str, object]]:
    with serve(artifacts / "streamlit-export-safety.log") as running:
        yield running


def _goto(page: Page, name: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text(PAGES[name], exact=True).click()
    expect(page).to_have_url(re.compile(rf":\d+/{name}\?"), timeout=RUN_TIMEOUT)
    wait_idle(page)


def _download_all(page: Page, buttons, tmp_path: Path) -> list[str]:
    """Click each download button; return the file names saved (each checked by signature)."""
    names = []
    for i in range(buttons.count()):
        with page.expect_download(timeout=RUN_TIMEOUT) as info:
            buttons.nth(i).click()
        d = info.value
        assert d.failure() is None, f"{d.suggested_filename}: {d.failure()}"
        target = tmp_path / d.suggested_filename
        d.save_as(target)
        data = target.read_bytes()
        ext = target.suffix.lstrip(".")
        assert data.startswith(SIGNATURES[ext]) and len(data) > 100, target.name
        names.append(target.name)
        expect(page.get_by_test_id("stException")).to_have_count(0)
    return names


@pytest.mark.timeout(600)
def test_exports_of_hostile_labels_leave_the_server_serving(
    server, page: Page, browser: Browser, tmp_path: Path
) -> None:
    base, proc = server
    for name, data in controls.files().items():
        (tmp_path / name).write_bytes(data)
    page.goto(base + "/" + LINK)
    wait_idle(page)
    _goto(page, "studies")
    dataset_upload(page).set_input_files([str(tmp_path / n) for n in controls.files()])
    expect(page.get_by_text("Loaded controls_studies.csv, controls_outcomes.csv")).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    wait_idle(page)

    _goto(page, "presentation")
    expect(page.locator(".vega-embed svg").first).to_be_attached(timeout=RUN_TIMEOUT)
    buttons = page.get_by_test_id("stDownloadButton").locator("button:visible")
    saved = _download_all(page, buttons, tmp_path / "present")
    exts = {Path(n).suffix for n in saved}
    assert {".png", ".svg", ".pdf", ".csv", ".html"} <= exts and len(saved) >= 6, saved
    # the drawn figure carries the replacement character where the controls were
    svg = next(p for p in (tmp_path / "present").iterdir() if p.suffix == ".svg")
    assert "\ufffd" in svg.read_text("utf-8") and "\x0b" not in svg.read_text("utf-8")

    _goto(page, "sensitivity")
    first_figure = page.get_by_test_id("stDownloadButton").locator("button:visible").first
    expect(first_figure).to_be_visible(timeout=RUN_TIMEOUT)
    figure_buttons = page.get_by_test_id("stDownloadButton").locator("button:visible")
    saved = _download_all(page, figure_buttons, tmp_path / "sensitivity")
    assert any(n.endswith(".png") for n in saved), saved

    # the server lives on and serves another user
    assert proc.poll() is None, "the server process ended"
    other = browser.new_context(viewport={"width": 1440, "height": 1100})
    try:
        open_overview(other.new_page(), base + "/?tpoint=interp")
    finally:
        other.close()
