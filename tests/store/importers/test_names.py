"""Symbols and intervals from file names: quote currencies kept exactly as spelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.store.importers.formats.binance import hints as binance_hints
from tradefabric.store.importers.formats.freqtrade import hints as freqtrade_hints
from tradefabric.store.importers.formats.multi_exchange import hints as multi_hints
from tradefabric.store.importers.names import check_symbol, interval_label, pair_to_symbol


@pytest.mark.parametrize(
    ("pair", "symbol"),
    [
        ("btcusd", "BTC/USD"),
        ("btcusdt", "BTC/USDT"),
        ("btcusdc", "BTC/USDC"),
        ("usdtusd", "USDT/USD"),  # not USD/TUSD
        ("usdcusd", "USDC/USD"),
        ("usdcusdt", "USDC/USDT"),
        ("BTCTUSD", "BTC/TUSD"),  # not BTCT/USD
        ("BTCFDUSD", "BTC/FDUSD"),
        ("PEPEUSDT", "PEPE/USDT"),
        ("ETHBTC", "ETH/BTC"),
        ("eth-usd", "ETH/USD"),
        ("SOL_EUR", "SOL/EUR"),
        ("usdt", None),
        ("xyz", None),
    ],
)
def test_pair_to_symbol(pair: str, symbol: str | None) -> None:
    assert pair_to_symbol(pair) == symbol


def test_file_name_hints() -> None:
    multi = multi_hints(Path("kraken_usdtusd.parquet"), None)
    assert (multi.venue, multi.symbol, multi.timeframe) == ("kraken", "USDT/USD", None)
    assert multi_hints(Path("binance_btcusdc.parquet"), None).venue == "binanceus"
    assert multi_hints(Path("okx_btcusdt.parquet"), None).venue is None
    freq = freqtrade_hints(Path("binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"), None)
    assert (freq.venue, freq.symbol, freq.timeframe) == (None, "BTC/USDT", "1m")
    futures = freqtrade_hints(Path("BTC_USDT_USDT-4h-futures.json.gz"), None)
    assert (futures.symbol, futures.timeframe) == ("BTC/USDT:USDT", "4h")
    spot = binance_hints(Path("ETHUSDC-15m-2025-01-03.zip"), "binance")
    assert (spot.symbol, spot.timeframe) == ("ETH/USDC", "15m")
    assert binance_hints(Path("BTCUSDT-1h-2024-12.csv"), "binance-usdm").symbol == "BTC/USDT:USDT"


def test_interval_labels_and_symbols() -> None:
    assert interval_label(60_000_000_000) == "1m"
    assert interval_label(7_200_000_000_000) == "2h"
    assert interval_label(90_000_000_000) == "90s"
    assert check_symbol("BTC/USDT:USDT") == "BTC/USDT:USDT"
    with pytest.raises(ConfigError):
        check_symbol("btc/usdt")
