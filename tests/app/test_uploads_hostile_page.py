"""Hostile uploads through the Studies page's file uploader (AppTest): the report is shown, no
exception, the data in use is kept when nothing loads, and payloads in the data stay text."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import PAGES, open_app
from tests.fixtures.uploads.corpus import CASES
from tests.fixtures.uploads.xss import PAYLOADS
from ui import blocks

UPLOADS = Path(__file__).resolve().parents[1] / "fixtures" / "uploads"
BCG = Path(__file__).resolve().parents[1] / "fixtures" / "bcg"
REFUSED = ["zip-bomb-as-xlsx", "utf16-bom", "parquet-decompression-bomb", "too-many-columns"]


def _files(pairs: list[tuple[str, bytes]]) -> list[tuple[str, bytes, str]]:
    return [(name, data, "application/octet-stream") for name, data in pairs]


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("name", REFUSED)
def test_refused_upload_keeps_the_data_in_use(name: str) -> None:
    at = open_app(page="studies")
    bcg = [(p.name, p.read_bytes(), "text/csv") for p in sorted(BCG.glob("*.csv"))]
    at.file_uploader[0].set_value(bcg).run()
    key = at.session_state["upload"][0]
    at.file_uploader[0].set_value(_files(CASES[name].files())).run()
    _no_exception(at)
    assert at.session_state["upload"][0] == key  # the previous upload is still in use
    assert "The previous dataset is still in use." in at.error[0].value
    report = next(d.value for d in at.dataframe if "Problem" in d.value.columns)
    assert report["Problem"].str.contains(CASES[name].expect, regex=False).any()


def test_hostile_text_upload_loads_with_warnings_and_shows_as_text() -> None:
    at = open_app(page="studies")
    files = [(p.name, p.read_bytes(), "text/csv") for p in sorted(UPLOADS.glob("xss_*.csv"))]
    at.file_uploader[0].set_value(files).run()
    _no_exception(at)
    assert at.session_state["upload"][0].startswith("upload:")
    assert "contains HTML markup" in " ".join(
        next(d.value for d in at.dataframe if "Problem" in d.value.columns)["Problem"]
    )
    label = f"{PAYLOADS[0]} S0"
    assert [h.value for h in at.subheader if "S0" in h.value] == [blocks.text(label)]
    # every Markdown element that carries a payload carries it escaped
    for element in [*at.markdown, *at.caption, *at.subheader, *at.info, *at.warning]:
        for payload in PAYLOADS:
            assert payload not in element.value, element.value[:200]
    for page in ("overview", "presentation", "sensitivity", "bias"):
        at.switch_page(PAGES[page]).run()
        _no_exception(at)
        for element in [*at.markdown, *at.caption, *at.title, *at.info, *at.warning]:
            for payload in PAYLOADS:
                assert payload not in element.value, (page, element.value[:200])
