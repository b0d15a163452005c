"""Hostile upload file names on the Studies page (AppTest): an UploadResult made by
``ui.upload.handle_upload`` is put in the session as pages/studies.py stores it, and every
Markdown element that shows a name shows it as text: no heading, link, image, HTML or colour
directive is left live."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, PAGES, open_panels
from tests.fixtures import edge
from ui.upload import UploadResult, handle_upload

#: a file name that Markdown would render as a heading, link, image, HTML, coloured text and a
#: setext heading
NAMES = (
    "# x.csv",
    "[a](http://x).csv",
    "![a](http://x/y.png).csv",
    "<b>x</b>.csv",
    ":red[x].csv",
    "x\n===.csv",
)
#: a backslash escape: the character after it is text (CommonMark escapes ASCII punctuation)
_ESCAPE = re.compile(r"\\[!-/:-@\[-`{-~]")


def live(markdown: str) -> str:
    """What Markdown could still interpret: the source with every escaped character removed."""
    return _ESCAPE.sub("", markdown)


def shown(markdown: str) -> str:
    """The text a reader sees for escaped characters: the source with the escapes undone."""
    return _ESCAPE.sub(lambda m: m.group(0)[1], markdown)


def markdown_values(at: AppTest) -> list[str]:
    kinds = ("markdown", "caption", "title", "header", "subheader")
    alerts = ("info", "success", "warning", "error")
    return [e.value for kind in (*kinds, *alerts) for e in getattr(at, kind)]


def upload(name: str, *, loads: bool) -> UploadResult:
    """An upload whose studies file is called ``name`` (and its outcomes file 'outcomes' +
    ``name``); ``loads`` False: the studies file is empty, so nothing loads."""
    studies, outcomes = edge.files([edge.study("A")], [edge.hr("A", 0.6, 0.4, 0.9)])
    result = handle_upload(
        [(name, studies[1] if loads else b""), (f"outcomes {name}", outcomes[1])]
    )
    assert result.loaded is loads, result.report.problems
    return result


def studies_page_after(result: UploadResult) -> AppTest:
    """The Studies page, through app.py, after ``result`` came from the uploader."""
    at = open_panels(AppTest.from_file(APP, default_timeout=60))
    at.session_state["upload_result"] = result  # pages/studies.py: RESULT
    if result.loaded:
        at.session_state["upload"] = (result.key, result.dataset)
    at.run()
    at.switch_page(PAGES["studies"]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("loads", [True, False], ids=["loaded", "refused"])
@pytest.mark.parametrize(
    "name", NAMES, ids=["heading", "link", "image", "html", "colour", "setext"]
)
def test_upload_file_names_show_as_plain_text(name: str, loads: bool) -> None:
    at = studies_page_after(upload(name, loads=loads))
    values = markdown_values(at)
    as_text = " ".join(name.split())  # shown on one line
    showing = [v for v in values if as_text in shown(v)]
    assert showing, values  # the upload summary (and the 'Data in use' lines) name the files
    for value in showing:
        code = live(value)
        assert "<b>" not in code and "</b>" not in code, value
        assert "](" not in code and "![" not in code, value
        assert ":red[" not in code, value
        for line in code.splitlines():
            assert not line.lstrip().startswith("#"), value
            assert not re.fullmatch(r"\s*=+\s*", line), value
