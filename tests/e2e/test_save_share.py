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
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ROOT, serve
from tests.e2e.test_browser import RUN_TIMEOUT, dataset_upload, pooled_metric, wait_idle
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


@pytest.mark.timeout(300)
def test_upload_save_and_open_the_link_in_a_fresh_context(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, artifacts: Path
) -> None:
    monkeypatch.setenv("EXPLORER_STORE", f"sqlite:///{tmp_path / 'store.sqlite3'}")
    files = bcg_at_one_year(tmp_path / "bcg")
    with serve(artifacts / "streamlit-save.log") as (base, _):
        first = browser.new_context()
        link = upload_and_save(first.new_page(), base, files)
        first.close()

        pooled = analyze_dfs(token_of(link))

        fresh = browser.new_context()
        other = fresh.new_page()
        other.goto(link.replace("/studies?", "/?"))
        expect_saved_overview(other, pooled)
        fresh.close()


def upload_and_save(page: Page, base: str, files: list[Path]) -> str:
    """On the Studies page at ``base``: upload ``files``, "Save and get a link"; the link."""
    page.goto(f"{base}/studies?{QUERY}")
    wait_idle(page)
    dataset_upload(page).set_input_files([str(f) for f in files])
    expect(page.get_by_text("Loaded studies.csv, outcomes.csv")).to_be_visible(timeout=RUN_TIMEOUT)
    expect(page.get_by_text("does not carry your uploaded data")).to_be_visible()
    page.get_by_role("button", name="Save and get a link").click()
    expect(page).to_have_url(re.compile(r"data=[A-Za-z0-9_-]{32}"), timeout=RUN_TIMEOUT)
    expect(page.get_by_text("shown only this once", exact=False)).to_be_visible()
    return page.url


def token_of(link: str) -> str:
    found = re.search(r"data=([A-Za-z0-9_-]{32})", link)
    assert found is not None, link
    return found.group(1)


def analyze_dfs(token: str) -> dict:
    """``python -m core analyze`` on the link's view of saved version ``token`` (the store of
    this process's EXPLORER_STORE): the DFS pooled result."""
    done = subprocess.run(
        [sys.executable, "-m", "core", "analyze", f"{QUERY}&data={token}"],
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
