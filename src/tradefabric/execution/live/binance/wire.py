"""Binance's private JSON, as msgspec structs: REST answers and user stream events.

Field names are Binance's own (single letters in stream events). Numbers are
strings on the wire; they are parsed where reports are made (``parse``).
"""

from __future__ import annotations

import msgspec

# ruff: noqa: N815  (Binance's field names)


class SpotOrder(msgspec.Struct, frozen=True):
    """An order as ``GET /api/v3/order`` (and openOrders, and order entry) answers.

    ``{"symbol": "BTCUSDT", "orderId": 1000001, "orderListId": -1, "clientOrderId": "c1",
    "price": "61827.63000000", "origQty": "0.01000000", "executedQty": "0.00000000",
    "cummulativeQuoteQty": "0.00000000", "status": "NEW", "timeInForce": "GTC",
    "type": "LIMIT", "side": "BUY", "time": 1723161255342, "updateTime": 1723161255342}``
    """

    symbol: str
    orderId: int
    clientOrderId: str
    price: str
    origQty: str
    executedQty: str
    cummulativeQuoteQty: str
    status: str
    timeInForce: str
    type: str
    side: str
    time: int = 0
    updateTime: int = 0
    transactTime: int = 0


class UsdmOrder(msgspec.Struct, frozen=True):
    """An order as ``GET /fapi/v1/order`` answers.

    ``{"orderId": 1000001, "symbol": "BTCUSDT", "status": "NEW", "clientOrderId": "c1",
    "price": "56000.00", "avgPrice": "0.00", "origQty": "0.010", "executedQty": "0",
    "cumQuote": "0", "timeInForce": "GTX", "type": "LIMIT", "reduceOnly": false,
    "side": "BUY", "updateTime": 1723161255342}``
    """

    orderId: int
    symbol: str
    status: str
    clientOrderId: str
    price: str
    avgPrice: str
    origQty: str
    executedQty: str
    timeInForce: str
    type: str
    side: str
    reduceOnly: bool = False
    updateTime: int = 0
    time: int = 0


class SpotTrade(msgspec.Struct, frozen=True):
    """One row of ``GET /api/v3/myTrades``.

    ``{"symbol": "BTCUSDT", "id": 5000001, "orderId": 1000001, "price": "61837.64",
    "qty": "0.01", "commission": "0.618", "commissionAsset": "USDT",
    "time": 1723161255342, "isBuyer": true, "isMaker": false}``
    """

    symbol: str
    id: int
    orderId: int
    price: str
    qty: str
    commission: str
    commissionAsset: str
    time: int
    isBuyer: bool
    isMaker: bool


class UsdmTrade(msgspec.Struct, frozen=True):
    """One row of ``GET /fapi/v1/userTrades``.

    ``{"symbol": "BTCUSDT", "id": 5000001, "orderId": 1000001, "side": "BUY",
    "price": "56000.0", "qty": "0.010", "commission": "0.224", "commissionAsset": "USDT",
    "time": 1723161255342, "maker": true, "realizedPnl": "0"}``
    """

    symbol: str
    id: int
    orderId: int
    side: str
    price: str
    qty: str
    commission: str
    commissionAsset: str
    time: int
    maker: bool


class SpotBalance(msgspec.Struct, frozen=True):
    """``{"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"}``"""

    asset: str
    free: str
    locked: str


class SpotAccount(msgspec.Struct, frozen=True):
    """``GET /api/v3/account`` (abridged): ``{"accountType": "SPOT", "balances": [...]}``"""

    balances: list[SpotBalance]


class UsdmAsset(msgspec.Struct, frozen=True):
    """``{"asset": "USDT", "walletBalance": "100000.0", "availableBalance": "99000.0"}``"""

    asset: str
    walletBalance: str
    availableBalance: str


class UsdmPosition(msgspec.Struct, frozen=True):
    """One row of ``GET /fapi/v2/positionRisk``.

    ``{"symbol": "BTCUSDT", "positionAmt": "-0.010", "entryPrice": "56000.0",
    "positionSide": "BOTH", "updateTime": 1723161255342}``
    """

    symbol: str
    positionAmt: str
    entryPrice: str
    updateTime: int = 0


class UsdmAccount(msgspec.Struct, frozen=True):
    """``GET /fapi/v2/account`` (abridged): ``{"assets": [...], "positions": [...]}``"""

    assets: list[UsdmAsset]


class EventType(msgspec.Struct, frozen=True):
    """Just the event type of a user stream payload (``e``)."""

    e: str = ""


class ExecutionReport(msgspec.Struct, frozen=True):
    """Spot ``executionReport`` (abridged).

    ``{"e": "executionReport", "E": 1723161255342, "s": "BTCUSDT", "c": "c1", "S": "BUY",
    "o": "LIMIT", "f": "GTC", "q": "0.01000000", "p": "61827.63000000", "C": "",
    "x": "TRADE", "X": "FILLED", "i": 1000001, "l": "0.01000000", "z": "0.01000000",
    "L": "61827.63000000", "n": "0.61827630", "N": "USDT", "T": 1723161255342,
    "t": 5000001, "m": true, "O": 1723161250000, "Z": "618.27630000"}``

    On a cancel, ``c`` is the cancel request's id and ``C`` the order's own.
    """

    E: int
    s: str
    c: str
    S: str
    o: str
    f: str
    q: str
    p: str
    x: str
    X: str
    i: int
    l: str  # noqa: E741
    z: str
    L: str
    n: str
    T: int
    t: int
    Z: str
    C: str = ""
    N: str | None = None
    m: bool = False


class AccountBalance(msgspec.Struct, frozen=True):
    """``{"a": "USDT", "f": "99381.72", "l": "0.00"}``"""

    a: str
    f: str
    l: str  # noqa: E741


class OutboundAccountPosition(msgspec.Struct, frozen=True):
    """Spot ``outboundAccountPosition``.

    ``{"e": "outboundAccountPosition", "E": 1723161255342, "u": 1723161255342,
    "B": [{"a": "BTC", "f": "1.01", "l": "0.00"}, {"a": "USDT", "f": "99381.72", "l": "0.00"}]}``
    """

    E: int
    B: list[AccountBalance]


class WsApiMessage(msgspec.Struct, frozen=True):
    """A WebSocket API frame: an answer (``id``, ``status``) or a user stream event.

    ``{"id": "7", "status": 200, "result": {...}}``,
    ``{"id": "7", "status": 400, "error": {"code": -2010, "msg": "..."}}``,
    ``{"subscriptionId": 0, "event": {"e": "executionReport", ...}}``
    """

    id: str | int | None = None
    status: int = 0
    result: msgspec.Raw = msgspec.Raw(b"")
    """Empty when the frame has none."""
    error: dict[str, object] | None = None
    subscriptionId: int | None = None
    event: msgspec.Raw = msgspec.Raw(b"")


class FuturesOrderUpdate(msgspec.Struct, frozen=True):
    """The ``o`` of USD-M ``ORDER_TRADE_UPDATE``."""

    s: str
    c: str
    S: str
    o: str
    f: str
    q: str
    p: str
    ap: str
    x: str
    X: str
    i: int
    l: str  # noqa: E741
    z: str
    L: str
    T: int
    t: int
    n: str = "0"
    N: str = ""
    m: bool = False
    R: bool = False


class OrderTradeUpdate(msgspec.Struct, frozen=True):
    """USD-M ``ORDER_TRADE_UPDATE``.

    ``{"e": "ORDER_TRADE_UPDATE", "E": 1723161255342, "T": 1723161255342, "o": {"s": "BTCUSDT",
    "c": "c1", "S": "SELL", "o": "MARKET", "f": "GTC", "q": "0.010", "p": "0", "ap": "56000.1",
    "x": "TRADE", "X": "FILLED", "i": 1000001, "l": "0.010", "z": "0.010", "L": "56000.1",
    "N": "USDT", "n": "0.224", "T": 1723161255342, "t": 5000001, "m": false, "R": false}}``
    """

    E: int
    o: FuturesOrderUpdate


class FuturesBalance(msgspec.Struct, frozen=True):
    """``{"a": "USDT", "wb": "99999.77", "cw": "99999.77", "bc": "0"}``"""

    a: str
    wb: str
    cw: str


class FuturesPosition(msgspec.Struct, frozen=True):
    """``{"s": "BTCUSDT", "pa": "-0.010", "ep": "56000.1", "ps": "BOTH"}``"""

    s: str
    pa: str
    ep: str


class FuturesAccountData(msgspec.Struct, frozen=True):
    """The ``a`` of ``ACCOUNT_UPDATE``."""

    B: list[FuturesBalance] = []
    P: list[FuturesPosition] = []


class AccountUpdate(msgspec.Struct, frozen=True):
    """USD-M ``ACCOUNT_UPDATE``.

    ``{"e": "ACCOUNT_UPDATE", "E": 1723161255342, "T": 1723161255342, "a": {"m": "ORDER",
    "B": [{"a": "USDT", "wb": "99999.77", "cw": "99999.77", "bc": "0"}],
    "P": [{"s": "BTCUSDT", "pa": "-0.010", "ep": "56000.1", "ps": "BOTH"}]}}``
    """

    E: int
    a: FuturesAccountData
