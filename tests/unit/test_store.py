"""core.store on real SQLite and real PostgreSQL: save, open, delete, versions, diffs, limits,
concurrency and what a copy of the database shows."""

from __future__ import annotations

import os
import re
import sqlite3
import struct
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from core.store import (
    Change,
    Deleted,
    HistoryEntry,
    Missing,
    Opened,
    Refused,
    Saved,
    Settings,
    Store,
    StoreUnavailable,
    crypto,
)
from core.store.backend import MIGRATIONS, backend_of
from tests.unit.store_support import (
    BUNDLED,
    GROUP,
    PG_DUMP,
    Cluster,
    labelled,
    skip_unless_required,
)

pytestmark = GROUP


def saved(result: Saved | Refused) -> Saved:
    assert isinstance(result, Saved), result
    return result


def opened(result: Opened | Missing) -> Opened:
    assert isinstance(result, Opened), result
    return result


def test_save_then_open_gives_the_same_tables_note_and_no_parent(store: Store) -> None:
    s = saved(store.save(BUNDLED, note="full texts, round 1"))
    assert crypto.well_formed(s.token) and crypto.well_formed(s.delete_key)
    assert s.token != s.delete_key and s.parent is None and s.size > 0
    got = opened(store.open(s.token))
    pd.testing.assert_frame_equal(got.dataset.studies, BUNDLED.studies)
    pd.testing.assert_frame_equal(got.dataset.outcomes, BUNDLED.outcomes)
    assert got.note == "full texts, round 1" and got.parent is None
    assert got.created == s.created
    assert got.dataset.report.clean


def test_text_that_looks_like_a_formula_comes_back_unchanged(store: Store) -> None:
    """The payload skips the export's spreadsheet guard: cells read back exactly."""
    ds = labelled('=HYPERLINK("x")')
    got = opened(store.open(saved(store.save(ds)).token))
    assert got.dataset.studies.loc[0, "label"] == '=HYPERLINK("x")'


def test_every_save_gets_its_own_token_even_for_the_same_data(store: Store) -> None:
    a, b = saved(store.save(BUNDLED)), saved(store.save(BUNDLED))
    assert a.token != b.token and a.delete_key != b.delete_key


def test_malformed_and_unknown_tokens_are_typed_results(store: Store) -> None:
    for bad in (
        "",
        "abc",
        "A" * 31,
        "A" * 33,
        "../../etc/passwd" + "A" * 16,
        "é" * 32,
        "' OR 1=1 --" + "A" * 21,
    ):
        got = store.open(bad)
        assert isinstance(got, Missing) and got.reason == "malformed", bad
    got = store.open(crypto.new_secret())
    assert isinstance(got, Missing) and got.reason == "unknown"
    assert got.message == "no saved dataset has this link's token"


def test_unknown_token_on_a_store_never_written_creates_nothing(tmp_path: Path) -> None:
    """Opening or deleting on a fresh SQLite store does not create its file (first save does)."""
    path = tmp_path / "folder" / "store.sqlite3"
    st = Store(Settings(f"sqlite:///{path}"))
    assert isinstance(st.open(crypto.new_secret()), Missing)
    assert st.delete(crypto.new_secret(), crypto.new_secret()).reason == "unknown"
    assert not path.parent.exists()
    saved(st.save(BUNDLED))
    assert path.exists()


def test_delete_needs_the_delete_key_then_the_token_opens_as_deleted(store: Store) -> None:
    s = saved(store.save(BUNDLED))
    assert store.delete(s.token, crypto.new_secret()) == Deleted(
        False, "wrong_key", "the delete key does not match this dataset"
    )
    assert store.delete(s.token, s.token).reason == "wrong_key"
    assert isinstance(store.open(s.token), Opened)
    assert store.delete(s.token, s.delete_key).ok
    got = store.open(s.token)
    assert isinstance(got, Missing) and got.reason == "deleted"
    assert store.delete(s.token, s.delete_key).reason == "gone"
    assert store.delete("nope", s.delete_key).reason == "malformed"
    assert store.delete(crypto.new_secret(), s.delete_key).reason == "unknown"


def test_a_tampered_payload_opens_as_unreadable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.sqlite3"
    st = Store(Settings(url))
    a, b = saved(st.save(labelled("A"))), saved(st.save(labelled("B")))
    with sqlite3.connect(tmp_path / "s.sqlite3") as conn:
        # b's payload moved to a's row: authenticated under another token and row, refused.
        conn.execute(
            "UPDATE versions SET sealed = (SELECT sealed FROM versions WHERE id = ?) WHERE id = ?",
            (crypto.row_id(b.token), crypto.row_id(a.token)),
        )
    got = st.open(a.token)
    assert isinstance(got, Missing) and got.reason == "unreadable"
    assert opened(st.open(b.token)).dataset.studies.loc[0, "label"] == "B"


def test_versions_history_and_value_by_value_diff(store: Store) -> None:
    v1 = saved(store.save(BUNDLED, note="abstracts"))
    studies = BUNDLED.studies.copy()
    sid = studies.loc[0, "study_id"]
    old_n = int(studies.loc[0, "n_rt"])
    studies.loc[0, "n_rt"] = old_n + 5
    studies.loc[1, "label"] = pd.NA
    outcomes = BUNDLED.outcomes.iloc[1:].reset_index(drop=True)
    gone = BUNDLED.outcomes.iloc[0]
    v2 = saved(
        store.save(
            replace(BUNDLED, studies=studies, outcomes=outcomes), "full texts", parent=v1.token
        )
    )
    assert v2.parent == v1.token
    v3 = saved(store.save(BUNDLED, note="reverted", parent=v2.token))

    # The first link still shows exactly what it showed.
    pd.testing.assert_frame_equal(opened(store.open(v1.token)).dataset.studies, BUNDLED.studies)
    hist = store.history(v3.token)
    assert isinstance(hist, tuple)
    assert [(e.token, e.note, e.status) for e in hist] == [
        (v3.token, "reverted", "saved"),
        (v2.token, "full texts", "saved"),
        (v1.token, "abstracts", "saved"),
    ]
    assert hist[0].created is not None and hist[0].created >= hist[2].created  # type: ignore[operator]
    # History only walks back: the first version knows nothing of later ones.
    assert [e.token for e in store.history(v1.token)] == [v1.token]  # type: ignore[union-attr]

    time = gone["time_years"]
    key = f"{gone['study_id']} / {gone['outcome']} / {gone['kind']} / " + (
        "-" if pd.isna(time) else repr(float(time)).removesuffix(".0")
    )
    assert store.compare(v1.token, v2.token) == (
        Change("studies", sid, "changed", "n_rt", old_n, old_n + 5),
        Change(
            "studies",
            studies.loc[1, "study_id"],
            "changed",
            "label",
            BUNDLED.studies.loc[1, "label"],
            None,
        ),
        Change("outcomes", key, "removed"),
    )
    back = store.compare(v2.token, v1.token)
    assert isinstance(back, tuple) and Change("outcomes", key, "added") in back
    assert store.compare(v1.token, v3.token) == ()

    # Deleting a middle version: its link says so, and the history stops there.
    assert store.delete(v2.token, v2.delete_key).ok
    assert [(e.token, e.status) for e in store.history(v3.token)] == [  # type: ignore[union-attr]
        (v3.token, "saved"),
        (v2.token, "deleted"),
    ]
    got = store.compare(v1.token, v2.token)
    assert isinstance(got, Missing) and got.reason == "deleted"


def test_history_entry_of_a_deleted_version_has_no_content(store: Store) -> None:
    v1 = saved(store.save(BUNDLED, note="secret note"))
    v2 = saved(store.save(BUNDLED, parent=v1.token))
    store.delete(v1.token, v1.delete_key)
    assert store.history(v2.token)[1] == HistoryEntry(v1.token, "deleted", None, None)  # type: ignore[index]


def test_a_parent_that_cannot_be_opened_refuses_the_save(store: Store) -> None:
    got = store.save(BUNDLED, parent=crypto.new_secret())
    assert isinstance(got, Refused) and got.reason == "parent"
    assert isinstance(store.save(BUNDLED, parent="malformed"), Refused)


def test_data_that_would_not_reopen_as_saved_are_refused(store_url: str) -> None:
    """A duplicated study id: the upload checks would drop a row, so nothing is saved."""
    studies = BUNDLED.studies.copy()
    studies.loc[1, "study_id"] = studies.loc[0, "study_id"]
    got = Store(Settings(store_url)).save(replace(BUNDLED, studies=studies))
    assert isinstance(got, Refused) and got.reason == "invalid"
    with backend_of(store_url).transaction(create=True) as tx:
        assert tx.run("SELECT COUNT(*) FROM versions") == [(0,)]


def test_note_limit(store: Store) -> None:
    assert isinstance(store.save(BUNDLED, note="x" * 2000), Saved)
    got = store.save(BUNDLED, note="x" * 2001)
    assert isinstance(got, Refused) and got.reason == "note"


def test_quota_counts_live_versions_and_frees_on_delete(store_url: str) -> None:
    size = saved(Store(Settings(store_url)).save(BUNDLED)).size
    # Room for the first version and one more (sizes vary by a few bytes: the note is empty).
    st = Store(Settings(store_url, quota_bytes=2 * size + 100))
    second = saved(st.save(BUNDLED))
    got = st.save(BUNDLED)
    assert got == Refused("quota", "the space for saved datasets is full")
    assert st.delete(second.token, second.delete_key).ok
    assert isinstance(st.save(BUNDLED), Saved)


def test_size_limit_as_for_uploads(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.store.store.MAX_FILE_BYTES", 1000)
    got = store.save(BUNDLED)
    assert isinstance(got, Refused) and got.reason == "too_large"
    assert "limited to 1,000 bytes" in got.message


def test_retention_time_expires_old_versions(store_url: str) -> None:
    now = [1_000_000.0]
    st = Store(Settings(store_url, retention_days=2), clock=lambda: now[0])
    old = saved(st.save(BUNDLED))
    now[0] += 86_400
    young = saved(st.save(BUNDLED))
    now[0] += 1.5 * 86_400  # old is 2.5 days old, young 1.5
    got = st.open(old.token)
    assert isinstance(got, Missing) and got.reason == "expired"
    assert isinstance(st.open(young.token), Opened)
    saved(st.save(BUNDLED))  # a save removes expired payloads for good
    with_no_limit = Store(Settings(store_url), clock=lambda: now[0])
    got = with_no_limit.open(old.token)
    assert isinstance(got, Missing) and got.reason == "expired"


def test_concurrent_saves_from_threads_never_overwrite_each_other(store_url: str) -> None:
    st = Store(Settings(store_url))
    results: dict[int, Saved | Refused] = {}

    def save(i: int) -> None:
        results[i] = st.save(labelled(f"thread {i}", n_rt=i))

    threads = [threading.Thread(target=save, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tokens = {saved(r).token for r in results.values()}
    assert len(tokens) == 8
    for i, r in results.items():
        got = opened(st.open(saved(r).token)).dataset.studies.loc[0]
        assert got["label"] == f"thread {i}"
        assert got["n_rt"] == BUNDLED.studies.loc[0, "n_rt"] + i


def test_the_quota_holds_under_concurrent_saves(store_url: str) -> None:
    """Room for two versions, four threads saving at once: two saved, two refused."""
    size = saved(Store(Settings(store_url)).save(BUNDLED)).size
    st = Store(Settings(store_url, quota_bytes=3 * size + 100))
    results: list[Saved | Refused] = []
    barrier = threading.Barrier(4)

    def save() -> None:
        barrier.wait()
        results.append(st.save(BUNDLED))

    threads = [threading.Thread(target=save) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(type(r).__name__ for r in results) == ["Refused", "Refused", "Saved", "Saved"]
    with backend_of(store_url).transaction(create=True) as tx:
        assert tx.run("SELECT COUNT(*) FROM versions") == [(3,)]


def test_schema_is_versioned_and_a_newer_schema_is_refused(store_url: str) -> None:
    st = Store(Settings(store_url))
    saved(st.save(BUNDLED))
    with backend_of(store_url).transaction(create=True) as tx:
        assert tx.run("SELECT version FROM schema_version") == [(len(MIGRATIONS),)]
        tx.run("UPDATE schema_version SET version = ?", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreUnavailable, match="schema version 2 is newer than this app's 1"):
        Store(Settings(store_url)).open(crypto.new_secret())


SECRET_LABEL = "Quixotic-Zebra-Trial-7731"
SECRET_N = 987_654


def _plaintexts() -> list[bytes]:
    """Byte forms of the secret label and number that a leak would show."""
    return [
        SECRET_LABEL.encode(),
        SECRET_LABEL.encode("utf-16-le"),
        str(SECRET_N).encode(),
        struct.pack("<q", SECRET_N),
        struct.pack(">q", SECRET_N),
        struct.pack("<d", float(SECRET_N)),
        b"full texts round 2",
        b"studies.parquet",
        b"PAR1",
    ]


def _secret_dataset_saved(st: Store) -> Saved:
    studies = BUNDLED.studies.copy()
    studies.loc[0, "label"] = SECRET_LABEL
    studies.loc[0, "n_rt"] = SECRET_N
    s = saved(st.save(replace(BUNDLED, studies=studies), note="full texts round 2"))
    assert opened(st.open(s.token)).dataset.studies.loc[0, "label"] == SECRET_LABEL
    return s


def test_no_plaintext_in_the_sqlite_file(tmp_path: Path) -> None:
    st = Store(Settings(f"sqlite:///{tmp_path}/db/s.sqlite3"))
    s = _secret_dataset_saved(st)
    files = list((tmp_path / "db").iterdir())
    assert files == [tmp_path / "db" / "s.sqlite3"]  # no journal left behind
    raw = files[0].read_bytes()
    for leak in [*_plaintexts(), s.token.encode(), s.delete_key.encode()]:
        assert leak not in raw, leak
    assert crypto.row_id(s.token) in raw  # the hash is the key


def test_a_deleted_version_leaves_no_ciphertext_in_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    st = Store(Settings(f"sqlite:///{path}"))
    kept, gone = saved(st.save(labelled("kept"))), saved(st.save(labelled("gone")))
    with sqlite3.connect(path) as conn:
        (sealed,) = conn.execute(
            "SELECT sealed FROM versions WHERE id = ?", (crypto.row_id(gone.token),)
        ).fetchone()
    assert sealed[100:164] in path.read_bytes()
    assert st.delete(gone.token, gone.delete_key).ok
    raw = path.read_bytes()
    assert sealed[100:164] not in raw and sealed[-64:] not in raw
    assert isinstance(st.open(kept.token), Opened)


def test_no_plaintext_in_a_pg_dump_or_the_cluster_files(pg_cluster: Cluster) -> None:
    if PG_DUMP is None:
        skip_unless_required("pg_dump is missing")
    assert PG_DUMP is not None
    url = pg_cluster.new_database()
    s = _secret_dataset_saved(Store(Settings(url)))
    db = url.split("/")[3].split("?")[0]
    dump = subprocess.run(
        [PG_DUMP, "-h", pg_cluster.dir, "-p", str(pg_cluster.port), "-U", "postgres", db],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    assert b"CREATE TABLE public.versions" in dump
    assert crypto.row_id(s.token).hex().encode() in dump
    # bytea columns print as hex text ("\\x3f9a..."), whose digits can spell "987654" by
    # chance; search them as the bytes they stand for, and the rest of the dump as written.
    decoded = re.sub(rb"\\\\x([0-9a-f]+)", lambda m: bytes.fromhex(m[1].decode()), dump)
    assert crypto.row_id(s.token) in decoded
    for leak in [*_plaintexts(), s.token.encode(), s.delete_key.encode()]:
        assert leak not in decoded, leak
    # The files of the cluster itself (tables and write-ahead log), after a checkpoint.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    for root, _, names in os.walk(pg_cluster.data):
        for name in names:
            raw = Path(root, name).read_bytes()
            for leak in [SECRET_LABEL.encode(), struct.pack("<q", SECRET_N), b"full texts round 2"]:
                assert leak not in raw, (name, leak)
