"""The app's own stylesheet and script (ui/style.py) and page icon ask nothing of another host,
and the CSS rules the layout relies on are there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from ui.style import CSS, NARROW_PX, SCROLL_FOCUS_JS, TILES_PREFIX

ROOT = Path(__file__).resolve().parents[2]


def test_css_and_script_load_nothing_from_outside():
    for text in (CSS, SCROLL_FOCUS_JS):
        assert not re.search(r"https?:|//[a-z]|url\(|@import|fetch\(|src=", text, re.I)


def test_page_icon_is_not_fetched():
    """A ``:material/...`` page icon makes the browser fetch it from a font server; an emoji is
    drawn by the browser itself."""
    tree = ast.parse((ROOT / "app.py").read_text())
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "set_page_config"
    ]
    (call,) = calls
    (icon,) = [k.value for k in call.keywords if k.arg == "page_icon"]
    assert isinstance(icon, ast.Constant) and isinstance(icon.value, str)
    assert not icon.value.startswith(":") and not icon.value.isascii()


def test_the_rules_the_layout_relies_on():
    assert ".vega-embed svg { max-width: 100%; height: auto; }" in CSS  # charts fit a column
    assert '[data-testid="stTable"] { max-width: 100%; overflow-x: auto; }' in CSS
    assert f"@media (max-width: {NARROW_PX}px)" in CSS
    assert f'[class*="st-key-{TILES_PREFIX}"]' in CSS
    assert "text-overflow: clip" in CSS  # sidebar chips are not cut off with an ellipsis
    assert CSS.count("{") == CSS.count("}")


def test_app_injects_the_style_once_before_the_page_runs():
    source = (ROOT / "app.py").read_text()
    assert source.count("style.inject()") == 1
    assert source.index("style.inject()") < source.index("page.run()")
