"""Bybit v5 public markets as data: what differs between spot and linear (USDT/USDC perps).

Every difference the adapter needs is a field here, so the parser, the
subscriptions and the book synchronizer have no ``if market == ...`` branches.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import SequenceRule
from tradefabric.model.enums import InstrumentKind
from tradefabric.venues.bybit.book_rule import BybitBookRule


class BybitMarket(msgspec.Struct, frozen=True, kw_only=True):
    """One Bybit v5 market category (``spot`` or ``linear``) and its quirks."""

    venue: str
    """Venue name used on every domain event, e.g. ``bybit``."""
    category: str
    """Bybit's ``category`` of the market in REST requests: ``spot`` or ``linear``."""
    kind: InstrumentKind
    ws_url: str
    rest_url: str
    settle_suffix: str
    """Appended to unified symbols: ``:{quote}`` makes ``BTC/USDT:USDT`` for a perpetual."""
    sequence_rule: str
    """Name of the book sequence rule: ``update_id`` (``u`` goes up by one per message)."""
    channels: dict[str, str]
    """Channel name -> topic prefix; a topic is ``<prefix>.<SYMBOL>``, e.g. ``tickers.BTCUSDT``."""
    book_depths: tuple[int, ...]
    """Depths Bybit serves on ``orderbook.<depth>.<symbol>`` for this category."""
    max_args_per_subscribe: int
    """Most topics one ``subscribe`` request may carry (spot: 10); 0 means no limit."""
    max_args_chars: int
    """Most characters the ``args`` of one public connection may add up to."""
    orderbook_path: str
    recent_trades_path: str
    tickers_path: str
    server_time_path: str


_COMMON_CHANNELS = {
    "trade": "publicTrade",
    "ticker": "tickers",
    "depth": "orderbook.200",
    "depth_1": "orderbook.1",
    "depth_50": "orderbook.50",
    "depth_1000": "orderbook.1000",
    "kline_1m": "kline.1",
}

BYBIT_SPOT = BybitMarket(
    venue="bybit",
    category="spot",
    kind=InstrumentKind.SPOT,
    ws_url="wss://stream.bybit.com/v5/public/spot",
    rest_url="https://api.bybit.com",
    settle_suffix="",
    sequence_rule="update_id",
    channels=dict(_COMMON_CHANNELS),
    book_depths=(1, 50, 200, 1000),
    max_args_per_subscribe=10,
    max_args_chars=21_000,
    orderbook_path="/v5/market/orderbook",
    recent_trades_path="/v5/market/recent-trade",
    tickers_path="/v5/market/tickers",
    server_time_path="/v5/market/time",
)

BYBIT_LINEAR = BybitMarket(
    venue="bybit-linear",
    category="linear",
    kind=InstrumentKind.PERPETUAL,
    ws_url="wss://stream.bybit.com/v5/public/linear",
    rest_url="https://api.bybit.com",
    settle_suffix=":{quote}",
    sequence_rule="update_id",
    channels={
        **_COMMON_CHANNELS,
        "depth_500": "orderbook.500",
        "liquidation": "allLiquidation",
    },
    book_depths=(1, 50, 200, 500, 1000),
    max_args_per_subscribe=0,
    max_args_chars=21_000,
    orderbook_path="/v5/market/orderbook",
    recent_trades_path="/v5/market/recent-trade",
    tickers_path="/v5/market/tickers",
    server_time_path="/v5/market/time",
)

MARKETS: dict[str, BybitMarket] = {m.venue: m for m in (BYBIT_SPOT, BYBIT_LINEAR)}

_SEQUENCE_RULES: dict[str, SequenceRule] = {"update_id": BybitBookRule()}


def market(venue: str) -> BybitMarket:
    """Return the Bybit market called ``venue`` (``bybit`` or ``bybit-linear``)."""
    found = MARKETS.get(venue)
    if found is None:
        raise ConfigError(f"unknown Bybit venue {venue!r}; expected one of {sorted(MARKETS)}")
    return found


def sequence_rule(market: BybitMarket) -> SequenceRule:
    """Return how book update ids chain on ``market``."""
    return _SEQUENCE_RULES[market.sequence_rule]


def sequence_rules() -> dict[str, SequenceRule]:
    """Return the sequence rule of every Bybit venue, keyed by venue name."""
    return {venue: sequence_rule(m) for venue, m in MARKETS.items()}
