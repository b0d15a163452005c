"""The published comparison in a real browser: beside a 3-year OS view the Present page says in
one line that the published analysis (2-year OS odds ratio) is not comparable, and never shows
the note on its probable misprint."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.test_browser import RUN_TIMEOUT, wait_idle


def test_published_box_not_comparable_at_three_years(page: Page, app_url: str) -> None:
    page.goto(app_url + "/presentation?t_os=3")
    line = "not comparable: the published analysis pooled the OR of 2-year OS"
    expect(page.get_by_text(line, exact=False)).to_have_count(1, timeout=RUN_TIMEOUT)
    wait_idle(page)
    expect(page.get_by_text("this view shows the OR of 3-year OS", exact=False)).to_have_count(1)
    expect(page.get_by_text("misprint", exact=False)).to_have_count(0)
    expect(page.get_by_text("0.371", exact=False)).to_have_count(0)
