"""The start-up warm-up (ui/warmup.py, run by serve.py) fills exactly the cache entries that
``/`` reads for the default link: after it, the Overview draws without computing the analysis,
either forest plot or the summary of findings. No time is measured."""

from __future__ import annotations

import pytest
import streamlit as st

from tests.app.conftest import open_app
from ui import blocks, cache, sof, warmup


def _forbid_computing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """From here on, computing the analysis, a forest spec or the summary of findings fails
    the run (EXPLORER_STRICT lets the error through); returns the list into which every
    per-view entry computed from here on is recorded, (view, part)."""

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("computed on the first visit: not warmed")

    monkeypatch.setattr(cache, "analyse", fail)
    monkeypatch.setattr(blocks, "forest_chart", fail)
    monkeypatch.setattr(sof, "sof_table", fail)
    computed: list[tuple[str, str]] = []
    per_view = cache.per_view

    def recording(view: str, part: str, make):
        return per_view(view, part, lambda: computed.append((view, part)) or make())

    monkeypatch.setattr(cache, "per_view", recording)
    return computed


def test_after_the_warm_up_the_default_overview_computes_nothing(monkeypatch):
    st.cache_resource.clear()
    assert warmup.warm_up() > 0
    computed = _forbid_computing(monkeypatch)
    at = open_app("")
    assert not at.exception
    assert computed == []  # every per-view entry of the page came from the warm-up
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert len(specs) == 2 and all('"toggle"' in s for s in specs)  # both forest plots


def test_without_the_warm_up_the_first_visit_computes(monkeypatch):
    """The check above can fail: with empty caches the same run computes, and fails."""
    st.cache_resource.clear()
    _forbid_computing(monkeypatch)
    at = open_app("")
    assert at.exception
    assert "not warmed" in at.exception[0].value


def test_the_warm_up_imports_what_the_pages_import():
    names = warmup.script_imports(warmup.SCRIPTS)
    for module in ("streamlit", "pandas", "ui.blocks", "ui.sof", "core.charts.forest"):
        assert module in names
    assert "__future__" not in names
