"""The state store in PostgreSQL (psycopg 3), in one schema of the database.

Several nodes (or test runs) share a database by using different schemas; the
schema and its tables are created when missing. ``reserve`` is one ``UPDATE ...
RETURNING``, which PostgreSQL serializes on the counter's row.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.state.store import Sql, SqlStateStore

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PostgresStateStore(SqlStateStore):
    """The ``StateStore`` in schema ``schema`` of the database at ``dsn``."""

    AUTO_ID = "BIGSERIAL PRIMARY KEY"
    BLOB = "BYTEA"
    FLOAT = "DOUBLE PRECISION"

    def __init__(self, dsn: str = DEFAULT_DSN, *, schema: str = "tradefabric") -> None:
        if not _IDENTIFIER.match(schema):
            raise ConfigError(f"state.schema: {schema!r} is not a lower-case SQL identifier")
        self.schema = schema
        try:
            self._db = psycopg.connect(dsn, autocommit=True)
            self._db.execute(f"SET search_path TO {schema}")
            self._lock = threading.Lock()
            self._create_tables()
        except psycopg.Error as exc:
            raise DataSourceError(f"state store {_safe(dsn)}: cannot open: {exc}") from exc

    def _ddl_prelude(self) -> tuple[str, ...]:
        # Two nodes creating one schema at once collide inside PostgreSQL's catalog even
        # with IF NOT EXISTS: a transaction-scoped advisory lock queues them.
        return (
            f"SELECT pg_advisory_xact_lock(hashtext('tradefabric.state.{self.schema}'))",
            f"CREATE SCHEMA IF NOT EXISTS {self.schema}",
        )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Sql]:
        with self._lock, self._db.transaction(), self._db.cursor() as cursor:

            def run(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
                cursor.execute(sql.replace("?", "%s"), params)
                return cursor.fetchall() if cursor.description is not None else []

            yield run

    def drop(self) -> None:
        """Drop the schema and everything in it (tests clean up with this)."""
        with self._lock:
            self._db.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def _safe(dsn: str) -> str:
    """Return ``dsn`` without a password (error messages end up in logs)."""
    hidden = re.sub(r"(://[^:/@\s]+:)[^@\s]*@", r"\1***@", dsn)
    return re.sub(r"password=\S+", "password=***", hidden)
