"""Fake venues serving exchange info, one per registry venue, on real sockets."""

from __future__ import annotations

from pathlib import Path

RECORDINGS: dict[str, str] = {
    "binance": "binance_ws/spot_btcusdt_20240808.gz",
    "binance-usdm": "binance_ws/usdm_btcusdt_20240808.gz",
    "bybit": "binance_ws/spot_btcusdt_20240808.gz",
    "bybit-linear": "binance_ws/usdm_btcusdt_20240808.gz",
    "coinbase": "binance_ws/spot_btcusdt_20240808.gz",
    "kraken": "binance_ws/spot_btcusdt_20240808.gz",
}
"""The real recording each fake venue replays (Bybit linear re-encodes Binance USD-M)."""

PERPETUALS = frozenset({"binance-usdm", "bybit-linear"})


def btc_symbol(venue: str) -> str:
    """Return the unified BTC/USDT symbol on ``venue`` (``BTC/USDT:USDT`` on perpetuals)."""
    return "BTC/USDT:USDT" if venue in PERPETUALS else "BTC/USDT"


def recording(shared_data: Path, venue: str) -> Path:
    """Return the recording the fake ``venue`` replays."""
    return shared_data / RECORDINGS[venue]
