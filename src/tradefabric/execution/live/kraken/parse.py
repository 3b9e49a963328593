"""Kraken's private payloads (REST results, WS v2 ``executions``/``balances``) as reports.

Kraken prints REST numbers as strings and WS v2 numbers as JSON numbers; both
decode into the frozen wire structs below and leave as ``execution.live.reports``.
REST pairs are legacy codes (``XBTUSDT``), WS v2 symbols are ``BTC/USDT``.
"""

from __future__ import annotations

import msgspec

from tradefabric.execution.live.reports import BalanceReport, OrderStatusReport, TradeReport
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.kraken.symbols import common_asset, rest_pair_to_symbol
from tradefabric.venues.kraken.timestamps import rfc3339_to_ns

VENUE = "kraken"
_NS = 1_000_000_000

REST_STATUS: dict[str, OrderStatus] = {
    "pending": OrderStatus.SUBMITTED,
    "open": OrderStatus.ACCEPTED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}
"""REST order ``status`` -> ours; ``closed`` is FILLED (or partly, see ``_rest_status``)."""

WS_STATUS: dict[str, OrderStatus] = {
    "pending_new": OrderStatus.SUBMITTED,
    "new": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}
"""WS v2 ``order_status`` -> ours."""

ORDER_TYPES: dict[str, OrderType] = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}
TIFS: dict[str, TimeInForce] = {
    "gtc": TimeInForce.GTC, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK,
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC,
}  # fmt: skip


class RestDescr(msgspec.Struct, frozen=True):
    """An order's ``descr`` (REST)."""

    pair: str
    type: str
    ordertype: str
    price: str = "0"


class RestOrder(msgspec.Struct, frozen=True):
    """One order of ``OpenOrders`` / ``QueryOrders`` / ``ClosedOrders``."""

    status: str
    descr: RestDescr
    vol: str
    vol_exec: str
    opentm: float
    price: str = "0"
    cl_ord_id: str | None = None
    userref: int | None = None
    oflags: str = ""
    timeinforce: str = "GTC"
    closetm: float = 0.0
    reason: str | None = None


class RestTrade(msgspec.Struct, frozen=True):
    """One trade of ``TradesHistory``."""

    ordertxid: str
    pair: str
    time: float
    type: str
    price: str
    fee: str
    vol: str
    maker: bool = False


class WsFee(msgspec.Struct, frozen=True):
    """One fee of an execution."""

    asset: str
    qty: float


class WsExecution(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of an ``executions`` snapshot or update (WS v2)."""

    order_id: str
    exec_type: str
    order_status: str
    timestamp: str
    symbol: str = ""
    side: str = ""
    order_type: str = "limit"
    cl_ord_id: str | None = None
    order_qty: float = 0.0
    limit_price: float | None = None
    cum_qty: float = 0.0
    avg_price: float = 0.0
    time_in_force: str = "gtc"
    post_only: bool = False
    exec_id: str = ""
    trade_id: int | None = None
    last_qty: float = 0.0
    last_price: float = 0.0
    liquidity_ind: str = "t"
    fees: tuple[WsFee, ...] = ()
    reason: str = ""


class WsBalance(msgspec.Struct, frozen=True, kw_only=True):
    """One asset of a ``balances`` snapshot or update (WS v2)."""

    asset: str
    balance: float


def _rest_status(order: RestOrder) -> OrderStatus:
    if order.status == "closed":
        return OrderStatus.FILLED
    filled = float(order.vol_exec)
    status = REST_STATUS.get(order.status, OrderStatus.ACCEPTED)
    if status is OrderStatus.ACCEPTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return status


def rest_order(txid: str, order: RestOrder) -> OrderStatusReport:
    """Return the report of one REST order.

    ``{"status": "open", "opentm": 1688666559.8974, "cl_ord_id": "c-1", "userref": 0,
    "descr": {"pair": "XBTUSDT", "type": "buy", "ordertype": "limit", "price": "30010.0"},
    "vol": "1.25000000", "vol_exec": "0.37500000", "price": "30010.0", "oflags": "fciq,post"}``
    """
    d = order.descr
    kind = ORDER_TYPES.get(d.ordertype, OrderType.LIMIT)
    return OrderStatusReport(
        venue=VENUE, symbol=rest_pair_to_symbol(d.pair), client_order_id=order.cl_ord_id or "",
        venue_order_id=txid, side=OrderSide(d.type), order_type=kind,
        status=_rest_status(order), quantity=float(order.vol),
        price=float(d.price) if kind is OrderType.LIMIT else None,
        filled_quantity=float(order.vol_exec), avg_price=float(order.price),
        ts_event=int(max(order.opentm, order.closetm) * _NS),
        time_in_force=TIFS.get(order.timeinforce, TimeInForce.GTC),
        post_only="post" in order.oflags.split(","), reason=order.reason or "",
    )  # fmt: skip


def rest_trade(trade_id: str, trade: RestTrade, client_order_id: str) -> TradeReport:
    """Return the report of one ``TradesHistory`` trade.

    ``{"ordertxid": "OQCLML-BW3P3-BUCMWZ", "pair": "XBTUSDT", "time": 1688667796.8802,
    "type": "buy", "ordertype": "limit", "price": "30010.00000", "cost": "600.20000",
    "fee": "0.60020", "vol": "0.02000000", "maker": true}``
    """
    symbol = rest_pair_to_symbol(trade.pair)
    return TradeReport(
        venue=VENUE, symbol=symbol, client_order_id=client_order_id,
        venue_order_id=trade.ordertxid, trade_id=trade_id, side=OrderSide(trade.type),
        price=float(trade.price), quantity=float(trade.vol), fee=float(trade.fee),
        fee_currency=symbol.split("/")[1],
        liquidity=LiquiditySide.MAKER if trade.maker else LiquiditySide.TAKER,
        ts_event=int(trade.time * _NS),
    )  # fmt: skip


def ws_order(e: WsExecution, known: OrderStatusReport | None) -> OrderStatusReport:
    """Return the order status an execution reports; ``known`` fills what it leaves out.

    ``{"order_id": "OK4GJX-KSTLS-7DZZO5", "cl_ord_id": "c-1", "exec_type": "trade",
    "order_status": "partially_filled", "symbol": "BTC/USDT", "side": "buy",
    "order_type": "limit", "order_qty": 1.0, "limit_price": 26000.0, "cum_qty": 0.1,
    "avg_price": 26000.0, "exec_id": "TOKY3T-7FE7K-LXR2SQ", "trade_id": 365573,
    "last_qty": 0.1, "last_price": 26000.0, "liquidity_ind": "m",
    "fees": [{"asset": "USDT", "qty": 2.6}], "timestamp": "2023-09-22T10:33:05.709950Z"}``
    """
    base = known
    kind = ORDER_TYPES.get(e.order_type, OrderType.LIMIT)
    return OrderStatusReport(
        venue=VENUE, symbol=e.symbol or (base.symbol if base else ""),
        client_order_id=e.cl_ord_id or (base.client_order_id if base else ""),
        venue_order_id=e.order_id,
        side=OrderSide(e.side) if e.side else (base.side if base else OrderSide.BUY),
        order_type=base.order_type if base and not e.side else kind,
        status=WS_STATUS.get(e.order_status, OrderStatus.ACCEPTED),
        quantity=e.order_qty or (base.quantity if base else 0.0),
        price=e.limit_price if e.limit_price is not None else (base.price if base else None),
        filled_quantity=e.cum_qty or (base.filled_quantity if base else 0.0),
        avg_price=e.avg_price or (base.avg_price if base else 0.0),
        ts_event=rfc3339_to_ns(e.timestamp),
        time_in_force=TIFS.get(e.time_in_force, TimeInForce.GTC),
        post_only=e.post_only or (base.post_only if base else False), reason=e.reason,
    )  # fmt: skip


def ws_trade(e: WsExecution, order: OrderStatusReport) -> TradeReport:
    """Return the trade of an ``exec_type: trade`` execution.

    ``{"order_id": "OK4GJX-KSTLS-7DZZO5", "exec_type": "trade", "exec_id":
    "TOKY3T-7FE7K-LXR2SQ", "trade_id": 365573, "last_qty": 0.1, "last_price": 26000.0,
    "liquidity_ind": "t", "fees": [{"asset": "USDT", "qty": 10.4}],
    "order_status": "partially_filled", "timestamp": "2023-09-22T10:33:05.709950Z"}``

    Its id is ``exec_id``, the trade txid ``TradesHistory`` is keyed by, so a trade
    streamed and the same trade in a mass status deduplicate (``trade_id`` is the
    pair's public trade number, not ours).
    """
    fee = sum(f.qty for f in e.fees)
    fee_asset = common_asset(e.fees[0].asset) if e.fees else order.symbol.split("/")[1]
    return TradeReport(
        venue=VENUE, symbol=order.symbol, client_order_id=order.client_order_id,
        venue_order_id=e.order_id, trade_id=e.exec_id or str(e.trade_id),
        side=order.side, price=e.last_price, quantity=e.last_qty, fee=fee,
        fee_currency=fee_asset,
        liquidity=LiquiditySide.MAKER if e.liquidity_ind == "m" else LiquiditySide.TAKER,
        ts_event=rfc3339_to_ns(e.timestamp),
    )  # fmt: skip


class RestBalanceEx(msgspec.Struct, frozen=True):
    """One asset of ``BalanceEx``."""

    balance: str
    hold_trade: str = "0"


def rest_balances(result: dict[str, RestBalanceEx], ts_event: int) -> tuple[BalanceReport, ...]:
    """Return the balances of ``BalanceEx``.

    ``{"XXBT": {"balance": "1.2500000000", "hold_trade": "0.2500000000"},
    "USDT": {"balance": "100000.0000", "hold_trade": "0.0000"}}``
    """
    out = []
    for code, entry in sorted(result.items()):
        total, held = float(entry.balance), float(entry.hold_trade)
        out.append(
            BalanceReport(
                venue=VENUE,
                asset=common_asset(code),
                free=total - held,
                locked=held,
                ts_event=ts_event,
            )
        )
    return tuple(out)


def ws_balance(b: WsBalance, ts_event: int) -> BalanceReport:
    """Return a ``balances`` entry's total (WS v2 gives no split: all of it as free).

    ``{"asset": "BTC", "asset_class": "currency", "balance": 1.25,
    "wallets": [{"type": "spot", "id": "main", "balance": 1.25}]}``
    """
    return BalanceReport(
        venue=VENUE, asset=common_asset(b.asset), free=b.balance, locked=0.0, ts_event=ts_event
    )
