"""The ``state:`` section of a trading config, and opening the store it names."""

from __future__ import annotations

import enum
from pathlib import Path

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.state.store import StateStore


class StateBackend(enum.StrEnum):
    """Where the state store lives."""

    SQLITE = "sqlite"
    POSTGRES = "postgres"


class StateConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``state: {backend: sqlite, path: state.db}`` or ``{backend: postgres, dsn: ...}``."""

    backend: StateBackend = StateBackend.SQLITE
    path: Path | None = None
    """The SQLite file (backend sqlite)."""
    dsn: str | None = None
    """The PostgreSQL connection string (backend postgres); default the local service."""
    schema: str = "tradefabric"
    """The PostgreSQL schema holding the tables (one per node sharing a database)."""
    id_block: int = 100
    """Client order id counter values reserved from the store at a time."""

    def __post_init__(self) -> None:
        if self.backend is StateBackend.SQLITE and self.path is None:
            raise ConfigError("state.path: the SQLite backend needs a file path")
        if self.id_block < 1:
            raise ConfigError(f"state.id_block: must be >= 1, got {self.id_block}")


def open_store(config: StateConfig) -> StateStore:
    """Open (creating when missing) the store ``config`` names."""
    if config.backend is StateBackend.SQLITE:
        from tradefabric.state.sqlite import SqliteStateStore  # noqa: PLC0415

        assert config.path is not None  # checked in __post_init__
        return SqliteStateStore(config.path)
    # psycopg is imported only by a node that uses PostgreSQL.
    from tradefabric.state.postgres import DEFAULT_DSN, PostgresStateStore  # noqa: PLC0415

    return PostgresStateStore(config.dsn or DEFAULT_DSN, schema=config.schema)


def open_store_at(location: str, create: bool = False) -> StateStore:
    """Open a store from a command-line location: an SQLite path, or a ``postgresql://`` DSN
    (``#schema`` at its end picks the schema; default ``tradefabric``)."""
    if location.startswith(("postgresql://", "postgres://")):
        dsn, _, schema = location.partition("#")
        return open_store(
            StateConfig(backend=StateBackend.POSTGRES, dsn=dsn, schema=schema or "tradefabric")
        )
    path = Path(location)
    if not create and not path.is_file():
        raise ConfigError(f"--state: no state store at {path}")
    return open_store(StateConfig(path=path))
