"""AppTest helpers: open the app on a link (query string) and a page, as a user would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest, app_test

from ui.sof import panel_key

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = {
    "overview": "pages/overview.py",
    "studies": "pages/studies.py",
    "sensitivity": "pages/sensitivity.py",
    "bias": "pages/bias.py",
    "presentation": "pages/presentation.py",
}
#: expanders whose content is drawn only when open (on_change="rerun"); tests open them all
#: so that every check also covers what they hold
OPEN_PANELS = (
    *(f"not_used_{o}" for o in ("OS", "DFS")),
    *(panel_key("sof", o) for o in ("OS", "DFS")),
)


class _ServerPagesManager(PagesManager):
    """Pages as a server runs them: ``app.py`` first, which picks the page with st.navigation.

    AppTest clears the class-wide "pages folder" switch before every run; with a pages/ folder
    present it would then run a page after ``switch_page`` on its own (Streamlit's older
    multipage mode), without app.py's sidebar, link notices and last-resort handler.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        PagesManager.uses_pages_directory = False
        super().__init__(*args, **kwargs)


@pytest.fixture(autouse=True)
def _through_app_py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_test, "PagesManager", _ServerPagesManager)


@pytest.fixture(autouse=True)
def _own_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every AppTest saves into a store in its own temporary folder, never the default one."""
    monkeypatch.setenv("EXPLORER_STORE", f"sqlite:///{tmp_path / 'store.sqlite3'}")


def open_panels(at: AppTest) -> AppTest:
    for key in OPEN_PANELS:
        at.session_state[key] = True
    return at


def open_app(
    query: str = "", page: str = "overview", timeout: float = 60, upload: object = None
) -> AppTest:
    """Run the app as if ``?query`` had been opened on ``page`` (with ``upload``, a
    (key, dataset) pair as ui.upload stores it, as the session's data); returns the AppTest."""
    at = open_panels(AppTest.from_file(APP, default_timeout=timeout))
    if upload is not None:
        at.session_state["upload"] = upload
    for key, values in parse_qs(query.lstrip("?"), keep_blank_values=True).items():
        at.query_params[key] = values if len(values) > 1 else values[0]
    at.run()
    if page != "overview":
        at.switch_page(PAGES[page])
        at.run()
    return at


def metric_values(at: AppTest) -> dict[str, list[str]]:
    """label -> shown values, in page order (a label can repeat: one per outcome)."""
    out: dict[str, list[str]] = {}
    for m in at.metric:
        out.setdefault(m.label, []).append(m.value)
    return out


@pytest.fixture
def app() -> Callable[..., AppTest]:
    return open_app


def shown_link(at: AppTest) -> str:
    """The link to copy in the sidebar (Markdown inline code, ui.markup.link_code)."""
    (link,) = [m.value for m in at.sidebar.markdown if m.value.startswith("`")][:1]
    return link.strip("`").strip()
