"""5,000 studies (a tenth of the schema's row limit; copies of the BCG trials, so every one
has a 2x2 table and counts) as a session's upload, on every page,
through app.py as a server runs it: no exception and no last-resort message, the pooled result
is drawn, and the analyses whose cost grows with k decline with their plain message instead of
running for minutes (issue 18). Times are printed, never asserted."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.views import bias, sensitivity
from core.views.messages import too_many
from tests.app.conftest import PAGES, open_app
from tests.app.test_edge_float_range_pages import LAST_RESORT
from tests.fixtures.big import big

K = 5_000
#: every study of the upload counts: all indications, designs and RT types
EVERY_STUDY = (
    "scope=all&indication=PVTT&indication=narrow_margin&indication=MVI&indication=other"
    "&design=RCT&design=PSM&design=prospective-nonrandomized&design=retrospective"
    "&rt=external&rt=internal"
)


def shown(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning") for e in at.get(kind)]
    tables = [d.value.to_string() for d in at.dataframe]
    return "\n".join([*(str(p) for p in parts), *tables])


@pytest.mark.slow
@pytest.mark.parametrize("page", list(PAGES))
def test_five_thousand_studies_on_every_page(page: str) -> None:
    start = time.perf_counter()
    query = f"{EVERY_STUDY}&outcome=DFS&tf=1"
    at = open_app(query, page, timeout=300, upload=big(K, bundled=False))
    print(f"{page} k={K}: {time.perf_counter() - start:.1f} s")
    assert not at.exception, [e.value for e in at.exception]
    text = shown(at)
    assert LAST_RESORT not in text
    if page in ("overview", "presentation"):
        assert f"k = {K:,}" in text or f"k = {K}" in text, text[:2000]
    if page == "sensitivity":
        assert too_many("Leave-one-out", sensitivity.REFIT_MAX_K, K) in text
        assert too_many("A GOSH plot", sensitivity.GOSH_MAX_K, K) in text
    if page == "bias":
        assert too_many("Trim and fill", bias.RANK_MAX_K, K) in text
        assert f"Egger's classical test is computed for at most {bias.FIT_MAX_K:,}" in text
        # the funnel plot is drawn; the BCG trials' endpoint is "TB cases" (as reported),
        # counted without a time point (time_years empty), so no "1-year"
        assert f"Odds ratio of TB cases · k = {K}" in text
