"""Bybit v5 public WebSocket payloads as msgspec structs (spot and linear market data).

Every data frame is ``{"topic": ..., "type": ..., "ts": ..., "data": ...}``; the
``*Frame`` structs hold the envelope of one channel so a frame decodes in one
pass, straight into its payload (the parser tags them by ``topic``). Prices and
sizes arrive as decimal strings and are decoded to float by the lax decoder,
with range checks done in C by msgspec: a price must be positive and finite, a
size non-negative and finite. Field names are readable; ``msgspec.field(name=...)``
maps them to Bybit's keys.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

_LIMIT = 1e15  # rejects inf and absurd values that cannot be real prices or sizes
Price = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
Size = Annotated[float, msgspec.Meta(ge=0.0, lt=_LIMIT)]
PositiveSize = Annotated[float, msgspec.Meta(gt=0.0, lt=_LIMIT)]
Ratio = Annotated[float, msgspec.Meta(gt=-_LIMIT, lt=_LIMIT)]
Level = tuple[Price, Size]
Side = Literal["Buy", "Sell"]


class WireTrade(msgspec.Struct, frozen=True, gc=False):
    """One element of ``publicTrade.<symbol>`` ``data``; ``S`` is the taker's side.

    ``{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick",
    "i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}``
    """

    time_ms: int = msgspec.field(name="T")
    symbol: str = msgspec.field(name="s")
    side: Side = msgspec.field(name="S")
    size: PositiveSize = msgspec.field(name="v")
    price: Price = msgspec.field(name="p")
    trade_id: str = msgspec.field(name="i")
    block_trade: bool = msgspec.field(default=False, name="BT")


class TradeFrame(msgspec.Struct, frozen=True, gc=False):
    """``publicTrade.<symbol>``.

    ``{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[<WireTrade>]}``
    """

    data: tuple[WireTrade, ...]
    ts: int


class WireBook(msgspec.Struct, frozen=True, gc=False):
    """The ``data`` of ``orderbook.<depth>.<symbol>``: ``u`` update id, ``seq`` cross sequence.

    ``{"s":"XRPUSDT","b":[["1.9531","6198"]],"a":[["1.9535","8415"]],"u":20254870,
    "seq":130020239261}``
    """

    symbol: str = msgspec.field(name="s")
    bids: tuple[Level, ...] = msgspec.field(name="b")
    asks: tuple[Level, ...] = msgspec.field(name="a")
    update_id: int = msgspec.field(name="u")
    cross_seq: int = msgspec.field(default=-1, name="seq")


class BookFrame(msgspec.Struct, frozen=True, gc=False):
    """``orderbook.<depth>.<symbol>``; ``type`` is ``snapshot`` or ``delta``.

    ``{"topic":"orderbook.500.XRPUSDT","type":"delta","ts":1733011200693,
    "data":<WireBook>,"cts":1733011200691}``
    """

    type: Literal["snapshot", "delta"]
    data: WireBook
    ts: int
    cts: int = 0


class WireTicker(msgspec.Struct, frozen=True, gc=False):
    """The ``data`` of ``tickers.<symbol>``; a linear ``delta`` carries only changed fields.

    Linear: ``{"symbol":"BTCUSDT","tickDirection":"PlusTick","lastPrice":"17216.00",
    "markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761",
    "openInterestValue":"1183601235.91","turnover24h":"1570383121.943499",
    "volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212",
    "bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"}``;
    spot: ``{"symbol":"BTCUSDT","lastPrice":"21109.77","highPrice24h":"21426.99",
    "lowPrice24h":"20575","prevPrice24h":"20704.93","volume24h":"6780.866843",
    "turnover24h":"141946527.22907118","price24hPcnt":"0.0196","usdIndexPrice":"21120.24"}``.
    Funding fields and ``usdIndexPrice`` may be ``""`` (dated futures, non-collateral coins),
    so they stay text here.
    """

    symbol: str
    last_price: Price | None = msgspec.field(default=None, name="lastPrice")
    mark_price: Price | None = msgspec.field(default=None, name="markPrice")
    index_price: Price | None = msgspec.field(default=None, name="indexPrice")
    open_interest: Size | None = msgspec.field(default=None, name="openInterest")
    open_interest_value: Size | None = msgspec.field(default=None, name="openInterestValue")
    funding_rate: str | None = msgspec.field(default=None, name="fundingRate")
    next_funding_time: str | None = msgspec.field(default=None, name="nextFundingTime")
    bid_price: Size | None = msgspec.field(default=None, name="bid1Price")
    bid_size: Size | None = msgspec.field(default=None, name="bid1Size")
    ask_price: Size | None = msgspec.field(default=None, name="ask1Price")
    ask_size: Size | None = msgspec.field(default=None, name="ask1Size")
    high_24h: Price | None = msgspec.field(default=None, name="highPrice24h")
    low_24h: Price | None = msgspec.field(default=None, name="lowPrice24h")
    prev_price_24h: Price | None = msgspec.field(default=None, name="prevPrice24h")
    change_24h: Ratio | None = msgspec.field(default=None, name="price24hPcnt")
    volume_24h: Size | None = msgspec.field(default=None, name="volume24h")
    turnover_24h: Size | None = msgspec.field(default=None, name="turnover24h")
    usd_index_price: str | None = msgspec.field(default=None, name="usdIndexPrice")


class TickerFrame(msgspec.Struct, frozen=True, gc=False):
    """``tickers.<symbol>``; ``cs`` is the cross sequence.

    ``{"topic":"tickers.BTCUSDT","type":"snapshot","data":<WireTicker>,"cs":24987956059,
    "ts":1673272861686}``
    """

    data: WireTicker
    ts: int
    type: Literal["snapshot", "delta"] = "snapshot"
    cs: int = -1


class WireKline(msgspec.Struct, frozen=True, gc=False):
    """One element of ``kline.<interval>.<symbol>`` ``data``; ``confirm`` marks it closed.

    ``{"start":1672324800000,"end":1672325099999,"interval":"5","open":"16649.5",
    "close":"16677","high":"16677","low":"16608","volume":"2.081","turnover":"34666.4005",
    "confirm":false,"timestamp":1672324988882}``
    """

    start: int
    end: int
    interval: str
    open: Price
    close: Price
    high: Price
    low: Price
    volume: Size
    turnover: Size
    confirm: bool
    timestamp: int = 0


class KlineFrame(msgspec.Struct, frozen=True, gc=False):
    """``kline.<interval>.<symbol>``.

    ``{"topic":"kline.5.BTCUSDT","data":[<WireKline>],"ts":1672324988882,"type":"snapshot"}``
    """

    data: tuple[WireKline, ...]
    ts: int


class WireLiquidation(msgspec.Struct, frozen=True, gc=False):
    """One element of ``allLiquidation.<symbol>`` ``data``.

    ``{"T":1739502302929,"s":"ROSEUSDT","S":"Sell","v":"20000","p":"0.04499"}``: ``S`` is
    the liquidated *position's* side (``Buy``: a long was liquidated), ``p`` the
    bankruptcy price.
    """

    time_ms: int = msgspec.field(name="T")
    symbol: str = msgspec.field(name="s")
    position_side: Side = msgspec.field(name="S")
    size: PositiveSize = msgspec.field(name="v")
    price: Price = msgspec.field(name="p")


class LiquidationFrame(msgspec.Struct, frozen=True, gc=False):
    """``allLiquidation.<symbol>``; ``data`` is a list (documented once as a single object).

    ``{"topic":"allLiquidation.ROSEUSDT","type":"snapshot","ts":1739502303204,
    "data":[<WireLiquidation>]}``
    """

    data: tuple[WireLiquidation, ...] | WireLiquidation
    ts: int


class ControlFrame(msgspec.Struct, frozen=True, gc=False):
    """Anything without a known topic: op replies (acks, pongs) or an unknown stream.

    ``{"success":true,"ret_msg":"","conn_id":"cejreaspqfm9se7usbrg-2xh","req_id":"sub-1",
    "op":"subscribe"}``; spot pong ``{"success":true,"ret_msg":"pong","conn_id":"0970e817",
    "op":"ping"}``; option pong ``{"args":["1672916271846"],"op":"pong"}``.
    """

    topic: str = ""
    op: str = ""
    success: bool = True
    ret_msg: str = ""
    req_id: str = ""


class WireRequest(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """A request we send: ``subscribe``, ``unsubscribe`` or ``ping``.

    ``{"op":"subscribe","args":["orderbook.1.BTCUSDT","publicTrade.BTCUSDT"],"req_id":"sub-1"}``
    """

    op: str
    args: tuple[str, ...] = ()
    req_id: str = ""
