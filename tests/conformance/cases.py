"""The venues the conformance suite runs against, and the real traffic each one serves.

A venue joins the suite by adding a case here; its fake-venue script turns the
recording into that venue's current wire format.
"""

from __future__ import annotations

import msgspec


class ConformanceCase(msgspec.Struct, frozen=True):
    """One venue, the recording its fake venue serves, and the symbol to follow."""

    venue: str
    recording: str
    """Path under shared/data."""
    symbol: str
    speed: float = 0.0


ALL_CASES = [
    ConformanceCase("binance", "binance_ws/spot_btcusdt_20240808.gz", "BTC/USDT"),
    ConformanceCase("binance-usdm", "binance_ws/usdm_btcusdt_20240808.gz", "BTC/USDT:USDT"),
    # Venues whose recordings we lack are served the real Binance traffic re-encoded
    # in their current protocol by their fake-venue script.
    ConformanceCase("coinbase", "binance_ws/spot_btcusdt_20240808.gz", "BTC/USDT"),
    ConformanceCase("bybit-linear", "binance_ws/usdm_btcusdt_20240808.gz", "BTC/USDT:USDT"),
    ConformanceCase("kraken", "binance_ws/spot_btcusdt_20240808.gz", "BTC/USDT"),
]

CASES = ALL_CASES
"""Every case runs: a venue that failed to register fails its cases, it never drops out."""
