"""Real data for the importer tests: every candle file of ../shared/data, read once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradefabric.store.importers import FORMATS, FileCandles, ImportOptions, read_path

FREQTRADE_ROWS = {
    "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather": ("binance", "BTC/USDT", 43_209),
    "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather": ("binance", "ETH/USDT", 43_208),
}
"""File -> (venue, symbol, rows) of candles_1m/ (venue given: freqtrade names do not say)."""

MULTI_EXCHANGE_ROWS = {
    "binance_btcusdc.parquet": ("binanceus", "BTC/USDC", 30_240),
    "binance_btcusdt.parquet": ("binanceus", "BTC/USDT", 30_240),
    "binance_usdcusdt.parquet": ("binanceus", "USDC/USDT", 30_240),
    "bybit_btcusdc.parquet": ("bybit", "BTC/USDC", 30_032),
    "coinbase_btcusd.parquet": ("coinbase", "BTC/USD", 29_950),
    "coinbase_btcusdt.parquet": ("coinbase", "BTC/USDT", 24_478),
    "coinbase_usdtusd.parquet": ("coinbase", "USDT/USD", 29_927),
    "cryptocom_btcusd.parquet": ("cryptocom", "BTC/USD", 30_139),
    "cryptocom_btcusdt.parquet": ("cryptocom", "BTC/USDT", 30_139),
    "kraken_btcusd.parquet": ("kraken", "BTC/USD", 30_179),
    "kraken_btcusdc.parquet": ("kraken", "BTC/USDC", 15_719),
    "kraken_btcusdt.parquet": ("kraken", "BTC/USDT", 20_442),
    "kraken_usdcusd.parquet": ("kraken", "USDC/USD", 20_934),
    "kraken_usdtusd.parquet": ("kraken", "USDT/USD", 29_959),
}
"""File -> (venue, symbol, rows) of multi_exchange_1m_2023-03/, all inferred from the names."""


@pytest.fixture(scope="session")
def candles_dir(shared_data: Path) -> Path:
    return shared_data / "candles_1m"


@pytest.fixture(scope="session")
def multi_dir(shared_data: Path) -> Path:
    return shared_data / "multi_exchange_1m_2023-03"


@pytest.fixture(scope="session")
def read_all(candles_dir: Path, multi_dir: Path) -> dict[str, FileCandles]:
    """Every real candle file read by its format's reader, by file name."""
    found = list(read_path(candles_dir, FORMATS["freqtrade"], ImportOptions(venue="binance")))
    found += read_path(multi_dir, FORMATS["multi-exchange"], ImportOptions())
    return {Path(f.report.file).name: f for f in found}
