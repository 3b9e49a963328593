"""Shared fixtures for the store tests: a real bus and a writer on tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.store.catalog_writer import CatalogWriter


@pytest.fixture
def bus() -> MessageBus:
    return MessageBus()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "catalog"
    path.mkdir()
    return path


@pytest.fixture
def writer(root: Path, bus: MessageBus) -> Iterator[CatalogWriter]:
    w = CatalogWriter(root, bus)
    yield w
    w.close()
