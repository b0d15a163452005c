"""Shared by the store tests: a throwaway PostgreSQL cluster, store fixtures, sample datasets.

PostgreSQL refuses to run as root, so the cluster runs as the ``postgres`` user in a temporary
folder it owns, listening only on a Unix socket in that folder (on a free port number, which
names the socket). Without the binaries the PostgreSQL tests are skipped, unless
``REQUIRE_POSTGRES=1`` (CI), where they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.data.dataset import Dataset, load_bundled
from core.store import Settings, Store


def _pg_binary(name: str) -> str | None:
    """``name`` on PATH, else the newest in Debian's /usr/lib/postgresql/VERSION/bin."""
    found = shutil.which(name)
    if found:
        return found
    versions = [
        p for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}") if p.parts[-3].isdigit()
    ]
    return str(max(versions, key=lambda p: int(p.parts[-3]))) if versions else None


INITDB, PG_CTL, PG_DUMP = _pg_binary("initdb"), _pg_binary("pg_ctl"), _pg_binary("pg_dump")
ROOT = Path(__file__).resolve().parents[2]
BUNDLED = load_bundled()

#: Marks every store test module: PostgreSQL tests share one worker, hence one cluster.
GROUP = pytest.mark.xdist_group("store")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str, cwd: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *cmd], cwd=cwd, check=True, capture_output=True, timeout=120)


class Cluster:
    """A PostgreSQL cluster in a temporary folder: start, stop, fresh databases, URLs."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="pgstore")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self._names = itertools.count()
        _as_postgres(
            INITDB, "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", cwd=self.dir
        )
        self.start()

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@/{db}?host={self.dir}&port={self.port}"

    def start(self) -> None:
        assert PG_CTL is not None
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses='' -c fsync=off"
        _as_postgres(
            PG_CTL,
            "-D",
            self.data,
            "-o",
            opts,
            "-l",
            f"{self.dir}/log",
            "-w",
            "start",
            cwd=self.dir,
        )

    def stop(self, mode: str = "fast") -> None:
        assert PG_CTL is not None
        _as_postgres(PG_CTL, "-D", self.data, "-m", mode, "-w", "stop", cwd=self.dir)

    def new_database(self) -> str:
        """The URL of a new empty database."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


def skip_unless_required(reason: str) -> None:
    """Skip with ``reason``; fail instead when REQUIRE_POSTGRES=1 (CI)."""
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One cluster for the session (skipped without the binaries unless REQUIRE_POSTGRES=1)."""
    if INITDB is None or PG_CTL is None:
        skip_unless_required("PostgreSQL binaries (initdb, pg_ctl) are missing")
    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store/saved.sqlite3"
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def store(store_url: str) -> Store:
    return Store(Settings(store_url))


def labelled(label: str, n_rt: int = 0) -> Dataset:
    """The bundled dataset with the first study's label set to ``label`` (and n_rt raised by
    ``n_rt``): distinct datasets that still pass the schema."""
    studies = BUNDLED.studies.copy()
    studies.loc[0, "label"] = label
    if n_rt:
        studies.loc[0, "n_rt"] = studies.loc[0, "n_rt"] + n_rt
    return replace(BUNDLED, studies=studies)


def child_env(url: str) -> dict[str, str]:
    """The environment of a child process using the store at ``url``."""
    return {**os.environ, "EXPLORER_STORE": url, "PYTHONPATH": str(ROOT)}
