"""Per-view caching of what a page computes: once per view and part, never across views."""

from __future__ import annotations

from core.state.view import parse_query
from ui import cache


def test_per_view_computes_once_per_view_and_part():
    calls: list[str] = []

    def make(tag: str):
        return lambda: calls.append(tag) or tag

    assert cache.per_view("test|a", "part", make("a")) == "a"
    assert cache.per_view("test|a", "part", make("again")) == "a"  # cached: not called
    assert cache.per_view("test|b", "part", make("b")) == "b"
    assert cache.per_view("test|a", "other", make("c")) == "c"
    assert calls == ["a", "b", "c"]


def test_view_key_tells_views_apart():
    one = parse_query("?tpoint=interp").state
    two = parse_query("?tpoint=interp&exclude=Yu2014").state
    assert cache.view_key(one) == cache.view_key(parse_query("?tpoint=interp").state)
    assert cache.view_key(one) != cache.view_key(two)
    assert cache.view_key(one).startswith(cache.BUNDLED_KEY + "|")
