"""The one Markdown escaper: user and data text (labels, notes, sources, file names, notices)
shown by ``st.markdown``, ``st.caption``, alerts, headers and widget labels as plain text.

Streamlit renders CommonMark + GFM (tables, strikethrough, autolinks) with its own additions
(``:red[...]`` colour directives, ``:material/name:`` icons, ``:emoji:`` shortcodes, ``$`` LaTeX).
CommonMark lets a backslash escape every ASCII punctuation character, so escaping all of them
disarms every inline construct (emphasis, links, images, HTML, code, directives, icons, maths,
table pipes, entities). Block constructs need a line start: setext underlines (``===``),
indented code, lists, headings, quotes, fences and tables. Joining the text into one line
(every run of whitespace, line breaks included, becomes one space) removes them all.
"""

from __future__ import annotations

import re

from core.sanitize import xml_safe

# every ASCII punctuation character but "," and "%", which mean nothing to CommonMark or
# Streamlit: ! " # $ & ' ( ) * + - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~
_PUNCT = re.compile(r"([!-$&-+\-./:-@\[-`{-~])")


def md(text: object) -> str:
    """``text`` as Markdown that renders as exactly that text, on one line.

    >>> md("Title\\n=====")
    'Title \\\\=\\\\=\\\\=\\\\=\\\\='
    >>> md("    code  <b>x</b>")
    'code \\\\<b\\\\>x\\\\<\\\\/b\\\\>'
    """
    one_line = " ".join(xml_safe(str(text)).split())  # controls and non-characters: U+FFFD
    return _PUNCT.sub(r"\\\1", one_line)


def link_code(link: str) -> str:
    """``link`` as Markdown inline code: shown verbatim, selectable, not a clickable link.
    (``st.code`` would show it with a copy button, but its syntax highlighter costs every page
    load about a fifth of the browser's work before the forest plots are drawn: README, "Fast
    first open".) Links are percent-encoded, so they hold no backtick; one would widen the
    fence.

    >>> link_code("http://localhost:8501/?tpoint=interp")
    '`http://localhost:8501/?tpoint=interp`'
    """
    fence, pad = ("``", " ") if "`" in link else ("`", "")
    return f"{fence}{pad}{link}{pad}{fence}"
