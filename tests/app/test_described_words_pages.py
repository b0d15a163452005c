"""Every page reads a described upload (tests/fixtures/bcg_described: metafor's dat.bcg) in its
own words: Studies, Sensitivity, Small-study effects and Present show "TB", "vaccinated",
"not vaccinated" and never the bundled topic's (RT, OS, DFS, HCC, PVTT, death, indication);
its filter on its own column (``alloc``) works and is in the link; its default effect measure
applies when the link has none; the data editor shows its outcome codes. The pooled numbers of
a filtered view are metafor's, computed by Rscript at test time."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import metric_values, open_app
from tests.app.test_described_dataset_pages import BCG, _files, _texts, _upload
from ui import upload
from ui.editor import EDITORS

#: bundled topic words that must not appear on a page about dat.bcg: phrases (any case) and
#: words (exact, as whole words)
PHRASES = ("HCC", "PVTT", "overall survival", "disease-free", "radiotherapy", "Rim et al", "death")
WORDS = ("RT", "OS", "DFS", "Indication", "indication")


def _leaks(texts: list[str]) -> list[str]:
    hits = []
    for t in texts:
        plain = t.replace("\\", "")
        hits += [f"{p!r} in {t[:150]!r}" for p in PHRASES if p.lower() in plain.lower()]
        words = {w.strip(".,;:()'\"`*[]") for w in re.split(r"[\s/]+", plain)}
        hits += [f"{w!r} in {t[:150]!r}" for w in WORDS if w in words]
    return hits


def _everything(at: AppTest) -> list[str]:
    """The page's texts, its tables (columns and cells), widget labels, help and charts."""
    texts = _texts(at)
    texts += [e.label for e in at.get("expander")] + [e.label for e in at.get("tab")]
    texts += [m.label for m in at.metric]
    for kind in ("toggle", "checkbox", "number_input", "text_input", "button"):
        texts += [w.label for w in at.get(kind)]
    texts += [w.proto.help for kind in ("selectbox", "radio") for w in at.get(kind)]
    for frame in at.dataframe:
        if "study_id" in frame.value.columns:  # the editor: the file layout's column names
            continue
        texts += [str(c) for c in frame.value.columns]
        texts += [str(v) for v in frame.value.astype(str).to_numpy().ravel()]
    texts += [e.proto.label for e in at.get("download_button")]
    texts += [_axis_titles(e.proto.spec) for e in at.get("vega_lite_chart")]
    return texts


def _axis_titles(spec: str) -> str:
    return " | ".join(re.findall(r'"title": "([^"]*)"', spec))


def _open(page: str, query: str = "") -> AppTest:
    at = open_app(query, page=page, upload=_upload())
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_studies_page_in_the_descriptions_words() -> None:
    at = _open("studies")
    texts = _everything(at)
    assert not _leaks(texts), _leaks(texts)
    table = next(f.value for f in at.dataframe if "n vaccinated" in f.value.columns)
    assert "n not vaccinated" in table.columns
    rows = next(f.value for f in at.dataframe if "What the numbers are" in f.value.columns)
    assert rows["Outcome"].tolist() == ["TB"]
    assert rows["What the numbers are"].tolist() == [
        "TB case events by end of follow-up: 4 with vaccinated, 11 with not vaccinated"
    ]
    uses = [m.value for m in at.markdown if "Odds ratio of TB" in m.value]
    assert any("TB events as reported" in u and "vaccinated vs not vaccinated" in u for u in uses)


def test_the_editor_shows_and_takes_the_descriptions_outcome_codes() -> None:
    at = _open("studies")
    where = {"source_url": "https://doi.org/10.1001/jama.1994.03510330076038", "note": "Table 1"}
    at.session_state[EDITORS["outcomes"]] = {
        "edited_rows": {0: {"outcome": "OS", **where}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Edits: 1 row changed.")
    report = next(f.value for f in at.dataframe if "Problem" in f.value.columns)
    assert "'OS' is not one of the description's outcome codes (TB)" in " ".join(report["Problem"])
    at.session_state[EDITORS["outcomes"]] = {
        "edited_rows": {0: {"events_rt": 5, **where}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Edits: 1 row changed. They pass every check.")


def test_sensitivity_page_in_the_descriptions_words() -> None:
    at = _open("sensitivity")
    assert at.title[0].value.replace("\\", "") == "Sensitivity: odds ratio of TB"  # escaped
    texts = _everything(at)
    assert not _leaks(texts), _leaks(texts)
    axes = [_axis_titles(e.proto.spec) for e in at.get("vega_lite_chart")]
    assert any("Odds ratio of TB (log scale; < 1 favours vaccinated)" in a for a in axes)


def test_bias_page_in_the_descriptions_words() -> None:
    at = _open("bias")
    texts = _everything(at)
    assert any("Odds ratio of TB" in t for t in texts)
    assert not _leaks(texts), _leaks(texts)


def test_present_page_in_the_descriptions_words() -> None:
    at = _open("presentation")
    texts = _everything(at)
    assert not _leaks(texts), _leaks(texts)
    labels = [s.label for s in at.get("selectbox")]
    assert "TB: Risk of bias rating" in labels


def test_the_alloc_filter_is_in_the_link_and_pools_metafors_values() -> None:
    reference = _metafor_random_alloc()
    at = _open("overview", "filter=alloc.random")
    (allocation,) = at.sidebar.get("multiselect")
    assert allocation.value == ["random"]
    shown = metric_values(at)
    assert shown["Studies (k)"] == ["7"]
    assert shown["Pooled OR"] == [f"{math.exp(reference['b']):.2f}"]
    allocation.set_value(["random", "alternate"]).run()
    assert not at.exception
    assert at.query_params["filter"] == ["alloc.alternate", "alloc.random"]
    assert metric_values(at)["Studies (k)"] == ["9"]
    at.sidebar.multiselect(key="w_filter_alloc").set_value(
        ["random", "alternate", "systematic"]
    ).run()
    assert "filter" not in at.query_params  # every value kept: no filter in the link
    assert metric_values(at)["Studies (k)"] == ["13"]


def test_the_present_page_names_the_filter_in_its_words() -> None:
    at = _open("presentation", "filter=alloc.random")
    texts = _everything(at)
    assert any("Allocation: random allocation" in t.replace("\\", "") for t in texts)
    assert not _leaks(texts), _leaks(texts)


def _metafor_random_alloc() -> dict:
    """metafor's REML odds ratio of dat.bcg's randomly allocated trials (Rscript, now)."""
    if shutil.which("Rscript") is None:
        if os.environ.get("REQUIRE_R") == "1":
            pytest.fail("REQUIRE_R=1 but Rscript is not on PATH")
        pytest.skip("R (Rscript with metafor) is not installed")
    code = (
        "suppressMessages(library(metafor)); d <- dat.bcg; "
        'r <- rma(measure = "OR", ai = tpos, n1i = tpos + tneg, ci = cpos, n2i = cpos + cneg, '
        'data = d, subset = alloc == "random", method = "REML", '
        "control = list(threshold = 1e-12, maxiter = 1000)); "
        "cat(jsonlite::toJSON(list(b = r$b[1], se = r$se, k = r$k), digits = NA, "
        "auto_unbox = TRUE))"
    )
    run = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["k"] == 7
    return out


def test_cli_reads_the_filter_and_pools_metafors_values(tmp_path: Path) -> None:
    reference = _metafor_random_alloc()
    doc = _cli("analyze", "--data", str(BCG), "filter=alloc.random")
    pooled = doc["OS"]["pooled"]
    assert pooled["k"] == 7
    assert pooled["estimate"] == pytest.approx(reference["b"], rel=1e-8, abs=1e-10)
    assert pooled["se"] == pytest.approx(reference["se"], rel=1e-8, abs=1e-10)
    assert list(doc) == ["query", "notices", "OS"]  # one outcome: no empty DFS block
    assert doc["OS"]["outcome_words"] == {
        "code": "TB",
        "label": "tuberculosis",
        "event": "TB case",
        "treatment": "vaccinated",
        "control": "not vaccinated",
    }
    assert doc["OS"]["studies"][0]["derivation"] == "TB events as reported (no time point stated)"
    for command in ("sensitivity", "bias"):
        out = _cli(command, "--data", str(BCG), "")
        assert out["outcome"] == "OS" and out["outcome_words"]["code"] == "TB"
        assert out["title"] == "Odds ratio of TB"


def _cli(*args: str) -> dict:
    run = subprocess.run(
        ["python3", "-m", "core", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _with_measure(folder: Path, measure: str) -> dict[str, bytes]:
    files = _files()
    words = json.loads(files["description.json"])
    words["measure"] = measure
    files["description.json"] = json.dumps(words).encode()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return files


def test_the_descriptions_default_measure_applies_when_the_link_has_none(tmp_path: Path) -> None:
    from core.data.dataset import load_files

    files = _with_measure(tmp_path, "RR")
    dataset, report = load_files(files)
    assert dataset is not None, report.text()
    key = upload.dataset_key(list(files.items()))
    at = open_app(upload=(key, dataset))
    assert not at.exception
    assert at.subheader[0].value == "Risk ratio of TB"
    assert "measure" not in at.query_params  # the dataset's default: not written
    at.sidebar.radio(key="w_measure").set_value("OR").run()
    assert at.query_params["measure"] == "OR"  # another measure than its default: written
    assert at.subheader[0].value == "Odds ratio of TB"
    at = open_app("measure=OR", upload=(key, dataset))
    assert at.subheader[0].value == "Odds ratio of TB"  # the link's own measure wins
    assert _cli("analyze", "--data", str(tmp_path), "")["OS"]["measure"] == "RR"
    assert _cli("analyze", "--data", str(tmp_path), "measure=OR")["OS"]["measure"] == "OR"


def test_the_presenter_view_speaks_the_descriptions_words() -> None:
    at = _open("presentation", "board=1&filter=alloc.random")
    texts = _everything(at)
    line = next(t.replace("\\", "") for t in texts if t.startswith("Filters\\:"))
    assert line.startswith("Filters: Allocation: random allocation · odds ratio of TB · ")
    assert not _leaks(texts), _leaks(texts)
