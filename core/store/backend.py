"""The two databases behind the store, one transaction interface, and the schema migrations.

``EXPLORER_STORE`` picks the database: ``sqlite:///PATH`` (SQLAlchemy's convention: three
slashes and a relative path, four for an absolute one; ``~`` is expanded) or
``postgresql://...`` (any libpq URL, through psycopg 3). Every operation is one transaction
on its own connection: a write either commits whole or leaves nothing, also when the process
dies mid-way (SQLite's journal and PostgreSQL roll it back). Writes are serialised (SQLite
``BEGIN IMMEDIATE``; a PostgreSQL transaction-scoped advisory lock) so the quota holds under
concurrent saves. Any failure to reach or use the database raises :class:`StoreUnavailable`.

The schema is versioned: table ``schema_version`` holds the number of :data:`MIGRATIONS`
applied, and opening a store applies the missing ones in one locked transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

CONNECT_TIMEOUT_S = 5
_PG_LOCK = 0x45_58_50_4C  # the advisory lock id of write transactions ("EXPL")

#: Schema migrations in order; ``{blob}`` and ``{real}`` are the dialect's type names. The
#: ``versions`` table holds one saved version a row: ``id`` is the token's hash, ``sealed`` the
#: encrypted payload (NULL once deleted or expired, then ``gone`` says which), ``created`` the
#: save time in Unix seconds (for the retention time), ``delete_hash`` the delete key's hash.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE versions (
            id {blob} PRIMARY KEY,
            sealed {blob},
            size BIGINT NOT NULL,
            created {real} NOT NULL,
            delete_hash {blob} NOT NULL,
            gone TEXT CHECK (gone IN ('deleted', 'expired')),
            CHECK ((sealed IS NULL) = (gone IS NOT NULL))
        )""",
        "CREATE INDEX versions_created ON versions (created)",
    ),
)


class StoreUnavailable(Exception):
    """The store cannot be reached or used; ``str()`` is a plain message for users."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"saved datasets are unavailable ({detail})")
        self.detail = detail


class Tx(Protocol):
    """One open transaction."""

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Execute ``sql`` with ``?`` placeholders; the rows it returns (empty for none)."""
        ...


class Backend(Protocol):
    """A database the store runs transactions on."""

    url: str

    def transaction(self, create: bool) -> Any:
        """A context manager giving a :class:`Tx`, or None when ``create`` is false and the
        store does not exist yet (nothing was ever saved); commits on success."""
        ...


def _migrate(tx: Tx, blob: str, real: str) -> None:
    """Create the schema or bring it up to :data:`MIGRATIONS` (caller holds the write lock)."""
    tx.run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    rows = tx.run("SELECT version FROM schema_version")
    if not rows:
        tx.run("INSERT INTO schema_version (version) VALUES (0)")
    done = rows[0][0] if rows else 0
    if done > len(MIGRATIONS):
        raise StoreUnavailable(
            f"the store's schema version {done} is newer than this app's {len(MIGRATIONS)}"
        )
    for statements in MIGRATIONS[done:]:
        for sql in statements:
            tx.run(sql.format(blob=blob, real=real))
    if done < len(MIGRATIONS):
        tx.run("UPDATE schema_version SET version = ?", (len(MIGRATIONS),))


class _SqliteTx:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()


class SqliteBackend:
    """A store in one SQLite file, created (with its folder) on the first write."""

    def __init__(self, url: str, path: Path) -> None:
        self.url = url
        self.path = path
        self._migrated = False

    @contextmanager
    def transaction(self, create: bool) -> Iterator[Tx | None]:
        if not create and not self.path.exists():
            yield None
            return
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            mode = "rwc" if create else "rw"
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode={mode}",
                uri=True,
                timeout=30,
                isolation_level=None,
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open {self.path}: {exc}") from exc
        try:
            # Freed pages are zeroed: a deleted version's ciphertext does not linger in the file.
            conn.execute("PRAGMA secure_delete = ON")
            tx = _SqliteTx(conn)
            try:
                # IMMEDIATE takes the write lock now, so concurrent writers queue here.
                migrating = not self._migrated
                conn.execute("BEGIN IMMEDIATE" if create or migrating else "BEGIN")
                if migrating:
                    _migrate(tx, "BLOB", "REAL")
                yield tx
                conn.execute("COMMIT")
                self._migrated = True
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"{self.path}: {exc}") from exc
        finally:
            conn.close()


class _PgTx:
    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(sql.replace("?", "%s"), params)
        return self._cur.fetchall() if self._cur.description is not None else []


class PostgresBackend:
    """A store in a PostgreSQL database (psycopg 3), shared by any number of app servers."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._migrated = False

    @contextmanager
    def transaction(self, create: bool) -> Iterator[Tx | None]:
        import psycopg

        try:
            conn = psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {_first_line(exc)}") from exc
        try:
            with conn.transaction(), conn.cursor() as cur:
                tx = _PgTx(cur)
                migrating = not self._migrated
                if create or migrating:
                    tx.run("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK,))
                if migrating:
                    _migrate(tx, "BYTEA", "DOUBLE PRECISION")
                yield tx
            self._migrated = True
        except psycopg.Error as exc:
            raise StoreUnavailable(f"PostgreSQL: {_first_line(exc)}") from exc
        finally:
            conn.close()


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def backend_of(url: str) -> Backend:
    """The backend of an ``EXPLORER_STORE`` URL; :class:`StoreUnavailable` for another scheme."""
    if url.startswith("sqlite:///"):
        rest = url.removeprefix("sqlite:///")
        if not rest:
            raise StoreUnavailable("EXPLORER_STORE sqlite:/// names no file")
        return SqliteBackend(url, Path(rest).expanduser())
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(url)
    raise StoreUnavailable("EXPLORER_STORE must start with sqlite:/// or postgresql://")
