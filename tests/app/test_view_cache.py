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


def test_views_of_an_upload_live_in_the_session_and_are_bounded():
    """An upload's results go to the session's store (released with the session), never to
    the process-wide cache, and the store keeps the most recently used entries only."""
    store = cache.st.session_state.setdefault(cache.SESSION_STORE, {})
    store.clear()
    n = cache.SESSION_ENTRIES + 5
    for i in range(n):
        assert cache.per_view(f"upload:abc|{i}", "part", lambda i=i: i) == i
    assert len(store) == cache.SESSION_ENTRIES
    assert ("view", "upload:abc|0", "part") not in store  # the oldest went first
    assert cache.per_view(f"upload:abc|{n - 1}", "part", lambda: "again") == n - 1  # kept
    store.clear()
