"""The JSON bodies of Bybit v5 order requests, prices and sizes printed from integers.

A quantity is floored to the lot (never more than asked); a limit price is
rounded away from the market (buys down, sells up); an amended price, whose side
the request does not carry, to the nearest tick. Each number is then printed by
``Increment.format`` from its integer count of units, never from a float's repr.
"""

from __future__ import annotations

from typing import Any

from tradefabric.core.errors import OrderRejectedError
from tradefabric.execution.precision import Increment, Precision
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderType, TimeInForce
from tradefabric.venues.bybit.private.categories import PrivateCategory
from tradefabric.venues.bybit.symbols import raw_symbol

LOCAL_CODE = "local"
"""``OrderRejectedError.code`` of an order refused before it left (never sent)."""

_TIME_IN_FORCE = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
_ORDER_TYPES = {OrderType.MARKET: "Market", OrderType.LIMIT: "Limit"}


def _quantity(precision: Precision, quantity: float, client_order_id: str) -> str:
    units = precision.lot.floor_units(quantity)
    if units <= 0:
        raise OrderRejectedError(
            f"{client_order_id}: quantity {quantity} is below one lot", LOCAL_CODE
        )
    return precision.lot.format(units)


def nearest_units(increment: Increment, value: float) -> int:
    """Return ``value`` rounded to the nearest multiple of ``increment``, in units."""
    units = round(value * increment.scale)
    return (units + increment.step // 2) // increment.step * increment.step


def create_body(
    category: PrivateCategory, precision: Precision, order: OrderSnapshot
) -> dict[str, Any]:
    """Return the body of ``/v5/order/create`` for ``order``."""
    order_type = _ORDER_TYPES.get(order.order_type)
    if order_type is None:
        raise OrderRejectedError(
            f"{order.client_order_id}: {order.order_type} orders are not sent to Bybit",
            LOCAL_CODE,
        )
    buy = order.side is OrderSide.BUY
    body: dict[str, Any] = {
        "category": category.category,
        "symbol": raw_symbol(order.symbol),
        "side": "Buy" if buy else "Sell",
        "orderType": order_type,
        "qty": _quantity(precision, order.quantity, order.client_order_id),
        "orderLinkId": order.client_order_id,
    }
    if order.order_type is OrderType.LIMIT:
        if order.price is None:
            raise OrderRejectedError(f"{order.client_order_id}: limit without a price", LOCAL_CODE)
        tick = precision.tick
        units = tick.floor_units(order.price) if buy else tick.ceil_units(order.price)
        body["price"] = tick.format(units)
        body["timeInForce"] = "PostOnly" if order.post_only else _TIME_IN_FORCE[order.time_in_force]
    else:
        body["timeInForce"] = "IOC"
        if category.market_unit:
            body["marketUnit"] = category.market_unit
    if order.reduce_only and category.sends_reduce_only:
        body["reduceOnly"] = True
    return body


def amend_body(
    category: PrivateCategory,
    precision: Precision,
    symbol: str,
    client_order_id: str,
    *,
    quantity: float,
    price: float | None,
) -> dict[str, Any]:
    """Return the body of ``/v5/order/amend``: new total quantity and, when given, price."""
    body: dict[str, Any] = {
        "category": category.category,
        "symbol": raw_symbol(symbol),
        "orderLinkId": client_order_id,
        "qty": _quantity(precision, quantity, client_order_id),
    }
    if price is not None:
        body["price"] = precision.tick.format(nearest_units(precision.tick, price))
    return body


def cancel_body(category: PrivateCategory, symbol: str, client_order_id: str) -> dict[str, Any]:
    """Return the body of ``/v5/order/cancel`` by our client order id (``orderLinkId``)."""
    return {
        "category": category.category,
        "symbol": raw_symbol(symbol),
        "orderLinkId": client_order_id,
    }


def scope(category: PrivateCategory, symbol: str | None) -> dict[str, str]:
    """Return the parameters naming ``symbol``, or every order of the category when None."""
    params = {"category": category.category}
    if symbol is not None:
        params["symbol"] = raw_symbol(symbol)
    elif category.scope_param:
        params[category.scope_param] = category.scope_value
    return params
