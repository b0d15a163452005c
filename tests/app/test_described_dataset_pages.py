"""A dataset that describes itself (tests/fixtures/bcg_described: metafor's dat.bcg with its
description.json) reads in its own words on the Overview, the Present page and the sidebar,
never in the bundled topic's (RT, HCC, 2-year OS, Rim et al.); its pooled numbers are
metafor's (tests/conformance/reference/bcg.json, REML)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import load_files
from tests.app.conftest import metric_values, open_app
from ui import upload
from ui.markup import md as text

ROOT = Path(__file__).resolve().parents[2]
BCG = ROOT / "tests" / "fixtures" / "bcg_described"
REFERENCE = ROOT / "tests" / "conformance" / "reference" / "bcg.json"
FORBIDDEN = ("RT", "HCC", "2-year OS", "Rim et al", "overall survival", "radiotherapy")


def _files() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(BCG.iterdir()) if p.suffix in (".csv", ".json")}


def _upload() -> tuple[str, object]:
    files = _files()
    dataset, report = load_files(files)
    assert dataset is not None, report.text()
    return upload.dataset_key(list(files.items())), dataset


def _texts(at: AppTest) -> list[str]:
    """Every text the page and its sidebar show (headings, markdown, captions, widgets)."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning"):
        out += [str(e.value) for e in at.get(kind)]
    out += [e.proto.help for e in at.get("title") if e.proto.help]
    for w in (*at.sidebar.get("multiselect"), *at.sidebar.get("radio"), *at.get("selectbox")):
        out.append(w.label)
        out += [str(o) for o in getattr(w, "options", [])]
    return out


def _forbidden(texts: list[str]) -> list[str]:
    hits = []
    for t in texts:
        words = t.replace("\\", "")
        for bad in FORBIDDEN:
            # "RT" as a word (not inside "TRT" or "PRT...") and the rest as phrases
            if (bad == "RT" and any(w.strip(".,;:()") == "RT" for w in words.split())) or (
                bad != "RT" and bad.lower() in words.lower()
            ):
                hits.append(f"{bad!r} in {t[:120]!r}")
    return hits


def _reml() -> dict:
    return json.loads(REFERENCE.read_text())["expected"]["OR"]["pooled"]["REML"]


def test_overview_speaks_the_bcg_description_and_pools_metafors_values() -> None:
    at = open_app(upload=_upload())
    assert not at.exception, [e.value for e in at.exception]
    texts = _texts(at)
    assert at.title[0].value == text("BCG vaccine against tuberculosis")
    assert "tuberculosis" in at.title[0].proto.help
    assert at.subheader[0].value == text("Odds ratio of TB")
    sentence = next(t for t in texts if t.startswith("Across 13 studies"))
    assert "BCG vaccination was associated with lower odds of TB case" in sentence
    assert not _forbidden(texts), _forbidden(texts)
    ref = _reml()
    shown = metric_values(at)
    assert shown["Pooled OR"] == [f"{math.exp(ref['estimate']):.2f}"]
    assert shown["Studies (k)"] == ["13"]
    # one outcome: one column of results, no time point to choose, no topic filters: only
    # the description's own filter (metafor's alloc), every value kept
    (allocation,) = at.sidebar.get("multiselect")
    assert allocation.label == "Allocation"
    assert allocation.value == ["random", "alternate", "systematic"]
    assert not [s for s in at.get("selectbox") if s.label.startswith("t for")]
    assert not [t for t in at.get("toggle") if "published" in t.label]


def test_present_page_speaks_the_bcg_description() -> None:
    at = open_app(page="presentation", upload=_upload())
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == text("Tuberculosis: odds ratio")
    texts = _texts(at)
    assert any("BCG vaccination was associated with lower odds of TB case" in t for t in texts)
    assert not _forbidden(texts), _forbidden(texts)
    outcome = at.sidebar.radio(key="w_outcome")
    assert outcome.options == ["TB"]


@pytest.mark.parametrize("page", ["studies", "sensitivity", "bias"])
def test_every_page_opens_on_the_described_upload(page: str) -> None:
    at = open_app(page=page, upload=_upload())
    assert not at.exception, [e.value for e in at.exception]


def test_bundled_overview_keeps_its_words() -> None:
    at = open_app()
    assert not at.exception
    assert at.title[0].value == text("Perioperative radiotherapy for HCC: the pooled evidence")
    assert [m.label for m in at.sidebar.get("multiselect")] == [
        "Indication",
        "Design",
        "Radiotherapy",
    ]
    assert any(text("Published (Rim et al. 2024)") in m.value for m in at.markdown)


def test_a_project_file_loads_back_with_its_data_words_and_view() -> None:
    from core.data.project import write_project
    from core.state.view import parse_query

    _, dataset = _upload()
    state = parse_query("method=DL&exclude=trial3").state
    data = write_project(dataset, state)  # type: ignore[arg-type]
    at = open_app(page="studies")
    at.file_uploader[0].set_value(("bcg_project.zip", data, "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    _, loaded = at.session_state["upload"]
    assert loaded.description.title == "BCG vaccine against tuberculosis"
    assert at.query_params["method"] == "DL" and at.query_params["exclude"] == "trial3"
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the project (.zip)" in labels
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    shown = metric_values(at)
    assert shown["Studies (k)"] == ["12"]


def test_a_foreign_zip_is_refused_with_a_clear_message() -> None:
    at = open_app(page="studies")
    at.file_uploader[0].set_value(("other.zip", b"PK\x03\x04 not a zip", "application/zip")).run()
    assert not at.exception
    assert "upload" not in at.session_state
    assert "could not be used" in at.error[0].value
    report = at.dataframe[-1].value
    assert "is not a ZIP file" in " ".join(report["Problem"])


MARKUP = "**bold** [link](http://example.invalid) :red[red] `code`"


def _hostile_upload() -> tuple[str, object]:
    """The described dataset with Markdown in every word a user writes (title, question,
    outcome label and event, arms, intervention, untreated)."""
    files = _files()
    d = json.loads(files["description.json"])
    d |= {"title": f"T {MARKUP}", "question": f"Q {MARKUP}", "intervention": f"I {MARKUP}"}
    d |= {"untreated": f"U {MARKUP}", "arms": {"treatment": f"A {MARKUP}", "control": MARKUP}}
    d["outcomes"][0] |= {"label": f"L {MARKUP}", "event": f"E {MARKUP}"}
    result = {"outcome": "TB", "measure": "OR", "estimate": 0.49, "ci_low": 0.34, "ci_high": 0.7}
    d["published"] = {"label": f"P {MARKUP}", "k": MARKUP, "results": [result]}
    files["description.json"] = json.dumps(d).encode()
    dataset, report = load_files(files)
    assert dataset is not None, report.text()
    return upload.dataset_key(list(files.items())), dataset


@pytest.mark.parametrize("page", ["overview", "presentation", "sensitivity", "bias"])
def test_the_description_words_show_as_text(page: str) -> None:
    """Titles, subheaders, captions, alerts and expander labels escape the description's
    words: no emphasis, link, colour or code reaches the page as Markdown."""
    at = open_app(page=page, upload=_hostile_upload())
    assert not at.exception, [e.value for e in at.exception]
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error")
    shown = [str(e.value) for kind in kinds for e in at.get(kind)]
    shown += [e.label for e in at.expander]
    if page in ("overview", "presentation"):  # these pages name the outcome in its words
        assert any("\\*\\*bold\\*\\*" in s for s in shown)  # shown, escaped
    raw = [s for s in shown if any(m in s for m in ("**bold**", "](http", ":red[", "`code`"))]
    assert raw == []
