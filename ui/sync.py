"""The link is the state: keep ``ViewState``, the URL and the widgets in step.

On every run the URL's query string is parsed; when it carries a state, that state wins (a
link was opened or edited). Streamlit clears the query string on a page switch, so an empty
URL restores the session's last state and writes it back: links keep their state across
pages. A widget change builds a new state, which goes to the session and the URL at once.
"""

from __future__ import annotations

import streamlit as st

from core.data.description import Description, link_defaults
from core.state.view import (
    FIELD_BY_NAME,
    ViewState,
    encode_query,
    keys_given,
    parse_query,
    to_query_params,
)

_STATE = "view_state"
_NOTICES = "view_notices"
#: the dataset in use's own defaults (its description's measure) and the fields the last
#: opened link set itself
_DEFAULTS = "view_defaults"
_GIVEN = "view_given"


def _defaults() -> dict[str, str]:
    return dict(st.session_state.get(_DEFAULTS, {}))


def _url_params() -> dict[str, list[str]]:
    return {key: st.query_params.get_all(key) for key in st.query_params}


def _raw_query() -> str:
    """The browser's query string as typed (Streamlit drops one of more than 1,000
    parameters from st.query_params silently; the codec then reports what it ignores)."""
    try:
        url = st.context.url or ""
    except Exception:  # no browser context (tests)
        return ""
    return url.split("?", 1)[1] if "?" in url else ""


def resolve() -> ViewState:
    """The view for this run, from the URL or (after a page switch) the session."""
    raw = _url_params()
    previous: ViewState | None = st.session_state.get(_STATE)
    typed = "" if raw or previous is not None else _raw_query()
    if raw or typed:
        parsed = parse_query(raw or typed, _defaults())
        state = parsed.state
        if previous is None or state != previous:
            st.session_state[_NOTICES] = parsed.notices
            st.session_state[_GIVEN] = keys_given(raw or typed)
    else:
        state = previous if previous is not None else ViewState()
    st.session_state[_STATE] = state
    _write_url(state, raw)
    return state


def require_entrypoint() -> None:
    """Call first in every page. On a freshly started server Streamlit's old pages/ folder
    rule runs a page for a shared deep link (/sensitivity?...) without app.py, so without the
    sidebar and the link's state. Streamlit leaves that mode once app.py has called
    st.navigation; here we leave it at once (its class-level switch) and rerun, which goes
    through app.py with the same page and link."""
    if _STATE in st.session_state:
        return
    try:
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
    except (ImportError, AttributeError):  # a future Streamlit without the old mode
        st.info("Open this view from the app's main page.")
        st.stop()
    st.rerun()


def adopt_defaults(state: ViewState, words: Description) -> ViewState:
    """The view on the dataset whose description is ``words``: a field the link did not set
    and that holds the previous dataset's default takes this dataset's (its default effect
    measure); the link then leaves out what equals this dataset's defaults."""
    old, new = _defaults(), link_defaults(words)
    if old == new:
        return state
    st.session_state[_DEFAULTS] = new
    given = st.session_state.get(_GIVEN, frozenset())
    changes = {}
    for name in {*old, *new} - set(given):
        default = FIELD_BY_NAME[name].default
        if getattr(state, name) == old.get(name, default):
            changes[name] = new.get(name, default)
    return commit(state.replace(**changes))


def notices() -> tuple[str, ...]:
    """What the last opened link held that was ignored, in plain words."""
    return tuple(st.session_state.get(_NOTICES, ()))


def commit(state: ViewState) -> ViewState:
    """Make ``state`` the current view: session and URL."""
    st.session_state[_STATE] = state
    _write_url(state, _url_params())
    return state


def current() -> ViewState:
    return st.session_state.get(_STATE) or ViewState()


def _write_url(state: ViewState, raw: dict[str, list[str]]) -> None:
    wanted = to_query_params(state, _defaults())
    if wanted != raw:
        st.query_params.from_dict(wanted)


def share_link(state: ViewState) -> str:
    """The full link to this view on this page."""
    base = ""
    try:
        base = (st.context.url or "").split("?", 1)[0]
    except Exception:  # no browser context (tests, CLI)
        base = ""
    query = encode_query(state, _defaults())
    return f"{base}?{query}" if query else base
