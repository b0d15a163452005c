"""Save and share in a real browser: upload a dataset, "Save and get a link", then open that
link in a fresh browser context (no shared session or cookies): the saved data and the same
pooled numbers as ``python -m core analyze`` on the link."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ROOT, dataset_uploader, serve
from tests.e2e.test_browser import RUN_TIMEOUT, pooled_metric, wait_idle
from ui.blocks import fmt_ratio

BCG_DIR = ROOT / "tests" / "fixtures" / "bcg"
QUERY = "indication=other&design=RCT&design=prospective-nonrandomized"


def bcg_at_one_year(folder: Path) -> list[Path]:
    """The bcg fixture with external RT and its events at t = 1 (test data only)."""
    folder.mkdir()
    studies = pd.read_csv(BCG_DIR / "studies.csv").assign(rt_type="external")
    outcomes = pd.read_csv(BCG_DIR / "outcomes.csv").assign(time_years=1.0)
    studies.to_csv(folder / "studies.csv", index=False)
    outcomes.to_csv(folder / "outcomes.csv", index=False)
    return [folder / "studies.csv", folder / "outcomes.csv"]


@pytest.fixture(scope="module")
def saving(tmp_path_factory: pytest.TempPathFactory, artifacts: Path) -> Iterator[str]:
    """An app whose store is a fresh SQLite file, shared by this module's tests (each saves
    its own versions; a token opens only its own): its base URL. EXPLORER_STORE is the app's
    and, for ``python -m core analyze``, this process's while the module runs."""
    store = f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.sqlite3'}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EXPLORER_STORE", store)
        with serve(artifacts / "streamlit-save.log") as (base, _):
            yield base


@pytest.mark.timeout(300)
def test_upload_save_and_open_the_link_in_a_fresh_context(
    browser: Browser, tmp_path: Path, saving: str
) -> None:
    files = bcg_at_one_year(tmp_path / "bcg")
    first = browser.new_context()
    link = upload_and_save(first.new_page(), saving, files)
    first.close()

    pooled = analyze_dfs(token_of(link))

    fresh = browser.new_context()
    other = fresh.new_page()
    other.goto(link.replace("/studies?", "/?"))
    expect_saved_overview(other, pooled)
    fresh.close()


#: a source for the numbers typed into the editor (test data only)
EDIT_SOURCE = "https://doi.org/10.1000/e2e-edit"


@pytest.mark.timeout(600)
def test_edit_in_the_grid_save_then_edit_the_saved_version_into_a_new_one(
    browser: Browser, tmp_path: Path, saving: str
) -> None:
    """An edit typed into the Studies page's editor (the glide-data-grid canvas) is saved and
    shared; editing the opened link and saving makes a new version, the first link unchanged."""
    files = bcg_at_one_year(tmp_path / "bcg")
    unedited = analyze_dfs(None, tmp_path / "bcg")
    first = browser.new_context()
    page = first.new_page()
    page.goto(f"{saving}/studies?{QUERY}")
    wait_idle(page)
    dataset_uploader(page).set_input_files([str(f) for f in files])
    expect(page.get_by_text("Loaded studies.csv, outcomes.csv")).to_be_visible(timeout=RUN_TIMEOUT)
    wait_idle(page)
    edit_events_rt(page, row=1, value=40)  # trial1: 4 -> 40 TB cases with BCG
    link = use_and_save(page, old=None)
    first.close()
    pooled = saved_as_typed(link, edited_copy(tmp_path, "bcg", "one", {"trial1": 40}), unedited)

    fresh = browser.new_context()
    other = fresh.new_page()
    other.goto(link.replace("/studies?", "/?"))
    expect_saved_overview(other, pooled)
    other.goto(link)
    wait_idle(other)
    edit_events_rt(other, row=2, value=60)  # trial2: 6 -> 60
    second = use_and_save(other, old=token_of(link))
    pooled_2 = saved_as_typed(second, edited_copy(tmp_path, "one", "two", {"trial2": 60}), pooled)
    other.goto(second.replace("/studies?", "/?"))
    expect_saved_overview(other, pooled_2)
    fresh.close()

    again = browser.new_context()
    old = again.new_page()
    old.goto(link.replace("/studies?", "/?"))
    expect_saved_overview(old, pooled)
    assert analyze_dfs(token_of(link)) == pooled
    again.close()


def edited_copy(tmp_path: Path, source: str, name: str, events_rt: dict[str, int]) -> Path:
    """The files of folder ``source`` under ``tmp_path`` with the DFS events_rt of the studies
    in ``events_rt`` set as given: what the edits typed in the browser should give."""
    folder = tmp_path / name
    folder.mkdir()
    outcomes = pd.read_csv(tmp_path / source / "outcomes.csv")
    for study, value in events_rt.items():
        outcomes.loc[outcomes["study_id"] == study, "events_rt"] = value
    outcomes.to_csv(folder / "outcomes.csv", index=False)
    (folder / "studies.csv").write_bytes((tmp_path / source / "studies.csv").read_bytes())
    return folder


def outcomes_editor(page: Page) -> Locator:
    """The Studies page's outcomes editor: the data grid under the "Outcomes" tab of the tabs
    that also hold "Studies" (the "Edit the data" section)."""
    tabs = (
        page.get_by_test_id("stTabs")
        .filter(has=page.get_by_role("tab", name="Outcomes", exact=True))
        .filter(has=page.get_by_role("tab", name="Studies", exact=True))
    )
    expect(tabs).to_have_count(1, timeout=RUN_TIMEOUT)
    return tabs.get_by_test_id("stDataFrame").first


#: the outcomes editor's columns (core.data.schema.OUTCOME_COLUMNS) right of study_id
EVENTS_RT_STEPS, SOURCE_URL_STEPS = 6, 14
#: the grid's header and row height (px): the middle of row r is at HEADER + (r - 0.5) * ROW
HEADER, ROW = 35, 35


def type_in_cell(page: Page, grid: Locator, row: int, steps_right: int, text: str) -> None:
    """Select row ``row``'s study_id cell with a click, move ``steps_right`` columns with the
    arrow keys (the grid scrolls along), open the cell's overlay editor (Enter), replace its
    text and commit (Enter); the grid's accessible table (glide-data-grid keeps one beside its
    canvas) then holds ``text`` in that cell."""
    wait_idle(page)
    grid.scroll_into_view_if_needed()
    grid.click(position={"x": 60, "y": HEADER + (row - 0.5) * ROW})
    for _ in range(steps_right):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    overlay = page.get_by_test_id("portal").locator("textarea.gdg-input, input.gdg-input")
    expect(overlay).to_be_focused(timeout=RUN_TIMEOUT)  # the cell's overlay editor is open
    overlay.fill(text)
    expect(overlay).to_have_value(text)
    overlay.press("Enter")
    expect(overlay).to_have_count(0, timeout=RUN_TIMEOUT)
    cell = grid.locator(f'[aria-rowindex="{row + 1}"] [aria-colindex="{steps_right + 1}"]')
    expect(cell).to_have_text(text, timeout=RUN_TIMEOUT)


def edit_events_rt(page: Page, row: int, value: int) -> None:
    """Type ``value`` as events_rt of the outcomes editor's row ``row`` and a source link for
    it (a changed row needs one); the page then finds the edit valid."""
    grid = outcomes_editor(page)
    type_in_cell(page, grid, row, EVENTS_RT_STEPS, str(value))
    expect(page.get_by_text("Edits: 1 row changed. 1 problem(s)", exact=False)).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    type_in_cell(page, grid, row, SOURCE_URL_STEPS, EDIT_SOURCE)
    expect(page.get_by_text("Edits: 1 row changed. They pass every check.")).to_be_visible(
        timeout=RUN_TIMEOUT
    )


def use_and_save(page: Page, old: str | None) -> str:
    """ "Use the edited data", then "Save and get a link": the new link (its token not ``old``)."""
    page.get_by_role("button", name="Use the edited data").click()
    wait_idle(page)
    expect(page.get_by_text("No changes yet.")).to_be_visible(timeout=RUN_TIMEOUT)
    page.get_by_role("button", name="Save and get a link").click()
    other_token = rf"(?!{old})" if old else ""
    expect(page).to_have_url(
        re.compile(rf"data={other_token}[A-Za-z0-9_-]{{32}}"), timeout=RUN_TIMEOUT
    )
    expect(page.get_by_text("shown only this once", exact=False)).to_be_visible()
    return page.url


def upload_and_save(page: Page, base: str, files: list[Path]) -> str:
    """On the Studies page at ``base``: upload ``files``, "Save and get a link"; the link."""
    page.goto(f"{base}/studies?{QUERY}")
    wait_idle(page)
    dataset_uploader(page).set_input_files([str(f) for f in files])
    expect(page.get_by_text("Loaded studies.csv, outcomes.csv")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.get_by_text("does not carry your uploaded data")).to_be_visible()
    page.get_by_role("button", name="Save and get a link").click()
    expect(page).to_have_url(re.compile(r"data=[A-Za-z0-9_-]{32}"), timeout=RUN_TIMEOUT)
    expect(page.get_by_text("shown only this once", exact=False)).to_be_visible()
    return page.url


def saved_as_typed(link: str, edited: Path, before: dict) -> dict:
    """The pooled DFS of the version saved at ``link``: it holds exactly the typed value (the
    same pooled result as ``edited``, the files with that cell changed) and reads another
    number than ``before``."""
    pooled = analyze_dfs(token_of(link))
    assert pooled["estimate"] == pytest.approx(analyze_dfs(None, edited)["estimate"], abs=1e-12)
    shown = fmt_ratio(math.exp(pooled["estimate"]))
    assert shown != fmt_ratio(math.exp(before["estimate"])), (pooled, before)
    return pooled


def token_of(link: str) -> str:
    found = re.search(r"data=([A-Za-z0-9_-]{32})", link)
    assert found is not None, link
    return found.group(1)


def analyze_dfs(token: str | None, folder: Path | None = None) -> dict:
    """``python -m core analyze`` on the link's view of saved version ``token`` (the store of
    this process's EXPLORER_STORE), or of the files in ``folder``: the DFS pooled result."""
    args = [f"{QUERY}&data={token}"] if folder is None else ["--data", str(folder), QUERY]
    done = subprocess.run(
        [sys.executable, "-m", "core", "analyze", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)["DFS"]["pooled"]


def expect_saved_overview(page: Page, pooled: dict) -> None:
    """The Overview ``page`` (already navigated) shows the saved bcg version: its notice, the
    pooled DFS ratio of ``pooled`` and its 13 studies, and no error."""
    wait_idle(page)
    expect(page.get_by_text("the saved dataset of this link", exact=False)).to_be_visible(
        timeout=RUN_TIMEOUT
    )
    wait_idle(page)
    # the first pooled metric is DFS's: the bcg data have no OS numbers
    expect(pooled_metric(page)).to_have_text(
        fmt_ratio(math.exp(pooled["estimate"])), timeout=RUN_TIMEOUT
    )
    expect(page.get_by_test_id("stMetric").filter(has_text="Studies (k)").first).to_contain_text(
        "13", timeout=RUN_TIMEOUT
    )
    expect(page.get_by_test_id("stException")).to_have_count(0)
