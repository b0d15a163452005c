"""Save and share in the app (AppTest): "Save and get a link", data= links in fresh sessions,
tokens that open nothing, an unreachable store, and the version history with its diff.

Each test uses its own SQLite store in a temporary folder (``EXPLORER_STORE``); the command
line (``python -m core``) runs as a separate process on the same store.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.store import Settings, Store
from tests.app.conftest import metric_values, open_app, shown_link
from ui.blocks import fmt_ci, fmt_ratio

ROOT = Path(__file__).resolve().parents[2]
BCG_DIR = ROOT / "tests" / "fixtures" / "bcg"
#: the bcg rows pass these filters (indication other; RCT and prospective designs)
QUERY = "indication=other&design=RCT&design=prospective-nonrandomized"
UNKNOWN = "AbCd_-0123456789abcdefghijklmnop"


@pytest.fixture
def store_url() -> str:
    """This test's store (tests/app/conftest.py gives every test its own)."""
    return os.environ["EXPLORER_STORE"]


def _bcg_at_one_year(tmp_path: Path, edit: bool = False) -> Path:
    """The bcg fixture with external RT and its events at t = 1 (so the default DFS time
    point uses them; test data only), as a folder; ``edit``: trial1's RT events 4 -> 5."""
    folder = tmp_path / ("bcg_edited" if edit else "bcg")
    folder.mkdir()
    studies = pd.read_csv(BCG_DIR / "studies.csv").assign(rt_type="external")
    outcomes = pd.read_csv(BCG_DIR / "outcomes.csv").assign(time_years=1.0)
    if edit:
        outcomes.loc[outcomes["study_id"] == "trial1", "events_rt"] = 5
    studies.to_csv(folder / "studies.csv", index=False)
    outcomes.to_csv(folder / "outcomes.csv", index=False)
    return folder


def _cli(*argv: str) -> dict | list:
    done = subprocess.run(
        [sys.executable, "-m", "core", *argv],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _param(at: AppTest, key: str) -> str | None:
    """The link's (last) value of ``key``, None when absent."""
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


def _data_param(at: AppTest) -> str | None:
    return _param(at, "data")


def _button(at: AppTest, label: str) -> object:
    (found,) = [b for b in at.button if b.label == label]
    return found


def _bundled_shown(at: AppTest) -> None:
    assert "bundled evidence" in at.info[0].value
    assert "upload" not in at.session_state


def test_save_gives_a_link_that_opens_the_same_numbers_in_a_fresh_session(
    store_url: str, tmp_path: Path
) -> None:
    folder = _bcg_at_one_year(tmp_path)
    files = [(p.name, p.read_bytes(), "text/csv") for p in sorted(folder.glob("*.csv"))]
    at = open_app("?" + QUERY, page="studies")
    at.file_uploader[0].set_value(files).run()
    _no_exception(at)
    # an unsaved upload: the copy-link area says the link does not carry it
    assert any("does not carry your uploaded data" in w.value for w in at.sidebar.warning)
    at.text_input(key="save_note").input("bcg, round 1")
    _button(at, "Save and get a link").click().run()
    _no_exception(at)
    token = _data_param(at)
    assert token is not None and len(token) == 32
    assert f"data={token}" in shown_link(at)
    assert not at.sidebar.warning
    assert "a saved dataset" in at.info[0].value and "bcg, round 1" in at.info[0].value
    assert any("shown only this once" in w.value for w in at.warning)
    (delete_key,) = [c.value for c in at.main.code if c.value != token]
    _button(at, "I have kept the delete key: hide it").click().run()
    assert delete_key not in [c.value for c in at.main.code]
    assert not any("shown only this once" in w.value for w in at.warning)

    # a fresh session on the link: the saved data, the same numbers as the command line
    fresh = open_app(f"?{QUERY}&data={token}")
    _no_exception(fresh)
    assert any("the saved dataset of this link" in c.value for c in fresh.caption)
    cli = _cli("analyze", f"{QUERY}&data={token}")
    pooled = cli["DFS"]["pooled"]
    assert pooled["k"] == 13
    shown = metric_values(fresh)
    assert shown["Pooled OR"] == [fmt_ratio(math.exp(pooled["estimate"]))]
    assert shown["95% CI"] == [fmt_ci(math.exp(pooled["ci_low"]), math.exp(pooled["ci_high"]))]
    assert shown["Studies (k)"] == ["13"]
    _key, opened = fresh.session_state["upload"]
    _key, uploaded = at.session_state["upload"]
    pd.testing.assert_frame_equal(opened.studies, uploaded.studies)
    pd.testing.assert_frame_equal(opened.outcomes, uploaded.outcomes)

    # deleted with the key shown once: the link opens the bundled data with a notice
    assert Store(Settings(store_url)).delete(token, delete_key).ok
    gone = open_app(f"?{QUERY}&data={token}", page="studies")
    _no_exception(gone)
    assert any("was deleted" in w.value for w in gone.warning)
    _bundled_shown(gone)
    assert _data_param(gone) is None


def test_unknown_and_malformed_tokens_open_the_bundled_data_with_a_notice(
    store_url: str,
) -> None:
    unknown = open_app(f"?data={UNKNOWN}&outcome=DFS", page="studies")
    _no_exception(unknown)
    (warning,) = [w.value for w in unknown.warning]
    assert "no saved dataset has this link's token" in warning
    assert "bundled evidence is shown instead" in warning
    _bundled_shown(unknown)
    assert _data_param(unknown) is None
    assert _param(unknown, "outcome") == "DFS"  # the rest of the link applies

    malformed = open_app("?data=not-a-token", page="studies")
    _no_exception(malformed)
    assert any(
        c.value.startswith("Ignored in the link: Saved dataset")
        and "is not the token of a saved dataset" in c.value
        for c in malformed.caption
    )
    _bundled_shown(malformed)


def test_an_unreachable_store_leaves_the_bundled_data_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EXPLORER_STORE", "postgresql://127.0.0.1:1/x?connect_timeout=2")
    at = open_app(f"?data={UNKNOWN}", page="studies")
    _no_exception(at)
    (warning,) = [w.value for w in at.warning]
    assert "saved datasets are unavailable right now" in warning
    assert "127.0.0.1" not in warning  # the detail goes to the server log
    _bundled_shown(at)
    assert at.dataframe[0].value["ID"].size == 18  # the evidence table still works
    _button(at, "Save and get a link").click().run()
    _no_exception(at)
    assert any("Not saved: saved datasets are unavailable right now" in e.value for e in at.error)
    assert _data_param(at) is None
    overview = open_app()
    _no_exception(overview)
    assert metric_values(overview)["Studies (k)"] == ["1", "3"]


def test_history_and_value_by_value_diff_of_two_versions(store_url: str, tmp_path: Path) -> None:
    first = _cli("store", "save", str(_bcg_at_one_year(tmp_path)), "--note", "round 1")
    second = _cli(
        "store",
        "save",
        str(_bcg_at_one_year(tmp_path, edit=True)),
        "--note",
        "trial1 corrected",
        f"--parent={first['data']}",  # a token may start with "-"
    )
    at = open_app(f"?{QUERY}&data={second['data']}", page="studies")
    _no_exception(at)
    assert "trial1 corrected" in at.info[0].value
    history = next(d.value for d in at.dataframe if "Link data=" in d.value.columns)
    assert history["Link data="].tolist() == [second["data"], first["data"]]
    assert history["Note"].tolist() == ["trial1 corrected", "round 1"]
    assert history["Version"].tolist() == ["this link", "earlier"]
    changes = next(d.value for d in at.dataframe if "Before" in d.value.columns)
    assert changes.to_dict("records") == [
        {
            "Table": "outcomes",
            "Row": "trial1 / DFS / events / 1",
            "Change": "value changed",
            "Column": "events_rt",
            "Before": "4",
            "After": "5",
        }
    ]
    # the first version's link still opens what it opened
    old = open_app(f"?{QUERY}&data={first['data']}", page="studies")
    _key, dataset = old.session_state["upload"]
    trial1 = dataset.outcomes[dataset.outcomes["study_id"] == "trial1"]
    assert trial1["events_rt"].tolist() == [4]
    assert any("nothing to compare" in c.value for c in old.caption)
    # "Reset to the default view" resets the view and keeps the saved data
    (reset,) = [b for b in old.sidebar.button if b.label == "Reset to the default view"]
    reset.click().run()
    _no_exception(old)
    assert dict(old.query_params) in ({"data": first["data"]}, {"data": [first["data"]]})
    assert old.session_state["upload"][1] is dataset
