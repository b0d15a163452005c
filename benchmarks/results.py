"""Write one section of benchmarks/RESULTS.md, leaving the other sections as they are."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def write_section(title: str, lines: list[str], path: Path = RESULTS) -> None:
    """Replace the section headed ``## title`` (or add it at the end) with ``lines``."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    body = "\n".join([f"## {title}", "", *lines]).rstrip("\n") + "\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: body + "\n", text, count=1)
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + body
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
