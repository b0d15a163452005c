"""``python -m core validate``: report text and exit codes."""

from __future__ import annotations

from pathlib import Path

from core.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_folder_is_clean(capsys):
    assert main(["validate", str(ROOT / "data")]) == 0
    out = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in out and "studies: 18 row(s) loaded" in out


def test_bcg_fixture_is_clean(capsys):
    assert main(["validate", str(ROOT / "tests" / "fixtures" / "bcg")]) == 0


def test_problem_exits_1(tmp_path, capsys):
    (tmp_path / "studies.csv").write_text("study_id,n_rt,n_ctl\nA,10,10\n")
    (tmp_path / "outcomes.csv").write_text(
        "study_id,outcome,kind,hr,hr_low,hr_high\nA,OS,hr,0.9,0.3,0.8\n"
    )
    assert main(["validate", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "row 2, hr_high 0.8 is below hr 0.9" in out


def test_unreadable_exits_2(tmp_path, capsys):
    bad = tmp_path / "data.xlsx"
    bad.write_bytes(b"not a zip")
    assert main(["validate", str(bad)]) == 2
    assert "is not an Excel .xlsx file" in capsys.readouterr().out


def test_missing_path_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.csv")]) == 2
