"""A catalog of the real month (BTC imported first, ETH as the second version)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BTC = "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
ETH = "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather"


def _import(path: Path, root: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "tradefabric", "data", "import", str(path),
         "--format", "freqtrade", "--venue", "binance", "--catalog", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip


@pytest.fixture(scope="session")
def research_catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a catalog whose version 1 holds BTC/USDT and version 2 adds ETH/USDT."""
    root = tmp_path_factory.mktemp("research_catalog")
    _import(shared_data / "candles_1m" / BTC, root)
    _import(shared_data / "candles_1m" / ETH, root)
    return root
