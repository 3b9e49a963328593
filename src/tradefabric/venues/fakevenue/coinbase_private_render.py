"""The fake Coinbase's private shapes: order ids, REST orders and fills, ``user`` orders.

Ledger order numbers become UUIDs (``uuid5``, so the same number always gives the
same id); numbers are strings; times RFC 3339 with microseconds.
"""

from __future__ import annotations

import uuid

from tradefabric.model.orders import OrderStatus, OrderType, TimeInForce
from tradefabric.venues.coinbase.markets import product_id
from tradefabric.venues.coinbase.timestamps import format_rfc3339_ns
from tradefabric.venues.fakevenue.private.model import OrderView, VenueFill

Json = dict[str, object]
_NAMESPACE = uuid.UUID("6f1c3a52-7a3e-4f43-9a3c-2b5e1c0d9e11")
_MS = 1_000_000

STATUS = {
    OrderStatus.ACCEPTED: "OPEN", OrderStatus.PARTIALLY_FILLED: "OPEN",
    OrderStatus.FILLED: "FILLED", OrderStatus.CANCELLED: "CANCELLED",
    OrderStatus.EXPIRED: "EXPIRED", OrderStatus.REJECTED: "FAILED",
}  # fmt: skip
TIF_NAMES = {
    TimeInForce.GTC: "GOOD_UNTIL_CANCELLED", TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "FILL_OR_KILL",
}  # fmt: skip


def order_uuid(number: int) -> str:
    """Return the venue order id of a ledger order number."""
    return str(uuid.uuid5(_NAMESPACE, f"order-{number}"))


def rfc3339(ms: int) -> str:
    """Return a wall-clock ms time as Coinbase prints it."""
    return format_rfc3339_ns(ms * _MS, 6)


def configuration(view: OrderView) -> Json:
    """Return the ``order_configuration`` an order was placed with."""
    size = f"{view.quantity:.8f}"
    if view.order_type is not OrderType.LIMIT:
        return {"market_market_ioc": {"base_size": size}}
    limit: Json = {"base_size": size, "limit_price": f"{view.price or 0.0:.2f}"}
    if view.time_in_force is TimeInForce.IOC:
        return {"sor_limit_ioc": limit}
    if view.time_in_force is TimeInForce.FOK:
        return {"limit_limit_fok": limit}
    return {"limit_limit_gtc": {**limit, "post_only": view.post_only}}


def rest_order(view: OrderView, fills: list[VenueFill]) -> Json:
    """Return one order of ``historical/batch`` / ``historical/{order_id}``."""
    fees = sum(f.fee for f in fills)
    last_fill = max((f.ts_ms for f in fills), default=0)
    return {
        "order_id": order_uuid(view.venue_order_id), "product_id": product_id(view.symbol),
        "user_id": "fake-user", "order_configuration": configuration(view),
        "side": view.side.value.upper(), "client_order_id": view.client_order_id,
        "status": STATUS[view.status], "time_in_force": TIF_NAMES[view.time_in_force],
        "created_time": rfc3339(view.created_ms),
        "completion_percentage": f"{100 * view.filled / view.quantity:.2f}",
        "filled_size": f"{view.filled:.8f}", "average_filled_price": f"{view.avg_price:.10f}",
        "number_of_fills": str(len(fills)), "filled_value": f"{view.quote_filled:.10f}",
        "pending_cancel": False, "size_in_quote": False, "total_fees": f"{fees:.10f}",
        "size_inclusive_of_fees": False,
        "total_value_after_fees": f"{view.quote_filled + fees:.10f}",
        "trigger_status": "INVALID_ORDER_TYPE",
        "order_type": "LIMIT" if view.order_type is OrderType.LIMIT else "MARKET",
        "reject_reason": "REJECT_REASON_UNSPECIFIED", "settled": not view.is_open,
        "product_type": "SPOT", "reject_message": "", "cancel_message": "",
        "order_placement_source": "RETAIL_ADVANCED", "is_liquidation": False,
        "last_fill_time": rfc3339(last_fill) if last_fill else None,
    }  # fmt: skip


def rest_fill(fill: VenueFill) -> Json:
    """Return one fill of ``historical/fills``."""
    return {
        "entry_id": str(uuid.uuid5(_NAMESPACE, f"entry-{fill.trade_id}")),
        "trade_id": str(uuid.uuid5(_NAMESPACE, f"trade-{fill.trade_id}")),
        "order_id": order_uuid(fill.venue_order_id), "trade_time": rfc3339(fill.ts_ms),
        "trade_type": "FILL", "price": f"{fill.price:.2f}", "size": f"{fill.quantity:.8f}",
        "commission": f"{fill.fee:.10f}", "product_id": product_id(fill.symbol),
        "sequence_timestamp": rfc3339(fill.ts_ms),
        "liquidity_indicator": "MAKER" if fill.maker else "TAKER", "size_in_quote": False,
        "user_id": "fake-user", "side": fill.side.value.upper(),
    }  # fmt: skip


def user_order(view: OrderView, fees: float) -> Json:
    """Return one order of a ``user`` channel event: its cumulative state."""
    return {
        "order_id": order_uuid(view.venue_order_id), "client_order_id": view.client_order_id,
        "cumulative_quantity": f"{view.filled:.8f}",
        "leaves_quantity": f"{view.quantity - view.filled if view.is_open else 0.0:.8f}",
        "avg_price": f"{view.avg_price:.10f}", "total_fees": f"{fees:.10f}",
        "status": STATUS[view.status], "product_id": product_id(view.symbol),
        "creation_time": rfc3339(view.created_ms), "order_side": view.side.value.upper(),
        "order_type": "Limit" if view.order_type is OrderType.LIMIT else "Market",
        "limit_price": f"{view.price:.2f}" if view.price is not None else "",
        "post_only": view.post_only, "time_in_force": TIF_NAMES[view.time_in_force],
        "cancel_reason": "", "reject_reason": "", "product_type": "SPOT",
        "total_value_after_fees": f"{view.quote_filled + fees:.10f}",
    }  # fmt: skip
