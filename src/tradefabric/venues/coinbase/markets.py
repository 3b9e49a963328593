"""Coinbase Advanced Trade market data as data: URLs, channels, symbols, quirks.

Every venue difference the adapter needs is a field here (e.g. which party's side
``market_trades`` prints), so the parser has no ``if venue == ...`` branches.
"""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.data.book_sync import SequenceRule
from tradefabric.model.enums import InstrumentKind
from tradefabric.venues.coinbase.sequencing import CoinbaseBookRule


class CoinbaseMarket(msgspec.Struct, frozen=True, kw_only=True):
    """The Coinbase Advanced Trade public market data feed and its quirks."""

    venue: str
    """Venue name used on every domain event."""
    kind: InstrumentKind
    ws_url: str
    rest_url: str
    channels: dict[str, str]
    """Our channel name -> the channel to subscribe (one channel per subscribe frame)."""
    received_as: dict[str, str]
    """Subscribed channel -> the ``channel`` field of the messages it sends (level2 -> l2_data)."""
    candle_interval: str
    """The only candle granularity the ``candles`` channel sends."""
    trade_side_is_taker: bool
    """True when ``market_trades`` ``side`` is the aggressor's (taker's) side.

    Coinbase's Advanced Trade docs do not define it. The legacy Exchange feed's
    ``match.side`` is the *maker's* side (documented, and visible in the real
    capture ``ws_captures/COINBASE.ws.28.0``: ticker ``side`` = buy, last_match
    ``side`` = sell for trade 881613). For Advanced Trade, NautilusTrader's
    adapter (whose field shapes were checked against production) reads ``side``
    as the taker's, while some community code still flips it as on the legacy
    feed. We follow NautilusTrader. Flip this field if a live check (a BUY print
    at the best ask) shows otherwise.
    """
    public_channels_need_jwt: bool
    """False: heartbeats, candles, status, ticker, ticker_batch, level2 and
    market_trades need no JWT (Coinbase's channel table, 2025); only ``user``
    and ``futures_balance_summary`` do."""


COINBASE = CoinbaseMarket(
    venue="coinbase",
    kind=InstrumentKind.SPOT,
    ws_url="wss://advanced-trade-ws.coinbase.com",
    rest_url="https://api.coinbase.com",
    channels={
        "trades": "market_trades",
        "quotes": "ticker",
        "book": "level2",
        "candles": "candles",
        "heartbeats": "heartbeats",
    },
    received_as={
        "market_trades": "market_trades",
        "ticker": "ticker",
        "level2": "l2_data",
        "candles": "candles",
        "heartbeats": "heartbeats",
    },
    candle_interval="5m",
    trade_side_is_taker=True,
    public_channels_need_jwt=False,
)

MARKETS: dict[str, CoinbaseMarket] = {COINBASE.venue: COINBASE}

_RULE = CoinbaseBookRule()


def market(venue: str) -> CoinbaseMarket:
    """Return the Coinbase market called ``venue`` (``coinbase``)."""
    found = MARKETS.get(venue)
    if found is None:
        raise ConfigError(f"unknown Coinbase venue {venue!r}; expected one of {sorted(MARKETS)}")
    return found


def sequence_rule(market: CoinbaseMarket) -> SequenceRule:
    """Return how level2 ids chain on ``market`` (see ``sequencing``)."""
    return _RULE


def sequence_rules() -> dict[str, SequenceRule]:
    """Return the sequence rule of every Coinbase venue, keyed by venue name."""
    return {venue: sequence_rule(m) for venue, m in MARKETS.items()}


def unified_symbol(product_id: str) -> str:
    """Return the unified symbol of a Coinbase product id: ``BTC-USD`` -> ``BTC/USD``."""
    base, sep, quote = product_id.partition("-")
    if not sep or not base or not quote or "-" in quote:
        raise MalformedMessageError(f"not a Coinbase spot product id: {product_id!r}")
    return f"{base}/{quote}"


def product_id(symbol: str) -> str:
    """Return the Coinbase product id of a unified symbol: ``BTC/USD`` -> ``BTC-USD``."""
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote or "/" in quote or ":" in quote:
        raise ConfigError(f"not a unified spot symbol: {symbol!r}; expected e.g. BTC/USD")
    return f"{base}-{quote}"
