"""The hostile upload corpus (tests/fixtures/uploads/corpus.py) through the path the Studies page
uses (ui.upload.handle_upload -> core.data.dataset.load_files): a clear report, no exception, the
previous data kept when nothing loads, and bounded memory for the large ones."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from core.data.schema import ROW_NOTE
from tests.fixtures.uploads.corpus import CASES, HTML
from ui import upload

#: Peak growth of the process's resident memory while one upload is validated (the files
#: themselves are built before the measurement starts).
MEMORY_BOUND = 300_000_000

T = TypeVar("T")


def _status_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M)[1])  # type: ignore[index]


def peak_growth(run: Callable[[], T]) -> tuple[T, int]:
    """(result, bytes) where bytes is how far the resident set rose above its size at the start
    while ``run`` ran: Linux's high-water mark (VmHWM), reset first through
    /proc/self/clear_refs. Unlike tracemalloc it counts memory that C libraries (Arrow,
    openpyxl's parser) allocate, and it hooks no allocator: tracemalloc.stop() while another
    thread allocates can crash CPython 3.11 (gh-128679), which ended a CI worker."""
    Path("/proc/self/clear_refs").write_text("5")
    start = _status_kib("VmRSS")
    result = run()
    return result, (_status_kib("VmHWM") - start) * 1024


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", list(CASES))
def test_upload_gets_a_clear_report(name: str) -> None:
    case = CASES[name]
    files = case.files()
    result, peak = peak_growth(lambda: upload.handle_upload(files))
    if case.large:
        assert peak < MEMORY_BOUND, f"{name}: peak {peak / 1e6:.0f} MB"
    summary = upload.report_summary(result)
    found = [summary, *(f"{p.message} {p.fix}" for p in result.report.problems)]
    found += list(result.report.notes)
    assert any(case.expect in text for text in found), (name, found[:5])
    assert result.loaded == case.loads, (name, found[:5])
    if case.loads:
        assert result.key and result.key.startswith("upload:")
        assert len(result.dataset.studies) > 0
    else:
        assert result.key is None and result.dataset is None
        assert "The previous dataset is still in use." in summary
        assert result.report.errors, "a refused upload says why"
    frame = upload.report_frame(result.report)
    assert list(frame.columns) == list(upload.REPORT_COLUMNS)
    assert frame["Problem"].str.len().gt(0).all()
    assert frame["Problem"].str.len().lt(2_000).all(), "a message quotes too much of the file"
    assert len(frame) <= 5_000
    assert ROW_NOTE in result.report.text()


def test_hostile_text_is_kept_as_text_never_evaluated() -> None:
    result = upload.handle_upload(CASES["formula-injection"].files())
    studies = result.dataset.studies.set_index("study_id")
    assert studies.at["A1", "label"] == '=HYPERLINK("http://evil.example","x")'
    assert studies.at["A1", "notes"].startswith("@SUM")
    html = upload.handle_upload(CASES["html-js-in-names"].files()).dataset.studies
    assert html.set_index("study_id").at["A1", "label"] == HTML


def test_rows_with_wrong_types_are_left_out_and_named() -> None:
    result = upload.handle_upload(CASES["wrong-types"].files())
    assert result.loaded
    assert ("studies.csv", 2) in result.report.dropped  # year 'two thousand', n_rt -5
    assert ("studies.csv", 4) in result.report.dropped  # NaN, inf
    assert result.dataset.studies["study_id"].tolist() == ["B2"]


def test_macros_in_a_renamed_xlsm_are_ignored() -> None:
    result = upload.handle_upload(CASES["xlsm-renamed-xlsx"].files())
    assert result.loaded
    assert result.dataset.studies["study_id"].tolist() == ["A1", "B2"]
