"""Bybit v5 private payloads (REST results and stream topics) and the reports they become.

Numbers arrive as decimal strings ("" when unset) and times as ms strings; each
payload is decoded into a struct that names its fields as Bybit does, then turned
into the venue-neutral reports of ``execution.live.reports``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.bybit.private.categories import PrivateCategory
from tradefabric.venues.bybit.symbols import split_symbol, unified_symbol

_MS = 1_000_000

ORDER_STATUSES: dict[str, OrderStatus] = {
    "Created": OrderStatus.SUBMITTED,
    "New": OrderStatus.ACCEPTED,
    "Untriggered": OrderStatus.ACCEPTED,
    "Triggered": OrderStatus.ACCEPTED,
    "Active": OrderStatus.ACCEPTED,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}
"""Bybit ``orderStatus`` -> ours. A post-only order that would take is acknowledged
(``New``) and then ``Cancelled`` with ``rejectReason`` EC_PostOnlyWillTakeLiquidity:
it was accepted first, so it ends cancelled, never rejected."""

OPEN_STATUSES = frozenset({"Created", "New", "Untriggered", "PartiallyFilled", "Active"})
_SIDES = {"Buy": OrderSide.BUY, "Sell": OrderSide.SELL}
_TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}
NO_REASON = frozenset({"", "EC_NoError", "UNKNOWN"})
POST_ONLY_WOULD_TAKE = "EC_PostOnlyWillTakeLiquidity"


def num(text: str) -> float:
    """Return a Bybit decimal string as a float ("" is 0)."""
    return float(text) if text else 0.0


def ms_to_ns(text: str | int) -> int:
    """Return a Bybit ms timestamp (string or int) in ns."""
    return int(text) * _MS if text not in ("", 0) else 0


class WireOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order, as ``/v5/order/realtime``, ``/v5/order/history`` and the ``order`` topic list it.

    ``{"category":"spot","symbol":"BTCUSDT","orderId":"1791826592357648896",
    "orderLinkId":"s1-7","side":"Buy","orderType":"Limit","price":"56800.00",
    "qty":"0.010000","timeInForce":"PostOnly","orderStatus":"Cancelled",
    "cancelType":"UNKNOWN","rejectReason":"EC_PostOnlyWillTakeLiquidity",
    "avgPrice":"","leavesQty":"0.000000","cumExecQty":"0.000000","cumExecValue":"0",
    "cumExecFee":"0","reduceOnly":false,"createdTime":"1723161255012",
    "updatedTime":"1723161255013"}``
    """

    symbol: str
    orderId: str  # noqa: N815  (Bybit's field names)
    orderLinkId: str = ""  # noqa: N815
    side: Literal["Buy", "Sell"]
    orderType: str  # noqa: N815
    price: str = ""
    qty: str
    timeInForce: str = "GTC"  # noqa: N815
    orderStatus: str  # noqa: N815
    cancelType: str = "UNKNOWN"  # noqa: N815
    rejectReason: str = "EC_NoError"  # noqa: N815
    avgPrice: str = ""  # noqa: N815
    cumExecQty: str = "0"  # noqa: N815
    reduceOnly: bool = False  # noqa: N815
    updatedTime: str = "0"  # noqa: N815

    def reason(self) -> str:
        """Return why the order ended as Bybit said ("" when it gave no reason)."""
        if self.rejectReason not in NO_REASON:
            return self.rejectReason
        return "" if self.cancelType in NO_REASON else self.cancelType


def order_report(order: WireOrder, category: PrivateCategory) -> OrderStatusReport:
    """Return the report of one Bybit order."""
    price = num(order.price)
    return OrderStatusReport(
        venue=category.venue,
        symbol=unified_symbol(order.symbol, category.market),
        client_order_id=order.orderLinkId,
        venue_order_id=order.orderId,
        side=_SIDES[order.side],
        order_type=OrderType.MARKET if order.orderType == "Market" else OrderType.LIMIT,
        status=ORDER_STATUSES.get(order.orderStatus, OrderStatus.ACCEPTED),
        quantity=num(order.qty),
        price=price if order.orderType != "Market" and price > 0 else None,
        filled_quantity=num(order.cumExecQty),
        avg_price=num(order.avgPrice),
        ts_event=ms_to_ns(order.updatedTime),
        time_in_force=_TIFS.get(order.timeInForce, TimeInForce.GTC),
        post_only=order.timeInForce == "PostOnly",
        reduce_only=order.reduceOnly,
        reason=order.reason(),
    )


class WireExecution(msgspec.Struct, frozen=True, kw_only=True):
    """One execution, as ``/v5/execution/list`` and the ``execution`` topic list it.

    ``{"category":"spot","symbol":"BTCUSDT","orderId":"1791826592357648897",
    "orderLinkId":"s1-8","side":"Buy","execId":"2100000000000000001",
    "execPrice":"56812.34","execQty":"0.002000","execFee":"0.000002","feeCurrency":"BTC",
    "execType":"Trade","isMaker":false,"execTime":"1723161256001"}``
    """

    symbol: str
    orderId: str  # noqa: N815
    orderLinkId: str = ""  # noqa: N815
    side: Literal["Buy", "Sell"]
    execId: str  # noqa: N815
    execPrice: str  # noqa: N815
    execQty: str  # noqa: N815
    execFee: str = "0"  # noqa: N815
    feeCurrency: str = ""  # noqa: N815
    execType: str = "Trade"  # noqa: N815
    isMaker: bool = False  # noqa: N815
    execTime: str  # noqa: N815


def fee_currency(execution: WireExecution, category: PrivateCategory) -> str:
    """Return the coin a fee was charged in: as stated, else by the category's rule."""
    if execution.feeCurrency:
        return execution.feeCurrency
    base, quote = split_symbol(execution.symbol)
    if category.buy_fee_in_base and execution.side == "Buy":
        return base
    return category.scope_value or quote


def trade_report(execution: WireExecution, category: PrivateCategory) -> TradeReport:
    """Return the report of one execution (only ``execType`` Trade is a fill of ours)."""
    return TradeReport(
        venue=category.venue,
        symbol=unified_symbol(execution.symbol, category.market),
        client_order_id=execution.orderLinkId,
        venue_order_id=execution.orderId,
        trade_id=execution.execId,
        side=_SIDES[execution.side],
        price=num(execution.execPrice),
        quantity=num(execution.execQty),
        fee=num(execution.execFee),
        fee_currency=fee_currency(execution, category),
        liquidity=LiquiditySide.MAKER if execution.isMaker else LiquiditySide.TAKER,
        ts_event=ms_to_ns(execution.execTime),
    )


class WireCoin(msgspec.Struct, frozen=True, kw_only=True):
    """One coin of a unified wallet: ``{"coin":"USDT","walletBalance":"10000","locked":"568"}``."""

    coin: str
    walletBalance: str = "0"  # noqa: N815
    locked: str = "0"
    totalOrderIM: str = "0"  # noqa: N815


class WireWallet(msgspec.Struct, frozen=True, kw_only=True):
    """One account of ``/v5/account/wallet-balance`` or the ``wallet`` topic.

    ``{"accountType":"UNIFIED","coin":[{"coin":"USDT","walletBalance":"10000.00",
    "locked":"568.00","totalOrderIM":"0"},{"coin":"BTC","walletBalance":"0.5","locked":"0"}]}``
    """

    accountType: str = "UNIFIED"  # noqa: N815
    coin: tuple[WireCoin, ...] = ()


def balance_reports(wallet: WireWallet, venue: str, ts_event: int) -> list[BalanceReport]:
    """Return one balance per coin; what orders hold (spot ``locked``, linear margin) is locked."""
    reports = []
    for coin in wallet.coin:
        total = num(coin.walletBalance)
        held = num(coin.locked) + num(coin.totalOrderIM)
        reports.append(
            BalanceReport(
                venue=venue, asset=coin.coin, free=total - held, locked=held, ts_event=ts_event
            )
        )
    return reports


class WirePosition(msgspec.Struct, frozen=True, kw_only=True):
    """One position of ``/v5/position/list`` (``avgPrice``) or the ``position`` topic.

    ``{"category":"linear","symbol":"BTCUSDT","side":"Sell","size":"0.010",
    "avgPrice":"56810.5","entryPrice":"56810.5","updatedTime":"1723161256001"}``
    """

    symbol: str
    side: str = ""
    size: str = "0"
    avgPrice: str = ""  # noqa: N815
    entryPrice: str = ""  # noqa: N815
    updatedTime: str = "0"  # noqa: N815


def position_report(position: WirePosition, category: PrivateCategory) -> PositionReport:
    """Return a signed position (Bybit reports ``side`` Sell for a short, "" when flat)."""
    sign = -1.0 if position.side == "Sell" else 1.0
    return PositionReport(
        venue=category.venue,
        symbol=unified_symbol(position.symbol, category.market),
        quantity=sign * num(position.size),
        entry_price=num(position.avgPrice or position.entryPrice),
        ts_event=ms_to_ns(position.updatedTime),
    )


class OrderList(msgspec.Struct, frozen=True):
    """``result`` of ``/v5/order/realtime`` and ``/v5/order/history`` (one page)."""

    list: tuple[WireOrder, ...] = ()
    nextPageCursor: str = ""  # noqa: N815


class ExecutionList(msgspec.Struct, frozen=True):
    """``result`` of ``/v5/execution/list`` (one page)."""

    list: tuple[WireExecution, ...] = ()
    nextPageCursor: str = ""  # noqa: N815


class WalletList(msgspec.Struct, frozen=True):
    """``result`` of ``/v5/account/wallet-balance``."""

    list: tuple[WireWallet, ...] = ()


class PositionList(msgspec.Struct, frozen=True):
    """``result`` of ``/v5/position/list`` (one page)."""

    list: tuple[WirePosition, ...] = ()
    nextPageCursor: str = ""  # noqa: N815


class OrderAck(msgspec.Struct, frozen=True):
    """``result`` of create / amend / cancel: ``{"orderId":"1791...","orderLinkId":"s1-7"}``."""

    orderId: str = ""  # noqa: N815
    orderLinkId: str = ""  # noqa: N815
