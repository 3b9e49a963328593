"""Binance wire formats as msgspec structs (spot and USD-M futures market data).

Field names are readable; ``msgspec.field(name=...)`` maps them to Binance's
one-letter keys. Prices and sizes arrive as decimal strings and are decoded to
float by the lax decoder, with range checks done in C by msgspec: a price must
be positive and finite, a size non-negative and finite.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

_LIMIT = 1e15  # rejects inf and absurd values that cannot be real prices or sizes
Price = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
Size = Annotated[float, msgspec.Meta(ge=0.0, lt=_LIMIT)]
PositiveSize = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
Level = tuple[Price, Size]


class StreamFrame(msgspec.Struct, frozen=True, gc=False):
    """A combined-stream envelope, or a REST depth snapshot found inline in a recording.

    ``{"stream":"btcusdt@trade","data":{...}}``; ``data`` is kept raw so it is
    decoded once, straight into the struct of its stream.
    """

    stream: str = ""
    data: msgspec.Raw = msgspec.Raw(b"")
    last_update_id: int = msgspec.field(default=-1, name="lastUpdateId")


class WireTrade(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@trade``.

    ``{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000",
    "q":"0.02000000","T":1723161255342,"m":true,"M":true}`` (USD-M adds ``"X":"MARKET"``).
    """

    symbol: str = msgspec.field(name="s")
    trade_id: int = msgspec.field(name="t")
    price: Price = msgspec.field(name="p")
    size: PositiveSize = msgspec.field(name="q")
    trade_time_ms: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")


class WireAggTrade(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@aggTrade``.

    ``{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100",
    "f":100,"l":105,"T":123456785,"m":true}``
    """

    symbol: str = msgspec.field(name="s")
    agg_id: int = msgspec.field(name="a")
    price: Price = msgspec.field(name="p")
    size: PositiveSize = msgspec.field(name="q")
    trade_time_ms: int = msgspec.field(name="T")
    buyer_is_maker: bool = msgspec.field(name="m")


class WireBookTicker(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@bookTicker``; spot carries no event time, USD-M adds ``E`` and ``T``.

    ``{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000",
    "a":"61837.64000000","A":"1.54698000"}``
    """

    update_id: int = msgspec.field(name="u")
    symbol: str = msgspec.field(name="s")
    bid: Price = msgspec.field(name="b")
    bid_size: Size = msgspec.field(name="B")
    ask: Price = msgspec.field(name="a")
    ask_size: Size = msgspec.field(name="A")
    event_time_ms: int = msgspec.field(default=0, name="E")


class WireDepthUpdate(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@depth@100ms`` (spot) or ``@depth@0ms`` (USD-M, with ``pu``).

    ``{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,
    "b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"]]}``
    """

    event_time_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    first_id: int = msgspec.field(name="U")
    last_id: int = msgspec.field(name="u")
    bids: tuple[Level, ...] = msgspec.field(name="b")
    asks: tuple[Level, ...] = msgspec.field(name="a")
    prev_id: int = msgspec.field(default=-1, name="pu")


class WireDepthSnapshot(msgspec.Struct, frozen=True, gc=False):
    """REST ``GET /api/v3/depth`` (spot) or ``/fapi/v1/depth`` (USD-M, adds ``E``/``T``).

    ``{"lastUpdateId":50093239218,"bids":[["61837.63000000","3.78826000"]],
    "asks":[["61837.64000000","1.54698000"]]}``
    """

    last_update_id: int = msgspec.field(name="lastUpdateId")
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    event_time_ms: int = msgspec.field(default=0, name="E")


class WireKlineBody(msgspec.Struct, frozen=True, gc=False):
    """The ``k`` object of a kline event."""

    open_time_ms: int = msgspec.field(name="t")
    interval: str = msgspec.field(name="i")
    open: Price = msgspec.field(name="o")
    high: Price = msgspec.field(name="h")
    low: Price = msgspec.field(name="l")
    close: Price = msgspec.field(name="c")
    volume: Size = msgspec.field(name="v")
    trades: int = msgspec.field(name="n")
    closed: bool = msgspec.field(name="x")
    quote_volume: Size = msgspec.field(name="q")
    taker_buy_volume: Size = msgspec.field(name="V")


class WireKline(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@kline_<interval>``.

    ``{"e":"kline","E":1638747660000,"s":"BTCUSDT","k":{"t":1638747660000,"T":1638747719999,
    "s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025",
    "l":"0.0010","v":"1000","n":100,"x":true,"q":"1.0000","V":"500","Q":"0.500","B":"0"}}``
    """

    event_time_ms: int = msgspec.field(name="E")
    symbol: str = msgspec.field(name="s")
    kline: WireKlineBody = msgspec.field(name="k")


class WireMarkPrice(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@markPrice`` / ``@markPrice@1s`` (USD-M).

    ``{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000",
    "i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}``
    """

    event_time_ms: int = msgspec.field(name="E")
    mark_price: Price = msgspec.field(name="p")
    index_price: Price = msgspec.field(name="i")
    funding_rate: float = msgspec.field(name="r")
    next_funding_ms: int = msgspec.field(name="T")


class WireForceOrderBody(msgspec.Struct, frozen=True, gc=False):
    """The ``o`` object of a liquidation event."""

    side: str = msgspec.field(name="S")
    price: Price = msgspec.field(name="p")
    average_price: Price = msgspec.field(name="ap")
    filled: PositiveSize = msgspec.field(name="z")
    trade_time_ms: int = msgspec.field(name="T")


class WireForceOrder(msgspec.Struct, frozen=True, gc=False):
    """``<symbol>@forceOrder`` (USD-M liquidations).

    ``{"e":"forceOrder","E":1568014460893,"o":{"s":"BTCUSDT","S":"SELL","o":"LIMIT","f":"IOC",
    "q":"0.014","p":"9910","ap":"9910","X":"FILLED","l":"0.014","z":"0.014","T":1568014460893}}``
    """

    order: WireForceOrderBody = msgspec.field(name="o")


class WireOpenInterest(msgspec.Struct, frozen=True, gc=False):
    """REST ``GET /fapi/v1/openInterest``.

    ``{"openInterest":"10659.509","symbol":"BTCUSDT","time":1589437530011}``
    """

    open_interest: Size = msgspec.field(name="openInterest")
    symbol: str
    time_ms: int = msgspec.field(name="time")


class WireRestTrade(msgspec.Struct, frozen=True, gc=False):
    """One element of REST ``GET /api/v3/trades`` (``/fapi/v1/trades``).

    ``{"id":28457,"price":"4.00000100","qty":"12.00000000","quoteQty":"48.000012",
    "time":1499865549590,"isBuyerMaker":true,"isBestMatch":true}``
    """

    trade_id: int = msgspec.field(name="id")
    price: Price
    size: PositiveSize = msgspec.field(name="qty")
    time_ms: int = msgspec.field(name="time")
    buyer_is_maker: bool = msgspec.field(name="isBuyerMaker")
