"""The state store in an SQLite file: the embedded default (WAL, ``synchronous=FULL``).

WAL lets ``tradefabric state show`` read while the node writes; ``synchronous=FULL``
makes every committed transaction survive a power cut, not only a crash. Writes
take the database lock up front (``BEGIN IMMEDIATE``) so two processes sharing
the file (``reserve`` from two nodes) queue instead of failing mid-transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tradefabric.core.errors import DataSourceError
from tradefabric.state.store import Sql, SqlStateStore

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _wal(db: sqlite3.Connection, busy_timeout_s: float) -> None:
    """Switch to WAL, waiting while another process holds the file (its own first open).

    The journal mode change does not wait on the busy timeout: two processes opening a
    new store at once would see one fail at once with "database is locked".
    """
    deadline = time.monotonic() + busy_timeout_s
    delay = 0.01
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode not in _BUSY or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)  # a process's start-up, never the trading path
        delay = min(delay * 2, 0.5)


class SqliteStateStore(SqlStateStore):
    """The ``StateStore`` in one SQLite file (created with its tables when missing)."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            _wal(self._db, busy_timeout_s)
            self._db.execute("PRAGMA synchronous=FULL")
        except (OSError, sqlite3.Error) as exc:
            raise DataSourceError(f"state store {path}: cannot open: {exc}") from exc
        # The recorder's writer thread and the node's own reads share the connection.
        self._lock = threading.Lock()
        self._create_tables()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Sql]:
        with self._lock:
            db = self._db

            def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                return db.execute(sql, params).fetchall()

            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise DataSourceError(f"state store {self.path}: {exc}") from exc
            try:
                yield run
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
