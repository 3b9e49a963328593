"""Binance markets as data: what differs between spot and USD-M futures.

Every difference the adapter needs is a field here, so the parser and the book
synchronizer have no ``if market == ...`` branches.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import ContiguousIds, PreviousIdLink, SequenceRule
from tradefabric.model.enums import InstrumentKind


class BinanceMarket(msgspec.Struct, frozen=True, kw_only=True):
    """One Binance market (spot or USD-M futures) and its quirks."""

    venue: str
    """Venue name used on every domain event, e.g. ``binance``."""
    kind: InstrumentKind
    ws_url: str
    rest_url: str
    depth_snapshot_path: str
    settle_suffix: str
    """Appended to unified symbols: ``:USDT`` makes ``BTC/USDT:USDT`` for a perpetual."""
    sequence_rule: str
    """``contiguous`` (spot: ``U == previous u + 1``) or ``previous_id`` (USD-M: ``pu``)."""
    channels: dict[str, str]
    """Channel name -> stream name after ``<symbol>@`` (e.g. ``depth`` -> ``depth@100ms``)."""
    open_interest_path: str
    """REST path of open interest; empty where the market has none (spot)."""
    server_time_path: str
    recent_trades_path: str
    history_trades_path: str
    """Old trade lookup by id (``fromId``): what a gap backfill pages through."""
    history_trades_limit: int
    """Most trades one history page may return (``limit``)."""
    history_trades_weight: int
    history_needs_api_key: bool
    """The history endpoint is ``MARKET_DATA``: it wants an ``X-MBX-APIKEY`` header."""
    rest_weight_per_minute: int
    depth_snapshot_weight: int
    """Request weight of a 1000-level depth snapshot."""


BINANCE_SPOT = BinanceMarket(
    venue="binance",
    kind=InstrumentKind.SPOT,
    ws_url="wss://stream.binance.com:9443/stream",
    rest_url="https://api.binance.com",
    depth_snapshot_path="/api/v3/depth",
    settle_suffix="",
    sequence_rule="contiguous",
    channels={
        "trade": "trade",
        "aggTrade": "aggTrade",
        "bookTicker": "bookTicker",
        "depth": "depth@100ms",
        "kline_1m": "kline_1m",
    },
    open_interest_path="",
    server_time_path="/api/v3/time",
    recent_trades_path="/api/v3/trades",
    history_trades_path="/api/v3/historicalTrades",
    history_trades_limit=1000,
    history_trades_weight=25,
    history_needs_api_key=False,
    rest_weight_per_minute=6000,
    depth_snapshot_weight=50,
)

BINANCE_USDM = BinanceMarket(
    venue="binance-usdm",
    kind=InstrumentKind.PERPETUAL,
    ws_url="wss://fstream.binance.com/stream",
    rest_url="https://fapi.binance.com",
    depth_snapshot_path="/fapi/v1/depth",
    settle_suffix=":{quote}",
    sequence_rule="previous_id",
    channels={
        "trade": "trade",
        "aggTrade": "aggTrade",
        "bookTicker": "bookTicker",
        "depth": "depth@0ms",
        "kline_1m": "kline_1m",
        "markPrice": "markPrice@1s",
        "forceOrder": "forceOrder",
    },
    open_interest_path="/fapi/v1/openInterest",
    server_time_path="/fapi/v1/time",
    recent_trades_path="/fapi/v1/trades",
    history_trades_path="/fapi/v1/historicalTrades",
    history_trades_limit=500,
    history_trades_weight=20,
    history_needs_api_key=True,
    rest_weight_per_minute=2400,
    depth_snapshot_weight=20,
)

MARKETS: dict[str, BinanceMarket] = {m.venue: m for m in (BINANCE_SPOT, BINANCE_USDM)}

_SEQUENCE_RULES: dict[str, SequenceRule] = {
    "contiguous": ContiguousIds(),
    "previous_id": PreviousIdLink(),
}


def market(venue: str) -> BinanceMarket:
    """Return the Binance market called ``venue`` (``binance`` or ``binance-usdm``)."""
    found = MARKETS.get(venue)
    if found is None:
        raise ConfigError(f"unknown Binance venue {venue!r}; expected one of {sorted(MARKETS)}")
    return found


def sequence_rule(market: BinanceMarket) -> SequenceRule:
    """Return how depth update ids chain on ``market``."""
    return _SEQUENCE_RULES[market.sequence_rule]


def sequence_rules() -> dict[str, SequenceRule]:
    """Return the sequence rule of every Binance venue, keyed by venue name."""
    return {venue: sequence_rule(m) for venue, m in MARKETS.items()}
