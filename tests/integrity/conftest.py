"""The real six-venue March 2023 candles imported once into a catalog, and its triangulation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradefabric.integrity.batch import Selection, triangulate_catalog
from tradefabric.integrity.collector import TriangulationResult
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers import import_path


@pytest.fixture(scope="session")
def multi_catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a catalog holding all of ``multi_exchange_1m_2023-03/``."""
    root = tmp_path_factory.mktemp("multi") / "catalog"
    writer = CatalogWriter(root, source="test")
    import_path(shared_data / "multi_exchange_1m_2023-03", "multi-exchange", writer)
    return root


@pytest.fixture(scope="session")
def baseline(multi_catalog: Path) -> TriangulationResult:
    """Return the triangulation of BTC over the untouched three weeks."""
    return triangulate_catalog(multi_catalog, Selection("BTC"))
