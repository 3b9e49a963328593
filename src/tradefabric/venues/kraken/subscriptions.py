"""Kraken v2 request frames: subscribe, unsubscribe, ping.

``{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10,
"snapshot":true},"req_id":1}``; one frame per channel (book depth and ohlc interval
apply to every symbol of the frame).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tradefabric.core.errors import ConfigError, DataError
from tradefabric.venues.kraken.markets import KrakenMarket
from tradefabric.venues.kraken.symbols import check_symbol


class SubscribeParams(msgspec.Struct, frozen=True, omit_defaults=True):
    """The ``params`` of a subscribe/unsubscribe request."""

    channel: str
    symbol: list[str] | None = None
    depth: int = 0
    interval: int = 0
    snapshot: bool = True


class Request(msgspec.Struct, frozen=True, omit_defaults=True):
    """A v2 request frame."""

    method: str
    params: SubscribeParams | None = None
    req_id: int = 0


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """One channel for some symbols; ``depth`` for ``book``, ``interval`` (min) for ``ohlc``."""

    channel: str
    symbols: tuple[str, ...] = ()
    depth: int = 0
    interval: int = 0
    snapshot: bool = True


def _params(market: KrakenMarket, sub: Subscription) -> SubscribeParams:
    channel = market.channels.get(sub.channel)
    if channel is None:
        known = sorted(market.channels)
        raise ConfigError(f"unknown Kraken channel {sub.channel!r}; expected one of {known}")
    if sub.depth and sub.depth not in market.book_depths:
        raise ConfigError(f"Kraken book depth {sub.depth} not in {market.book_depths}")
    if sub.interval and sub.interval not in market.ohlc_intervals:
        raise ConfigError(f"Kraken ohlc interval {sub.interval} not in {market.ohlc_intervals}")
    try:
        symbols = [check_symbol(s) for s in sub.symbols] or None
    except DataError as exc:
        raise ConfigError(str(exc)) from exc
    if channel == "ohlc" and not sub.interval:
        raise ConfigError("a Kraken ohlc subscription needs an interval (minutes)")
    return SubscribeParams(channel, symbols, sub.depth, sub.interval, sub.snapshot)


def subscribe_frame(market: KrakenMarket, sub: Subscription, req_id: int = 0) -> bytes:
    """Return the frame that subscribes to ``sub``."""
    return msgspec.json.encode(Request("subscribe", _params(market, sub), req_id))


def unsubscribe_frame(market: KrakenMarket, sub: Subscription, req_id: int = 0) -> bytes:
    """Return the frame that unsubscribes from ``sub``."""
    return msgspec.json.encode(Request("unsubscribe", _params(market, sub), req_id))


def subscribe_frames(
    market: KrakenMarket,
    channels: Sequence[str],
    symbols: Sequence[str],
    *,
    depth: int = 0,
    interval: int = 1,
    first_req_id: int = 1,
) -> list[bytes]:
    """Return one subscribe frame per channel for ``symbols`` (``instrument`` takes none)."""
    frames = []
    for offset, channel in enumerate(channels):
        sub = Subscription(
            channel=channel,
            symbols=() if channel == "instrument" else tuple(symbols),
            depth=depth if channel == "book" else 0,
            interval=interval if channel == "ohlc" else 0,
        )
        frames.append(subscribe_frame(market, sub, first_req_id + offset))
    return frames


def ping_frame(req_id: int = 0) -> bytes:
    """Return an application-level ping (Kraken answers ``{"method":"pong",...}``)."""
    return msgspec.json.encode(Request("ping", None, req_id))
