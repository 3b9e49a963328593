"""The frames to send to Bybit v5 public streams: subscribe, unsubscribe, ping.

Bybit's documented limits: spot takes at most 10 topics per ``subscribe``
request; on any public connection the ``args`` may add up to at most 21,000
characters. Bybit asks for a ``ping`` every 20 seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.venues.bybit.markets import BybitMarket
from tradefabric.venues.bybit.symbols import raw_symbol
from tradefabric.venues.bybit.wire import WireRequest

PING_INTERVAL_S = 20.0
"""How often to send ``ping_frame()``, as Bybit recommends."""

_encoder = msgspec.json.Encoder()


def topics_for(market: BybitMarket, symbols: Sequence[str], channels: Sequence[str]) -> list[str]:
    """Return the topics (``publicTrade.BTCUSDT``) of every unified symbol and channel."""
    available = market.channels
    unknown = sorted(set(channels) - set(available))
    if unknown:
        raise ConfigError(
            f"unknown Bybit channels {unknown} on {market.venue}; available: {list(available)}"
        )
    return [
        f"{available[channel]}.{raw_symbol(symbol)}" for symbol in symbols for channel in channels
    ]


def subscribe_frames(
    market: BybitMarket, symbols: Sequence[str], channels: Sequence[str], req_id: str = "sub"
) -> list[str]:
    """Return the ``subscribe`` frames for every symbol and channel, within Bybit's limits."""
    return _request_frames("subscribe", market, topics_for(market, symbols, channels), req_id)


def unsubscribe_frames(
    market: BybitMarket, topics: Sequence[str], req_id: str = "unsub"
) -> list[str]:
    """Return the ``unsubscribe`` frames for ``topics``."""
    return _request_frames("unsubscribe", market, list(topics), req_id)


def ping_frame(req_id: str = "") -> str:
    """Return the heartbeat frame ``{"op":"ping"}`` (with ``req_id`` when given)."""
    return _encoder.encode(WireRequest(op="ping", req_id=req_id)).decode()


def _request_frames(op: str, market: BybitMarket, topics: list[str], req_id: str) -> list[str]:
    if not topics:
        return []
    chars = len(_encoder.encode(topics))
    if chars > market.max_args_chars:
        raise ConfigError(
            f"{len(topics)} topics need {chars} characters of args; one Bybit connection "
            f"takes at most {market.max_args_chars}: split them over several connections"
        )
    size = market.max_args_per_subscribe or len(topics)
    chunks = [topics[i : i + size] for i in range(0, len(topics), size)]
    return [
        _encoder.encode(WireRequest(op=op, args=tuple(chunk), req_id=f"{req_id}-{n}")).decode()
        for n, chunk in enumerate(chunks, start=1)
    ]
