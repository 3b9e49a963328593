"""Coinbase Advanced Trade WebSocket payloads as msgspec structs.

Every message is an envelope ``{"channel", "client_id", "timestamp",
"sequence_num", "events": [...]}``; the envelope structs below are tagged by
``channel``, so one decode goes straight from bytes to the right struct. Prices
and sizes arrive as decimal strings and are decoded to float by the lax decoder,
with range checks done in C: a price must be positive and finite, a size
non-negative and finite (``"NaN"``, ``"-1"``, ``"inf"`` are rejected). Times stay
strings here and are parsed to int ns by ``timestamps.parse_rfc3339_ns``.
Production omits ``client_id`` (Coinbase's AsyncAPI notes), so it is optional.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

_LIMIT = 1e15  # rejects inf and absurd values that cannot be real prices or sizes
Price = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
Size = Annotated[float, msgspec.Meta(ge=0.0, lt=_LIMIT)]
PositiveSize = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
SequenceNum = Annotated[int, msgspec.Meta(ge=0)]


class WireL2Update(msgspec.Struct, frozen=True, gc=False):
    """One level of an ``l2_data`` event: the new absolute size at a price (0 removes).

    ``{"side":"bid","event_time":"2026-04-07T14:30:01.456789Z","price_level":"68900.00",
    "new_quantity":"2.00000000"}``
    """

    side: Literal["bid", "offer"]
    price_level: Price
    new_quantity: Size
    event_time: str = ""


class WireL2Event(msgspec.Struct, frozen=True, gc=False):
    """One product's ``snapshot`` (the whole book) or ``update`` in an ``l2_data`` message."""

    type: Literal["snapshot", "update"]
    product_id: str
    updates: tuple[WireL2Update, ...]


class WireL2Message(msgspec.Struct, frozen=True, tag_field="channel", tag="l2_data", gc=False):
    """``level2`` channel messages (received as ``l2_data``).

    ``{"channel":"l2_data","client_id":"","timestamp":"2026-04-07T14:30:01.456789Z",
    "sequence_num":1,"events":[{"type":"update","product_id":"BTC-USD","updates":[
    {"side":"bid","event_time":"2026-04-07T14:30:01.456789Z","price_level":"68900.00",
    "new_quantity":"2.00000000"}]}]}``
    """

    timestamp: str
    sequence_num: SequenceNum
    events: tuple[WireL2Event, ...]
    client_id: str = ""


class WireMarketTrade(msgspec.Struct, frozen=True, gc=False):
    """One trade of a ``market_trades`` event; ``side`` is the taker's (see ``markets``).

    ``{"trade_id":"995098700","product_id":"BTC-USD","price":"68900.50","size":"0.00150000",
    "side":"BUY","time":"2026-04-07T14:30:02.789012Z"}``
    """

    trade_id: str
    product_id: str
    price: Price
    size: PositiveSize
    side: Literal["BUY", "SELL"]
    time: str


class WireTradesEvent(msgspec.Struct, frozen=True, gc=False):
    """A ``snapshot`` (recent trades on subscribe) or ``update`` of ``market_trades``."""

    type: Literal["snapshot", "update"]
    trades: tuple[WireMarketTrade, ...]


class WireTradesMessage(
    msgspec.Struct, frozen=True, tag_field="channel", tag="market_trades", gc=False
):
    """``market_trades`` channel messages (trades batched over up to 250 ms).

    ``{"channel":"market_trades","client_id":"","timestamp":"2026-04-07T14:30:02.789012Z",
    "sequence_num":5,"events":[{"type":"update","trades":[{"trade_id":"995098700",
    "product_id":"BTC-USD","price":"68900.50","size":"0.00150000","side":"BUY",
    "time":"2026-04-07T14:30:02.789012Z"}]}]}``
    """

    timestamp: str
    sequence_num: SequenceNum
    events: tuple[WireTradesEvent, ...]
    client_id: str = ""


class WireTicker(msgspec.Struct, frozen=True, gc=False):
    """One product of a ``ticker`` event (24 h statistics are not decoded).

    ``{"type":"ticker","product_id":"BTC-USD","price":"68900.50","best_bid":"68900.00",
    "best_bid_quantity":"1.50000000","best_ask":"68901.00","best_ask_quantity":"0.50000000"}``
    """

    product_id: str
    best_bid: Price
    best_bid_quantity: Size
    best_ask: Price
    best_ask_quantity: Size
    price: Price | None = None


class WireTickerEvent(msgspec.Struct, frozen=True, gc=False):
    """A ``snapshot`` or ``update`` of ``ticker``."""

    type: Literal["snapshot", "update"]
    tickers: tuple[WireTicker, ...]


class WireTickerMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="ticker", gc=False):
    """``ticker`` channel messages (sent on every match).

    ``{"channel":"ticker","client_id":"","timestamp":"2026-04-07T14:30:03.000000Z",
    "sequence_num":12,"events":[{"type":"snapshot","tickers":[{"type":"ticker",
    "product_id":"BTC-USD","price":"68900.50","volume_24_h":"15328.12345678",
    "best_bid":"68900.00","best_bid_quantity":"1.50000000","best_ask":"68901.00",
    "best_ask_quantity":"0.50000000"}]}]}``
    """

    timestamp: str
    sequence_num: SequenceNum
    events: tuple[WireTickerEvent, ...]
    client_id: str = ""


class WireCandle(msgspec.Struct, frozen=True, gc=False):
    """One 5-minute candle; ``start`` is epoch seconds as a string.

    ``{"start":"1775521800","high":"68950.00","low":"68850.00","open":"68900.00",
    "close":"68920.50","volume":"42.15000000","product_id":"BTC-USD"}``
    """

    start: Annotated[int, msgspec.Meta(ge=0)]
    high: Price
    low: Price
    open: Price
    close: Price
    volume: Size
    product_id: str


class WireCandlesEvent(msgspec.Struct, frozen=True, gc=False):
    """A ``snapshot`` or ``update`` of ``candles``."""

    type: Literal["snapshot", "update"]
    candles: tuple[WireCandle, ...]


class WireCandlesMessage(msgspec.Struct, frozen=True, tag_field="channel", tag="candles", gc=False):
    """``candles`` channel messages (the running 5-minute candle, about every second).

    ``{"channel":"candles","client_id":"","timestamp":"2026-04-07T14:30:05.000000Z",
    "sequence_num":3,"events":[{"type":"update","candles":[{"start":"1775521800",
    "high":"68950.00","low":"68850.00","open":"68900.00","close":"68920.50",
    "volume":"42.15000000","product_id":"BTC-USD"}]}]}``
    """

    timestamp: str
    sequence_num: SequenceNum
    events: tuple[WireCandlesEvent, ...]
    client_id: str = ""


class WireHeartbeat(msgspec.Struct, frozen=True, gc=False):
    """One heartbeat; ``current_time`` is Go's time format, so it is kept as text.

    ``{"current_time":"2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",
    "heartbeat_counter":"3049"}`` (the counter is a string in the docs, an int in production).
    """

    heartbeat_counter: Annotated[int, msgspec.Meta(ge=0)]
    current_time: str = ""


class WireHeartbeatsMessage(
    msgspec.Struct, frozen=True, tag_field="channel", tag="heartbeats", gc=False
):
    """``heartbeats`` channel messages (one a second).

    ``{"channel":"heartbeats","client_id":"","timestamp":"2026-04-07T14:30:10.000000Z",
    "sequence_num":0,"events":[{"current_time":"2026-04-07 14:30:10.000000000+00:00",
    "heartbeat_counter":42}]}``
    """

    timestamp: str
    sequence_num: SequenceNum
    events: tuple[WireHeartbeat, ...]
    client_id: str = ""


class WireSubscriptionsEvent(msgspec.Struct, frozen=True, gc=False):
    """The channels now subscribed on the connection, each with its product ids."""

    subscriptions: dict[str, tuple[str, ...]]


class WireSubscriptionsMessage(
    msgspec.Struct, frozen=True, tag_field="channel", tag="subscriptions"
):
    """The ack of a subscribe or unsubscribe: the whole current subscription state.

    ``{"channel":"subscriptions","client_id":"","timestamp":"2026-04-07T14:30:00.000000Z",
    "sequence_num":0,"events":[{"subscriptions":{"level2":["BTC-USD"],
    "market_trades":["BTC-USD","ETH-USD"]}}]}``
    """

    timestamp: str
    sequence_num: SequenceNum
    events: tuple[WireSubscriptionsEvent, ...]
    client_id: str = ""


WireMessage = (
    WireL2Message
    | WireTradesMessage
    | WireTickerMessage
    | WireCandlesMessage
    | WireHeartbeatsMessage
    | WireSubscriptionsMessage
)
"""Every message the parser handles, tagged by ``channel``."""


class WireEnvelope(msgspec.Struct, frozen=True, gc=False):
    """The fields of any message, decoded leniently to classify a frame the union rejected.

    An error reply has no channel: ``{"type":"error","message":"failure to subscribe"}``.
    """

    channel: str = ""
    sequence_num: int = -1
    type: str = ""
    message: str = ""
    events: msgspec.Raw = msgspec.Raw(b"")
