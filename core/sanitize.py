"""Text from users made safe for each renderer: one place for control characters and lengths.

Users' labels, notes and file names reach renderers that break on characters XML and PDF do
not allow: vl-convert (Vega to SVG/PNG/PDF) aborts the whole process on a vertical tab, a BEL,
a NUL or U+FFFE. Every text bound for a renderer goes through here:

- :func:`xml_safe` replaces C0/C1 control characters (other than tab, LF, CR), unpaired
  surrogates and Unicode non-characters (U+FDD0-U+FDEF and U+xFFFE/U+xFFFF in every plane)
  with U+FFFD, the visible replacement character, so the user sees that something was there;
- :func:`one_line` also turns tab, LF and CR into spaces (labels, table cells, chart text);
- :func:`clip` shortens a text for display to ``limit`` characters, ending in "…"; the full
  text stays in the data and in table exports;
- :func:`vega_spec` applies both to every string of a Vega-Lite spec (expressions are only
  made XML-safe), so the same label is shortened the same way wherever the spec names it.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["LABEL_LIMIT", "REPLACEMENT", "clip", "one_line", "vega_spec", "xml_safe"]

REPLACEMENT = "\ufffd"
LABEL_LIMIT = 120  # characters of a label drawn in a figure
TITLE_FACTOR = 4  # titles and descriptions may be this many times longer

_NONCHARS = "".join(f"\\U{p:04x}fffe\\U{p:04x}ffff" for p in range(1, 17))
_BAD = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff" + _NONCHARS + "]"
)
_BREAKS = re.compile("[\t\n\r]")

# Vega-Lite keys whose string value is an expression or a field reference, not display text:
# shortening them would change what the chart computes.
_EXPRESSION_KEYS = frozenset(
    {"expr", "calculate", "filter", "test", "labelExpr", "update", "signal", "field", "as"}
)
_TITLE_KEYS = frozenset({"title", "subtitle", "description"})


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids (and the non-characters) made U+FFFD."""
    return _BAD.sub(REPLACEMENT, text)


def one_line(text: str) -> str:
    """:func:`xml_safe`, with tabs and line breaks made spaces."""
    return _BREAKS.sub(" ", xml_safe(text))


def clip(text: str, limit: int = LABEL_LIMIT) -> str:
    """``text`` cut to at most ``limit`` characters, the last one "…" when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def vega_spec(spec: Any, limit: int = LABEL_LIMIT) -> Any:
    """A copy of a Vega-Lite spec (dicts, lists, scalars) safe for any renderer: display
    strings one line and clipped to ``limit`` (titles to ``TITLE_FACTOR`` times that),
    expressions and field names XML-safe only."""
    return _walk(spec, limit, expression=False)


def _walk(node: Any, limit: int, *, expression: bool) -> Any:
    if isinstance(node, str):
        return xml_safe(node) if expression else clip(one_line(node), limit)
    if isinstance(node, dict):
        return {xml_safe(str(k)): _walk_value(k, v, limit) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_walk(v, limit, expression=expression) for v in node]
    return node


def _walk_value(key: object, value: Any, limit: int) -> Any:
    if key in _TITLE_KEYS:
        limit *= TITLE_FACTOR
    return _walk(value, limit, expression=key in _EXPRESSION_KEYS)
