"""core.data.project: a project file round-trips the workspace (same data, words and view, so
the same numbers), bad or foreign files give a clear problem, and ``python -m core analyze
--data FILE`` reads a project file with its view, against metafor's values for dat.bcg."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import pytest

from core.cli import main
from core.data import description as desc
from core.data.dataset import load_bundled, load_files
from core.data.project import read_project, write_project
from core.state.view import parse_query
from core.views.analysis import analyse, to_json

ROOT = Path(__file__).resolve().parents[2]
BCG = ROOT / "tests" / "fixtures" / "bcg_described"
REFERENCE = ROOT / "tests" / "conformance" / "reference" / "bcg.json"
VIEW = (
    "method=DL&ci=hksj&pi=z&exclude=trial3"
    "&grade=OS.indirectness.serious&why=OS.indirectness.adults%20only&cr_os=0.02"
)


def _bcg():
    files = {p.name: p.read_bytes() for p in sorted(BCG.iterdir()) if p.suffix != ".md"}
    ds, report = load_files(files)
    assert ds is not None, report.text()
    return ds


def _rezip(data: bytes, change: dict[str, bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zipfile.ZipFile(out, "w") as new:
        for name in zf.namelist():
            if name in change:
                if change[name] is not None:
                    new.writestr(name, change[name])  # type: ignore[arg-type]
            else:
                new.writestr(name, zf.read(name))
        for name, value in change.items():
            if name not in zf.namelist() and value is not None:
                new.writestr(name, value)
    return out.getvalue()


@pytest.mark.parametrize("which", ["bundled", "bcg"])
def test_round_trip_gives_the_same_data_words_view_and_numbers(which: str) -> None:
    ds = load_bundled() if which == "bundled" else _bcg()
    state = parse_query(VIEW if which == "bcg" else VIEW.replace("trial3", "Yu2014")).state
    data = write_project(ds, state, note="tumour board, 3 May")
    got, problems = read_project(data, "p.zip")
    assert problems == [] and got is not None
    assert got.state == state and got.note == "tumour board, 3 May"
    assert got.dataset.studies.equals(ds.studies) and got.dataset.outcomes.equals(ds.outcomes)
    assert desc.to_json(got.dataset.description) == desc.to_json(ds.description)
    assert to_json(analyse(got.state, got.dataset)) == to_json(analyse(state, ds))


def test_a_saved_datasets_token_is_not_kept_in_the_file() -> None:
    state = parse_query("data=" + "A" * 32 + "&method=PM").state
    got, _ = read_project(write_project(load_bundled(), state))
    assert got is not None and got.state.data is None and got.state.method == "PM"


def _meta(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return json.loads(zf.read("project.json"))


def test_bad_and_foreign_files_say_what_is_wrong() -> None:
    good = write_project(_bcg(), parse_query("").state)
    meta = _meta(good)
    cases = [
        (b"not a zip", "is not a ZIP file"),
        (_rezip(good, {"project.json": None}), "is not a project file of this explorer (no"),
        (_rezip(good, {"project.json": b"{"}), "its project.json could not be read"),
        (
            _rezip(good, {"project.json": json.dumps({**meta, "kind": "revman"}).encode()}),
            "is not a project file of this explorer",
        ),
        (
            _rezip(good, {"project.json": json.dumps({**meta, "version": 99}).encode()}),
            "version 99; this explorer reads version 1",
        ),
        (_rezip(good, {"extra.bin": b"x"}), "does not hold what a project file holds"),
        (_rezip(good, {"studies.parquet": b"garbage"}), "studies.parquet"),
        (_rezip(good, {"description.json": b'{"title": 1}'}), "description.json"),
        (b"x" * 20_000_001, "larger than the 20,000,000 limit"),
    ]
    for data, says in cases:
        got, problems = read_project(data, "p.zip")
        assert got is None and problems, says
        assert any(says in p.message for p in problems), (says, [p.message for p in problems])


def test_cli_analyze_reads_a_project_file_with_its_view(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bcg_project.zip"
    path.write_bytes(write_project(_bcg(), parse_query("method=DL").state))
    assert main(["analyze", "", "--data", str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    ref = json.loads(REFERENCE.read_text())["expected"]["OR"]["pooled"]["DL"]
    pooled = doc["OS"]["pooled"]
    assert pooled["method"] == "DL" and pooled["k"] == 13
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb")):
        assert math.isclose(pooled[ours], ref[theirs], rel_tol=1e-8, abs_tol=1e-10)
    assert math.isclose(pooled["tau2"], ref["tau2"], rel_tol=1e-8)
    # a link given on the command line is the view instead of the project's
    assert main(["analyze", "method=PM", "--data", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["OS"]["pooled"]["method"] == "PM"


def test_cli_analyze_reads_a_folder_with_its_description(capsys) -> None:
    assert main(["analyze", "", "--data", str(BCG)]) == 0
    doc = json.loads(capsys.readouterr().out)
    ref = json.loads(REFERENCE.read_text())["expected"]["OR"]["pooled"]["REML"]
    assert math.isclose(doc["OS"]["pooled"]["estimate"], ref["estimate"], rel_tol=1e-8)
    assert doc["OS"]["pooled"]["k"] == 13
    assert doc["OS"]["years"] is None  # TB cases have no time point: pooled without a t


def test_cli_analyze_says_why_a_bad_project_file_cannot_be_read(tmp_path: Path, capsys) -> None:
    path = tmp_path / "p.zip"
    path.write_bytes(b"PK not really")
    assert main(["analyze", "", "--data", str(path)]) == 2
    assert "the project cannot be read" in capsys.readouterr().err
