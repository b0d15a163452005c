"""``python -m core store save | delete | history | diff`` and ``data=TOKEN`` links in
``analyze``, ``rscript``: the store is the one EXPLORER_STORE names."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.data.export import export_csv
from core.store import crypto
from tests.unit.store_support import BUNDLED, GROUP, ROOT, child_env

pytestmark = GROUP


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    """A dataset folder: the bundled data with the first study's arm size changed."""
    folder = tmp_path / "edited"
    folder.mkdir()
    studies = BUNDLED.studies.copy()
    studies.loc[0, "n_rt"] = studies.loc[0, "n_rt"] + 40
    (folder / "studies.csv").write_bytes(export_csv(studies))
    (folder / "outcomes.csv").write_bytes(export_csv(BUNDLED.outcomes))
    return folder


@pytest.fixture
def dashed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new token and delete key starts with "-h" or "--" in turn (1 in 64 real ones start
    with "-"): the forms argparse alone would read as an unknown option or as ``-h``."""
    starts = itertools.cycle(("-h", "--"))
    real = crypto.new_secret
    monkeypatch.setattr(crypto, "new_secret", lambda: next(starts) + real()[2:])


@pytest.fixture
def env_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EXPLORER_STORE", store_url)
    return store_url


def test_save_then_analyze_the_token_equals_analyze_of_the_file(
    capsys: pytest.CaptureFixture[str], env_store: str, edited: Path
) -> None:
    code, out, err = run(capsys, "store", "save", str(edited), "--note", "arm size corrected")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"data", "delete_key", "parent", "bytes"}
    assert crypto.well_formed(doc["data"]) and crypto.well_formed(doc["delete_key"])
    token = doc["data"]
    for query in ("?outcome=DFS&tpoint=interp", "design=RCT&design=PSM&exclude=Yu2014"):
        code, from_file, err = run(capsys, "analyze", query, "--data", str(edited))
        assert code == 0, err
        for link in (
            f"?data={token}&{query.lstrip('?')}",
            f"https://explorer.example/?{query.lstrip('?')}&DATA={token}",
        ):
            code, from_token, err = run(capsys, "analyze", link)
            assert code == 0, err
            assert json.loads(from_token) == json.loads(from_file)
    # ... and differs from the bundled data (the edit is in what was saved).
    _, bundled, _ = run(capsys, "analyze", "?outcome=DFS&tpoint=interp")
    _, saved, _ = run(capsys, "analyze", f"?outcome=DFS&tpoint=interp&data={token}")
    assert json.loads(bundled) != json.loads(saved)
    code, script, err = run(capsys, "rscript", f"data={token}")
    assert code == 0 and "metafor" in script, err


def test_delete_with_the_delete_key_then_the_link_says_deleted(
    capsys: pytest.CaptureFixture[str], env_store: str, dashed: None
) -> None:
    _, out, _ = run(capsys, "store", "save", str(ROOT / "data"))
    doc = json.loads(out)
    assert doc["data"].startswith("-h") and doc["delete_key"].startswith("--")
    code, out, err = run(capsys, "store", "delete", doc["data"], crypto.new_secret())
    assert (code, out) == (1, "")
    assert err == "not deleted: the delete key does not match this dataset\n"
    code, out, err = run(capsys, "store", "delete", doc["data"], doc["delete_key"])
    assert (code, json.loads(out)) == (0, {"deleted": True})
    code, out, err = run(capsys, "analyze", f"data={doc['data']}")
    assert (code, out) == (2, "")
    assert err == f"data={doc['data']}: the saved dataset of this link was deleted\n"
    # the form the Studies page prints, with "--" before the token, works as well
    _, out, _ = run(capsys, "store", "save", str(ROOT / "data"), "--note", "-- a note")
    doc = json.loads(out)
    code, out, _ = run(capsys, "store", "history", doc["data"])
    assert json.loads(out)[0]["note"] == "-- a note"
    code, out, err = run(capsys, "store", "delete", "--", doc["data"], doc["delete_key"])
    assert (code, json.loads(out)) == (0, {"deleted": True}), err
    with pytest.raises(SystemExit) as asked:  # -h alone still asks for help
        main(["store", "delete", "-h"])
    assert asked.value.code == 0 and "TOKEN DELETE_KEY" in capsys.readouterr().out


def test_versions_history_and_diff(
    capsys: pytest.CaptureFixture[str], env_store: str, edited: Path, dashed: None
) -> None:
    _, out, _ = run(capsys, "store", "save", str(ROOT / "data"), "--note", "abstracts")
    first = json.loads(out)["data"]
    assert first.startswith("-h")
    code, out, err = run(capsys, "store", "save", str(edited), "--note", "full", "--parent", first)
    assert code == 0, err
    second = json.loads(out)
    assert second["parent"] == first
    code, out, _ = run(capsys, "store", "history", second["data"])
    assert code == 0
    assert [(e["token"], e["note"], e["status"]) for e in json.loads(out)] == [
        (second["data"], "full", "saved"),
        (first, "abstracts", "saved"),
    ]
    code, out, _ = run(capsys, "store", "diff", first, second["data"])
    n = int(BUNDLED.studies.loc[0, "n_rt"])
    assert (code, json.loads(out)) == (
        0,
        [
            {
                "table": "studies",
                "key": BUNDLED.studies.loc[0, "study_id"],
                "what": "changed",
                "column": "n_rt",
                "old": n,
                "new": n + 40,
            }
        ],
    )
    code, out, err = run(capsys, "store", "save", str(edited), "--parent", crypto.new_secret())
    assert (code, out) == (1, "")
    assert err == "not saved: the version this edit starts from cannot be opened\n"


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("data=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "no saved dataset has this link's token"),
        ("data=../../etc/passwd", "the link's data= value is not a saved-dataset token"),
        ("data=%00%ff", "the link's data= value is not a saved-dataset token"),
    ],
)
def test_unknown_and_malformed_tokens_exit_2_with_a_plain_message(
    capsys: pytest.CaptureFixture[str], env_store: str, link: str, message: str
) -> None:
    code, out, err = run(capsys, "analyze", link)
    assert (code, out) == (2, "")
    assert err.endswith(f": {message}\n") and "Traceback" not in err


def test_data_given_twice_or_with_data_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPLORER_STORE", f"sqlite:///{tmp_path}/s.sqlite3")
    t = crypto.new_secret()
    assert run(capsys, "analyze", f"data={t}&data={t}x") == (
        2,
        "",
        "the link has more than one data= value\n",
    )
    assert run(capsys, "analyze", f"data={t}", "--data", "data") == (
        2,
        "",
        "give --data or a link with data=, not both\n",
    )
    # An empty data= is the bundled data, without a notice about an unknown key.
    code, out, _ = run(capsys, "analyze", "?data=&outcome=DFS")
    _, plain, _ = run(capsys, "analyze", "?outcome=DFS")
    assert code == 0 and json.loads(out) == json.loads(plain)
    assert not (tmp_path / "s.sqlite3").exists()


def test_saving_data_with_errors_saves_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPLORER_STORE", f"sqlite:///{tmp_path}/store/s.sqlite3")
    bad = tmp_path / "bad"
    bad.mkdir()
    outcomes = BUNDLED.outcomes.copy()
    outcomes.loc[0, "study_id"] = "NoSuchStudy"
    (bad / "studies.csv").write_bytes(export_csv(BUNDLED.studies))
    (bad / "outcomes.csv").write_bytes(export_csv(outcomes))
    code, out, err = run(capsys, "store", "save", str(bad))
    assert (code, out) == (1, "")
    assert "rows with errors would be left out; fix them before saving" in err
    assert "NoSuchStudy is not in the studies table" in err
    code, out, err = run(capsys, "store", "save", str(tmp_path / "missing"))
    assert (code, out) == (2, "") and err.endswith("missing: no such file or folder\n")
    assert not (tmp_path / "store").exists()


def test_an_unavailable_store_is_a_plain_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPLORER_STORE", "postgresql://explorer@127.0.0.1:1/explorer")
    t = crypto.new_secret()
    for argv in (
        ("store", "save", str(ROOT / "data")),
        ("store", "delete", t, t),
        ("store", "history", t),
        ("store", "diff", t, t),
        ("analyze", f"data={t}"),
    ):
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, ""), argv
        assert err.startswith("saved datasets are unavailable (cannot connect to PostgreSQL")


def test_a_note_longer_than_the_limit_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPLORER_STORE", f"sqlite:///{tmp_path}/s.sqlite3")
    code, out, err = run(capsys, "store", "save", str(ROOT / "data"), "--note", "x" * 2001)
    assert (code, out, err) == (1, "", "not saved: the note is longer than 2,000 characters\n")


@pytest.mark.slow
def test_the_commands_as_processes(store_url: str) -> None:
    """`python -m core store save`, then `analyze "data=TOKEN&..."` in a second process."""
    env = child_env(store_url)
    save = subprocess.run(
        [sys.executable, "-m", "core", "store", "save", "data", "--note", "as bundled"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert save.returncode == 0, save.stderr
    token = json.loads(save.stdout)["data"]
    analyze = subprocess.run(
        [sys.executable, "-m", "core", "analyze", f"?data={token}&outcome=DFS&tpoint=interp"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert analyze.returncode == 0, analyze.stderr
    doc = json.loads(analyze.stdout)
    assert doc["notices"] == []
    assert doc["DFS"]["pooled"]["k"] == len(doc["DFS"]["studies"]) >= 3
