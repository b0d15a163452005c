"""Per-view caching of what a page computes: once per view and part, never across views."""

from __future__ import annotations

from core.state.view import parse_query
from ui import cache


def test_per_view_computes_once_per_view_and_part():
    calls: list[str] = []

    def make(tag: str):
        return lambda: calls.append(tag) or tag

    assert cache.per_view("bundled|a", "part", make("a")) == "a"
    assert cache.per_view("bundled|a", "part", make("again")) == "a"  # cached: not called
    assert cache.per_view("bundled|b", "part", make("b")) == "b"
    assert cache.per_view("bundled|a", "other", make("c")) == "c"
    assert calls == ["a", "b", "c"]


def test_view_key_tells_views_apart():
    one = parse_query("?tpoint=interp").state
    two = parse_query("?tpoint=interp&exclude=Yu2014").state
    assert cache.view_key(one) == cache.view_key(parse_query("?tpoint=interp").state)
    assert cache.view_key(one) != cache.view_key(two)
    assert cache.view_key(one).startswith(cache.BUNDLED_KEY + "|")


def _session_cache_script() -> None:
    """Run by AppTest: fill the session's cache past its bound, then release it as Streamlit
    does when the tab's connection closes (AppSession.clear_session_caches)."""
    import streamlit as st
    from streamlit.runtime.caching import clear_session_resource_cache
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    from ui import cache

    n = cache.SESSION_ENTRIES + 5
    for i in range(n):
        cache.per_view(f"upload:abc|{i}", "part", lambda i=i: i)
    st.session_state["oldest"] = cache.per_view("upload:abc|0", "part", lambda: "made again")
    st.session_state["newest"] = cache.per_view(f"upload:abc|{n - 1}", "part", lambda: "again")
    st.session_state["bundled"] = cache.per_view("bundled|x", "part", lambda: "global")
    clear_session_resource_cache(get_script_run_ctx().session_id)
    st.session_state["released"] = cache.per_view(f"upload:abc|{n - 1}", "part", lambda: "new")
    st.session_state["global kept"] = cache.per_view("bundled|x", "part", lambda: "made again")


def test_views_of_an_upload_are_cached_per_session_bounded_and_released():
    """An upload's results go to a session-scoped cache (never the process-wide one) that
    keeps the most recent ``SESSION_ENTRIES`` and is emptied when the connection closes."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_session_cache_script).run()
    assert not at.exception
    assert at.session_state["oldest"] == "made again"  # the oldest went first
    assert at.session_state["newest"] == cache.SESSION_ENTRIES + 4  # kept
    assert at.session_state["released"] == "new"  # gone with the session's connection
    assert at.session_state["global kept"] == "global"  # the bundled data's views are shared
