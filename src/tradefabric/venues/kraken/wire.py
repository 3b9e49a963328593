"""Kraken spot WebSocket v2 frames as msgspec structs.

Data frames carry ``channel`` and ``type`` (``snapshot`` or ``update``) and a
``data`` list; they form one tagged union on ``channel`` so a frame is decoded in
one pass straight into its channel's structs. Method responses (``subscribe``,
``unsubscribe``, ``pong``) carry ``method`` instead of ``channel``.

Kraken v2 sends prices and sizes as JSON numbers printed with the pair's full
precision (``45285.2``, ``0.00100000``). They are decoded to float, range-checked
in C by msgspec (a price positive and finite, a size non-negative and finite); the
book checksum re-prints them from the pair's precision, which is exact for any
number a pair's precision can represent.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from tradefabric.model.enums import AggressorSide

_LIMIT = 1e15  # rejects inf and absurd values that cannot be real prices or sizes
Price = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
Size = Annotated[float, msgspec.Meta(ge=0.0, lt=_LIMIT)]
PositiveSize = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
FrameType = Literal["snapshot", "update"]


class WireTrade(msgspec.Struct, frozen=True, gc=False):
    """One element of a ``trade`` frame's ``data``; ``side`` is the taker's."""

    symbol: str
    side: AggressorSide
    price: Price
    qty: PositiveSize
    trade_id: int
    timestamp: str
    ord_type: str = ""


class TradeFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="trade", gc=False):
    """``trade``.

    ``{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy",
    "price":105944.20,"qty":0.00027625,"ord_type":"limit","trade_id":10218208,
    "timestamp":"2023-10-06T17:35:55.440295Z"}]}``
    """

    type: FrameType
    data: tuple[WireTrade, ...]


class WireTicker(msgspec.Struct, frozen=True, gc=False):
    """One element of a ``ticker`` frame's ``data`` (best bid/ask and 24 h statistics)."""

    symbol: str
    bid: Price
    bid_qty: Size
    ask: Price
    ask_qty: Size
    last: float = 0.0
    volume: float = 0.0
    vwap: float = 0.0
    low: float = 0.0
    high: float = 0.0
    change: float = 0.0
    change_pct: float = 0.0
    timestamp: str = ""


class TickerFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="ticker", gc=False):
    """``ticker``.

    ``{"channel":"ticker","type":"snapshot","data":[{"symbol":"BTC/USD","bid":105944.20,
    "bid_qty":2.5,"ask":105944.30,"ask_qty":3.2,"last":105899.40,"volume":163.28908096,
    "vwap":105904.39279,"low":104711.00,"high":106613.10,"change":250.00,"change_pct":0.24,
    "timestamp":"2022-12-25T09:30:59.123456Z"}]}``
    """

    type: FrameType
    data: tuple[WireTicker, ...]


class WireLevel(msgspec.Struct, frozen=True, gc=False):
    """One book level; ``qty`` 0 in an update removes the price."""

    price: Price
    qty: Size


class WireBook(msgspec.Struct, frozen=True, gc=False):
    """One element of a ``book`` frame's ``data``; ``checksum`` is CRC32 of the top 10."""

    symbol: str
    bids: tuple[WireLevel, ...]
    asks: tuple[WireLevel, ...]
    checksum: Annotated[int, msgspec.Meta(ge=0, lt=2**32)]
    timestamp: str = ""


class BookFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="book", gc=False):
    """``book``.

    ``{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":105944.20,
    "qty":0.250}],"asks":[],"checksum":2114181697,"timestamp":"2023-10-06T17:35:55.440295Z"}]}``
    """

    type: FrameType
    data: tuple[WireBook, ...]


class WireOhlc(msgspec.Struct, frozen=True, gc=False):
    """One element of an ``ohlc`` frame's ``data``: the bar so far of ``interval`` minutes."""

    symbol: str
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size
    vwap: Size
    trades: Annotated[int, msgspec.Meta(ge=0)]
    interval_begin: str
    interval: Annotated[int, msgspec.Meta(gt=0)]
    timestamp: str = ""


class OhlcFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="ohlc", gc=False):
    """``ohlc``.

    ``{"channel":"ohlc","type":"update","data":[{"symbol":"BTC/USD","interval":1,
    "interval_begin":"2023-10-04T16:25:00.000000000Z","open":106038.2,"high":106044.3,
    "low":106038.1,"close":106040.1,"volume":30927.68066226,"vwap":106039.6,"trades":12}]}``
    """

    type: FrameType
    data: tuple[WireOhlc, ...]


class WirePair(msgspec.Struct, frozen=True, gc=False):
    """One pair of the ``instrument`` channel (only what the adapter uses)."""

    symbol: str
    price_precision: Annotated[int, msgspec.Meta(ge=0, le=18)]
    qty_precision: Annotated[int, msgspec.Meta(ge=0, le=18)]


class WireInstruments(msgspec.Struct, frozen=True, gc=False):
    """The ``data`` object of an ``instrument`` frame."""

    pairs: tuple[WirePair, ...] = ()


class InstrumentFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="instrument", gc=False):
    """``instrument``.

    ``{"channel":"instrument","type":"snapshot","data":{"assets":[],"pairs":[{"symbol":"BTC/USD",
    "base":"BTC","quote":"USD","status":"online","qty_precision":8,"qty_increment":0.00000001,
    "price_precision":1,"cost_precision":5,"price_increment":0.1,"qty_min":0.0001}]}}``
    """

    type: FrameType
    data: WireInstruments


class HeartbeatFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="heartbeat", gc=False):
    """``heartbeat``, about once a second while subscribed: ``{"channel":"heartbeat"}``."""


class WireStatus(msgspec.Struct, frozen=True, gc=False):
    """One element of a ``status`` frame's ``data``."""

    system: str = ""
    api_version: str = ""
    version: str = ""
    connection_id: int = 0


class StatusFrame(msgspec.Struct, frozen=True, tag_field="channel", tag="status", gc=False):
    """``status``, on connect and on every change of the exchange's state.

    ``{"channel":"status","type":"update","data":[{"api_version":"v2",
    "connection_id":12393906104898154338,"system":"online","version":"2.0.4"}]}``
    """

    data: tuple[WireStatus, ...] = ()
    type: str = "update"


DataFrame = TradeFrame | TickerFrame | BookFrame | OhlcFrame | InstrumentFrame
ChannelFrame = DataFrame | HeartbeatFrame | StatusFrame


class WireMethodResult(msgspec.Struct, frozen=True, gc=False):
    """The ``result`` of a subscribe/unsubscribe response."""

    channel: str = ""
    symbol: str = ""
    depth: int = 0
    interval: int = 0
    snapshot: bool = True


class MethodResponse(msgspec.Struct, frozen=True, gc=False):
    """A response to a request: ``subscribe``, ``unsubscribe`` or ``pong``.

    ``{"method":"subscribe","result":{"channel":"ticker","symbol":"BTC/USD","snapshot":true},
    "success":true,"time_in":"2023-09-25T09:04:31.742599Z",
    "time_out":"2023-09-25T09:04:31.742648Z","req_id":1}``
    """

    method: str
    success: bool = True
    result: WireMethodResult | None = None
    error: str = ""
    symbol: str = ""
    req_id: int = 0


class FrameHeader(msgspec.Struct, frozen=True, gc=False):
    """What every v2 frame starts with; used to classify a frame the union rejected."""

    channel: str = ""
    method: str = ""
