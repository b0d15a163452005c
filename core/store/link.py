"""The ``data=`` parameter of a link: which saved version a link shows."""

from __future__ import annotations

from urllib.parse import parse_qsl

from core.state.view import _query_part

KEY = "data"


def split_data(query: str) -> tuple[tuple[str, ...], str | list[tuple[str, str]]]:
    """The link's ``data=`` values and the rest of the link for ``parse_query``.

    Keys are matched as ``parse_query`` matches them (trimmed, any case). A link without
    ``data=`` is passed on unchanged; otherwise as its other (key, value) pairs in order. A
    link with a token and no ``v`` is a version-1 link (it sets a control, ``data``), so the
    rest says ``v=1`` first: ``?data=TOKEN`` alone reads as the app reads it."""
    pairs = parse_qsl(_query_part(query), keep_blank_values=True, errors="replace")
    tokens = tuple(v.strip() for k, v in pairs if k.strip().lower() == KEY and v.strip())
    if not any(k.strip().lower() == KEY for k, _ in pairs):
        return (), query
    rest = [(k, v) for k, v in pairs if k.strip().lower() != KEY]
    if tokens and not any(k.strip().lower() == "v" for k, _ in rest):
        rest.insert(0, ("v", "1"))
    return tokens, rest
