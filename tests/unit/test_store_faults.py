"""core.store faults: a process killed mid-save, concurrent processes, a stopped PostgreSQL,
unreachable or broken stores and wrong settings give typed errors, never half versions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.store import Missing, Opened, Saved, Settings, Store, StoreUnavailable, crypto
from core.store.backend import backend_of
from core.store.store import DEFAULT_QUOTA_MB, default_url
from tests.unit.store_support import BUNDLED, GROUP, ROOT, Cluster, child_env

pytestmark = GROUP

# Saves in a child process that stops for good inside the transaction, after its INSERT and
# before COMMIT, once it has said so in the file argv[1].
_SAVE_AND_HANG = """
import sys, time
import core.store.store as st
from core.data.dataset import load_bundled

insert = st._insert

def insert_then_hang(tx, row):
    insert(tx, row)
    with open(sys.argv[1], "w") as f:
        f.write(row[0].hex())
    time.sleep(600)

st._insert = insert_then_hang
st.open_store().save(load_bundled())
"""


def _rows(url: str) -> list[tuple]:
    with backend_of(url).transaction(create=True) as tx:
        return tx.run("SELECT id, gone FROM versions ORDER BY created")


def test_a_process_killed_during_a_save_leaves_no_half_version(
    store_url: str, tmp_path: Path
) -> None:
    st = Store(Settings(store_url))
    before = st.save(BUNDLED, note="kept")
    assert isinstance(before, Saved)
    flag = tmp_path / "inserted"
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVE_AND_HANG, str(flag)], env=child_env(store_url), cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() or not flag.read_text():
            assert child.poll() is None, "the child ended before its INSERT"
            assert time.monotonic() < deadline, "the child never reached its INSERT"
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    half = bytes.fromhex(flag.read_text())
    rows = _rows(store_url)
    assert [bytes(r[0]) for r in rows] == [crypto.row_id(before.token)]
    assert half not in {bytes(r[0]) for r in rows}
    opened = st.open(before.token)
    assert isinstance(opened, Opened) and opened.note == "kept"
    # The write lock died with the child: the next save goes through.
    after = st.save(BUNDLED)
    assert isinstance(after, Saved) and isinstance(st.open(after.token), Opened)
    if store_url.startswith("sqlite"):
        path = store_url.removeprefix("sqlite:///")
        import sqlite3

        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# Saves with the note argv[2] once the file argv[1] + ".go" exists (so that the children,
# slow to import, save at the same moment); prints the token.
_SAVE_ON_GO = """
import os, sys, time
from core.data.dataset import load_bundled
from core.store import open_store

store, data = open_store(), load_bundled()
open(sys.argv[1] + "." + sys.argv[2], "w").close()
while not os.path.exists(sys.argv[1] + ".go"):
    time.sleep(0.01)
print(store.save(data, note=sys.argv[2]).token)
"""


def test_concurrent_saves_from_processes_never_overwrite_each_other(
    store_url: str, tmp_path: Path
) -> None:
    """Three processes released at once, each saving with its own note."""
    flag = str(tmp_path / "flag")
    notes = ["process 0", "process 1", "process 2"]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _SAVE_ON_GO, flag, note],
            env=child_env(store_url),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for note in notes
    ]
    deadline = time.monotonic() + 120
    while not all(os.path.exists(f"{flag}.{n}") for n in notes):
        assert time.monotonic() < deadline and all(c.poll() is None for c in children)
        time.sleep(0.05)
    Path(f"{flag}.go").touch()
    outputs = [c.communicate(timeout=120) for c in children]
    assert [c.returncode for c in children] == [0, 0, 0], [e for _, e in outputs]
    tokens = [out.strip() for out, _ in outputs]
    assert len(set(tokens)) == 3
    st = Store(Settings(store_url))
    for note, token in zip(notes, tokens, strict=True):
        got = st.open(token)
        assert isinstance(got, Opened) and got.note == note
    assert len(_rows(store_url)) == 3


def test_a_stopped_postgresql_gives_a_typed_error_and_the_data_come_back(
    pg_cluster: Cluster,
) -> None:
    url = pg_cluster.new_database()
    st = Store(Settings(url))
    s = st.save(BUNDLED)
    assert isinstance(s, Saved)
    pg_cluster.stop()
    try:
        for call in (
            lambda: st.open(s.token),
            lambda: st.save(BUNDLED),
            lambda: st.delete(s.token, s.delete_key),
            lambda: st.history(s.token),
            lambda: Store(Settings(url)).open(s.token),
        ):
            with pytest.raises(StoreUnavailable) as err:
                call()
            assert str(err.value).startswith("saved datasets are unavailable (")
    finally:
        pg_cluster.start()
    assert isinstance(st.open(s.token), Opened)


def test_postgresql_that_nobody_listens_on_is_unavailable_within_the_timeout() -> None:
    st = Store(Settings("postgresql://explorer@127.0.0.1:1/explorer"))
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="cannot connect to PostgreSQL"):
        st.open(crypto.new_secret())
    assert time.monotonic() - t0 < 10


def test_sqlite_store_that_cannot_be_created_or_read(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    st = Store(Settings(f"sqlite:///{blocker}/store.sqlite3"))
    with pytest.raises(StoreUnavailable, match="cannot open"):
        st.save(BUNDLED)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    st = Store(Settings(f"sqlite:///{junk}"))
    with pytest.raises(StoreUnavailable, match="file is not a database"):
        st.open(crypto.new_secret())
    with pytest.raises(StoreUnavailable):
        st.save(BUNDLED)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EXPLORER_STORE": "mysql://x"}, "must start with sqlite:/// or postgresql://"),
        ({"EXPLORER_STORE": "sqlite:///"}, "names no file"),
        ({"EXPLORER_STORE_QUOTA_MB": "lots"}, "EXPLORER_STORE_QUOTA_MB must be a positive"),
        ({"EXPLORER_STORE_QUOTA_MB": "-1"}, "EXPLORER_STORE_QUOTA_MB must be a positive"),
        ({"EXPLORER_STORE_QUOTA_MB": "inf"}, "EXPLORER_STORE_QUOTA_MB must be a positive"),
        ({"EXPLORER_STORE_RETENTION_DAYS": "0"}, "RETENTION_DAYS must be a positive"),
        ({"EXPLORER_STORE_RETENTION_DAYS": "nan"}, "RETENTION_DAYS must be a positive"),
    ],
)
def test_wrong_settings_are_a_typed_error(env: dict[str, str], message: str) -> None:
    from core.store import open_store

    with pytest.raises(StoreUnavailable, match=message):
        open_store(env)


def test_settings_defaults_and_values() -> None:
    home = {"XDG_DATA_HOME": "/srv/explorer"}
    assert default_url(home) == "sqlite:////srv/explorer/evidence-explorer/store.sqlite3"
    assert Settings.from_env(home) == Settings(
        "sqlite:////srv/explorer/evidence-explorer/store.sqlite3", DEFAULT_QUOTA_MB * 10**6
    )
    env = {
        "EXPLORER_STORE": " postgresql://db/explorer ",
        "EXPLORER_STORE_QUOTA_MB": "2.5",
        "EXPLORER_STORE_RETENTION_DAYS": "30",
    }
    assert Settings.from_env(env) == Settings("postgresql://db/explorer", 2_500_000, 30.0)


def test_a_relative_sqlite_path_is_relative_to_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    st = Store(Settings("sqlite:///rel/s.sqlite3"))
    s = st.save(BUNDLED)
    assert isinstance(s, Saved) and (tmp_path / "rel" / "s.sqlite3").exists()
    assert isinstance(Store(Settings(f"sqlite:///{tmp_path}/rel/s.sqlite3")).open(s.token), Opened)
    assert isinstance(st.open(crypto.new_secret()), Missing)
