"""A catalog of the real month of Binance 1m candles, imported once for these tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def month_catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Import the real month (BTC/USDT and ETH/USDT 1m) into a new catalog; return its root."""
    root = tmp_path_factory.mktemp("catalog")
    subprocess.run(
        [sys.executable, "-m", "tradefabric", "data", "import", str(shared_data / "candles_1m"),
         "--format", "freqtrade", "--venue", "binance", "--catalog", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    return root
