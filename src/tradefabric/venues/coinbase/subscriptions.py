"""Subscribe frames for the Advanced Trade market data feed.

Advanced Trade takes **one channel per subscribe message**, with a list of
product ids: ``{"type":"subscribe","product_ids":["BTC-USD"],"channel":"level2"}``.
The first subscribe must arrive within 5 s of connecting or the venue
disconnects; unauthenticated messages are rate limited (8 a second per IP), so
send these few frames and nothing per product. Every channel our feed uses
(heartbeats, ticker, level2, market_trades, candles) is public: no ``jwt`` is
needed (``user`` and ``futures_balance_summary`` are the only ones that need
one). Subscribe ``heartbeats`` too: quiet channels are closed after 60-90 s
without it. The venue answers each frame with a ``subscriptions`` ack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.venues.coinbase.markets import CoinbaseMarket, product_id


class SubscribeFrame(msgspec.Struct, frozen=True):
    """One subscribe or unsubscribe message (one channel)."""

    type: Literal["subscribe", "unsubscribe"]
    product_ids: tuple[str, ...]
    channel: str


_ENCODER = msgspec.json.Encoder()


def channel_name(market: CoinbaseMarket, channel: str) -> str:
    """Return the venue channel for ``channel``: one of our names (``book``) or a venue name."""
    if channel in market.channels:
        return market.channels[channel]
    if channel in market.channels.values():
        return channel
    raise ConfigError(
        f"unknown Coinbase channel {channel!r}; expected one of "
        f"{sorted(market.channels)} or {sorted(market.channels.values())}"
    )


def subscribe_frames(
    market: CoinbaseMarket,
    channels: Sequence[str],
    symbols: Sequence[str],
    action: Literal["subscribe", "unsubscribe"] = "subscribe",
) -> list[bytes]:
    """Return one frame per channel for unified ``symbols`` (``BTC/USD``), in channel order."""
    products = tuple(product_id(symbol) for symbol in symbols)
    return [
        _ENCODER.encode(SubscribeFrame(action, products, channel_name(market, channel)))
        for channel in channels
    ]


def resync_book_frames(market: CoinbaseMarket, symbols: Sequence[str]) -> list[bytes]:
    """Return the frames that make the venue send fresh level2 snapshots of ``symbols``.

    Used after a ``sequence_num`` gap invalidated the books: unsubscribe then
    subscribe ``level2`` on the same connection (or reconnect).
    """
    return subscribe_frames(market, ["book"], symbols, "unsubscribe") + subscribe_frames(
        market, ["book"], symbols
    )
