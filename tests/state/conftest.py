"""The state store fixtures: every test runs on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tradefabric.state.config import open_store_at
from tradefabric.state.postgres import DEFAULT_DSN, PostgresStateStore
from tradefabric.state.store import StateStore

StoreFactory = Callable[[], StateStore]
"""Open another connection to the same store (a second process, or a restart)."""


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield where a fresh store is: an SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "state.db")
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"  # parallel runs never share a schema
    yield f"{DEFAULT_DSN}#{schema}"
    cleaner = PostgresStateStore(DEFAULT_DSN, schema=schema)
    cleaner.drop()
    cleaner.close()


@pytest.fixture
def store_factory(store_location: str) -> Iterator[StoreFactory]:
    """Yield a factory of connections to the fresh store, closed after the test."""
    opened: list[StateStore] = []

    def factory() -> StateStore:
        store = open_store_at(store_location, create=True)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> StateStore:
    """Return a fresh store on each backend."""
    return store_factory()
