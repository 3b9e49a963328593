"""Kraken spot (WebSocket v2) as data: URLs, channel names, pair precisions.

Kraken's book checksum is computed from prices and sizes printed with the pair's
price and quantity precision, so the precisions are part of the market data a
book needs. They come from three places, later ones overriding earlier ones:

1. ``PAIR_PRECISIONS`` below: the major pairs, copied from Kraken's REST
   ``AssetPairs`` (``pair_decimals`` is v2's ``price_precision``, ``lot_decimals``
   its ``qty_precision``), e.g. ``XXBTZUSD``: 1 and 8.
2. A REST ``AssetPairs`` reply (``tradefabric.venues.kraken.rest.asset_pair_precisions``).
3. The v2 ``instrument`` channel, which the parser learns from as it arrives.

The subscribed book depth (which the local book must be truncated to) is learned
from the ``book`` subscribe ack; ``default_book_depth`` is Kraken's default (10).
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.model.enums import InstrumentKind


class PairPrecision(msgspec.Struct, frozen=True):
    """Decimals a pair's prices and quantities are printed with on the v2 wire."""

    price: int
    qty: int


class KrakenMarket(msgspec.Struct, frozen=True, kw_only=True):
    """The Kraken spot market on WebSocket v2 and its quirks."""

    venue: str
    """Venue name used on every domain event."""
    kind: InstrumentKind
    ws_url: str
    rest_url: str
    channels: dict[str, str]
    """Our channel name -> Kraken v2 channel name."""
    ohlc_intervals: tuple[int, ...]
    """OHLC intervals Kraken v2 accepts, in minutes."""
    default_book_depth: int
    """Book depth when none was subscribed explicitly (Kraken's default)."""
    book_depths: tuple[int, ...]
    """Book depths Kraken v2 accepts."""
    checksum_levels: int
    """Levels per side Kraken's CRC32 covers, whatever the subscribed depth."""
    recent_trades_path: str
    ohlc_path: str
    asset_pairs_path: str
    pair_precisions: dict[str, PairPrecision]
    """Unified symbol (``BTC/USD``) -> precisions known before any instrument message."""


PAIR_PRECISIONS: Mapping[str, PairPrecision] = {
    "BTC/USD": PairPrecision(1, 8),
    "BTC/EUR": PairPrecision(1, 8),
    "BTC/USDT": PairPrecision(1, 8),
    "ETH/USD": PairPrecision(2, 8),
    "ETH/EUR": PairPrecision(2, 8),
    "ETH/USDT": PairPrecision(2, 8),
    "XRP/USD": PairPrecision(5, 8),
    "DOGE/USD": PairPrecision(7, 8),
    "USDT/USD": PairPrecision(4, 8),
    "USDC/USD": PairPrecision(4, 8),
}
"""From REST ``AssetPairs`` (``ws_captures/KRAKEN.0`` and ``format_fixtures/kraken``)."""

KRAKEN_SPOT = KrakenMarket(
    venue="kraken",
    kind=InstrumentKind.SPOT,
    ws_url="wss://ws.kraken.com/v2",
    rest_url="https://api.kraken.com",
    channels={
        "trade": "trade",
        "ticker": "ticker",
        "book": "book",
        "ohlc": "ohlc",
        "instrument": "instrument",
    },
    ohlc_intervals=(1, 5, 15, 30, 60, 240, 1440, 10080, 21600),
    default_book_depth=10,
    book_depths=(10, 25, 100, 500, 1000),
    checksum_levels=10,
    recent_trades_path="/0/public/Trades",
    ohlc_path="/0/public/OHLC",
    asset_pairs_path="/0/public/AssetPairs",
    pair_precisions=dict(PAIR_PRECISIONS),
)

MARKETS: dict[str, KrakenMarket] = {KRAKEN_SPOT.venue: KRAKEN_SPOT}


def market(venue: str = "kraken") -> KrakenMarket:
    """Return the Kraken market called ``venue``."""
    found = MARKETS.get(venue)
    if found is None:
        raise ConfigError(f"unknown Kraken venue {venue!r}; expected one of {sorted(MARKETS)}")
    return found


def interval_name(minutes: int) -> str:
    """Return the unified interval name of a Kraken OHLC interval (``60`` -> ``1h``)."""
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"
