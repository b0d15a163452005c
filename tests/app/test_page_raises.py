"""A page that raises gets app.py's plain message (AppTest, through app.py as a server runs it):
no exception element, the last-resort st.error, and the sidebar still drawn."""

from __future__ import annotations

import importlib

import pytest

from tests.app.conftest import open_app

#: app.py's last-resort message
LAST_RESORT = (
    "Part of this view could not be computed for the current settings. Change a setting, "
    "or use 'Reset to the default view' in the sidebar; the rest of the app keeps working."
)
#: page -> (module, function) the page calls that is made to raise; none of them is called by
#: app.py or the sidebar, so only the page fails
RAISES = {
    "overview": ("ui.cache", "analysis"),
    "studies": ("core.views.analysis", "select_studies"),
    "sensitivity": ("ui.cache", "sensitivity"),
    "bias": ("ui.cache", "bias"),
    "presentation": ("ui.cache", "analysis"),
}


@pytest.mark.parametrize("page", list(RAISES))
def test_a_page_that_raises_gets_the_plain_message(
    page: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(f"the {page} page fails")

    monkeypatch.setenv("EXPLORER_STRICT", "0")  # as a server runs: no error let through
    module, function = RAISES[page]
    monkeypatch.setattr(importlib.import_module(module), function, fails)
    at = open_app(page=page)
    assert not at.exception, [e.value for e in at.exception]
    assert LAST_RESORT in [e.value for e in at.error]
    filters = [m.label for m in at.sidebar.multiselect]
    assert {"Design", "Radiotherapy"} <= set(filters), filters  # the sidebar is drawn
