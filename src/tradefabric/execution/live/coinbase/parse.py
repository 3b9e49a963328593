"""Coinbase Advanced Trade's private payloads (REST orders, fills, accounts; ``user``) as reports.

Coinbase prints every number as a string; product ids are ``BTC-USDT``, unified
symbols ``BTC/USDT``. Times are RFC 3339.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradefabric.execution.live.coinbase.fills import cumulative_id
from tradefabric.execution.live.reports import BalanceReport, OrderStatusReport, TradeReport
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.coinbase.markets import unified_symbol
from tradefabric.venues.coinbase.timestamps import parse_rfc3339_ns as rfc3339_to_ns

VENUE = "coinbase"

STATUS: dict[str, OrderStatus] = {
    "PENDING": OrderStatus.SUBMITTED, "QUEUED": OrderStatus.SUBMITTED,
    "OPEN": OrderStatus.ACCEPTED, "FILLED": OrderStatus.FILLED,
    "CANCEL_QUEUED": OrderStatus.CANCEL_PENDING, "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED, "FAILED": OrderStatus.REJECTED,
}  # fmt: skip
"""Coinbase order ``status`` -> ours (OPEN with a fill is PARTIALLY_FILLED)."""

TIFS: dict[str, TimeInForce] = {
    "GOOD_UNTIL_CANCELLED": TimeInForce.GTC, "IMMEDIATE_OR_CANCEL": TimeInForce.IOC,
    "FILL_OR_KILL": TimeInForce.FOK,
}  # fmt: skip


class LimitConfig(msgspec.Struct, frozen=True):
    """The body of a ``limit_limit_gtc``-like configuration."""

    base_size: str = "0"
    limit_price: str = "0"
    post_only: bool = False


class OrderConfiguration(msgspec.Struct, frozen=True):
    """``order_configuration``: exactly one of these is set."""

    limit_limit_gtc: LimitConfig | None = None
    limit_limit_fok: LimitConfig | None = None
    sor_limit_ioc: LimitConfig | None = None
    market_market_ioc: LimitConfig | None = None

    def body(self) -> tuple[OrderType, LimitConfig]:
        """Return the order type and the one configuration set."""
        for cfg in (self.limit_limit_gtc, self.limit_limit_fok, self.sor_limit_ioc):
            if cfg is not None:
                return OrderType.LIMIT, cfg
        return OrderType.MARKET, self.market_market_ioc or LimitConfig()


class RestOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order of ``historical/batch`` or ``historical/{order_id}``."""

    order_id: str
    product_id: str
    side: str
    client_order_id: str = ""
    status: str
    time_in_force: str = "GOOD_UNTIL_CANCELLED"
    created_time: str
    last_fill_time: str | None = None
    filled_size: str = "0"
    average_filled_price: str = "0"
    order_configuration: OrderConfiguration
    reject_reason: str = ""
    cancel_message: str = ""


class RestFill(msgspec.Struct, frozen=True, kw_only=True):
    """One fill of ``historical/fills``."""

    trade_id: str
    order_id: str
    trade_time: str
    price: str
    size: str
    commission: str
    product_id: str
    side: str
    liquidity_indicator: str = "UNKNOWN_LIQUIDITY_INDICATOR"


class Amount(msgspec.Struct, frozen=True):
    """``{"value": "1.23", "currency": "BTC"}``."""

    value: str
    currency: str


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """One account of ``/accounts``."""

    currency: str
    available_balance: Amount
    hold: Amount


class UserOrder(msgspec.Struct, frozen=True, kw_only=True):
    """One order of a ``user`` channel event (cumulative state)."""

    order_id: str
    client_order_id: str = ""
    cumulative_quantity: str = "0"
    leaves_quantity: str = "0"
    avg_price: str = "0"
    total_fees: str = "0"
    status: str
    product_id: str
    creation_time: str
    order_side: str
    order_type: str = "Limit"
    limit_price: str = ""
    post_only: bool = False
    time_in_force: str = "GOOD_UNTIL_CANCELLED"
    cancel_reason: str = ""
    reject_reason: str = ""


def _status(status: str, filled: Decimal) -> OrderStatus:
    ours = STATUS.get(status, OrderStatus.ACCEPTED)
    if ours is OrderStatus.ACCEPTED and filled > 0:
        return OrderStatus.PARTIALLY_FILLED
    return ours


def rest_order(o: RestOrder) -> OrderStatusReport:
    """Return the report of one REST order.

    ``{"order_id": "0e0c0f4e-...", "product_id": "BTC-USDT", "side": "BUY",
    "client_order_id": "c-1", "status": "OPEN", "time_in_force": "GOOD_UNTIL_CANCELLED",
    "created_time": "2026-12-04T01:00:00.123Z", "filled_size": "0.001",
    "average_filled_price": "57000.01", "order_configuration": {"limit_limit_gtc":
    {"base_size": "0.002", "limit_price": "57000.01", "post_only": false}}}``
    """
    kind, cfg = o.order_configuration.body()
    filled = Decimal(o.filled_size or "0")
    ts = o.last_fill_time or o.created_time
    return OrderStatusReport(
        venue=VENUE, symbol=unified_symbol(o.product_id), client_order_id=o.client_order_id,
        venue_order_id=o.order_id, side=OrderSide(o.side.lower()), order_type=kind,
        status=_status(o.status, filled), quantity=float(cfg.base_size),
        price=float(cfg.limit_price) if kind is OrderType.LIMIT else None,
        filled_quantity=float(filled), avg_price=float(o.average_filled_price or "0"),
        ts_event=rfc3339_to_ns(ts), time_in_force=TIFS.get(o.time_in_force, TimeInForce.GTC),
        post_only=cfg.post_only, reason=o.reject_reason or o.cancel_message,
    )  # fmt: skip


def user_order(o: UserOrder, ts_event: int) -> OrderStatusReport:
    """Return the status of one ``user`` channel order.

    ``{"order_id": "0e0c0f4e-...", "client_order_id": "c-1", "cumulative_quantity":
    "0.001", "leaves_quantity": "0.001", "avg_price": "57000.01", "total_fees":
    "0.34200006", "status": "OPEN", "product_id": "BTC-USDT", "creation_time":
    "2026-12-04T01:00:00.123Z", "order_side": "BUY", "order_type": "Limit",
    "limit_price": "57000.01", "time_in_force": "GOOD_UNTIL_CANCELLED"}``
    """
    filled = Decimal(o.cumulative_quantity or "0")
    limit = o.order_type.lower() == "limit"
    return OrderStatusReport(
        venue=VENUE, symbol=unified_symbol(o.product_id), client_order_id=o.client_order_id,
        venue_order_id=o.order_id, side=OrderSide(o.order_side.lower()),
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        status=_status(o.status, filled),
        quantity=float(filled + Decimal(o.leaves_quantity or "0")),
        price=float(o.limit_price) if limit and o.limit_price else None,
        filled_quantity=float(filled), avg_price=float(o.avg_price or "0"), ts_event=ts_event,
        time_in_force=TIFS.get(o.time_in_force, TimeInForce.GTC), post_only=o.post_only,
        reason=o.reject_reason or o.cancel_reason,
    )  # fmt: skip


def rest_trades(fills: list[RestFill], client_ids: dict[str, str]) -> list[TradeReport]:
    """Return REST fills as trades keyed by cumulative state (see ``fills``).

    ``{"entry_id": "22222-2222222-22222222", "trade_id": "1111-11111-111111",
    "order_id": "0e0c0f4e-...", "trade_time": "2026-12-04T01:00:01.5Z", "trade_type":
    "FILL", "price": "57000.01", "size": "0.001", "commission": "0.34200006",
    "product_id": "BTC-USDT", "liquidity_indicator": "TAKER", "side": "BUY"}``
    """
    ordered = sorted(fills, key=lambda f: (rfc3339_to_ns(f.trade_time), f.trade_id))
    running: dict[str, Decimal] = {}
    out = []
    for f in ordered:
        cum = running.get(f.order_id, Decimal(0)) + Decimal(f.size)
        running[f.order_id] = cum
        symbol = unified_symbol(f.product_id)
        out.append(
            TradeReport(
                venue=VENUE,
                symbol=symbol,
                client_order_id=client_ids.get(f.order_id, ""),
                venue_order_id=f.order_id,
                trade_id=cumulative_id(f.order_id, cum),
                side=OrderSide(f.side.lower()),
                price=float(f.price),
                quantity=float(f.size),
                fee=float(f.commission),
                fee_currency=symbol.split("/")[1],
                liquidity=LiquiditySide.MAKER
                if f.liquidity_indicator == "MAKER"
                else LiquiditySide.TAKER,
                ts_event=rfc3339_to_ns(f.trade_time),
            )
        )
    return out


def balances(accounts: list[Account], ts_event: int) -> tuple[BalanceReport, ...]:
    """Return ``/accounts`` as balances.

    ``{"uuid": "8bfc20d7-...", "name": "BTC Wallet", "currency": "BTC",
    "available_balance": {"value": "1.00000000", "currency": "BTC"},
    "hold": {"value": "0.00200000", "currency": "BTC"}, "type": "ACCOUNT_TYPE_CRYPTO"}``
    """
    return tuple(
        BalanceReport(
            venue=VENUE,
            asset=a.currency,
            free=float(a.available_balance.value),
            locked=float(a.hold.value),
            ts_event=ts_event,
        )
        for a in accounts
    )
