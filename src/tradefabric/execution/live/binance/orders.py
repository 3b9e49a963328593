"""An order as Binance's wire parameters: type, time in force, price and size from integers.

What differs between spot and USD-M is data (``OrderEncoding``): how post-only is
said (spot ``type=LIMIT_MAKER`` without a time in force, USD-M
``timeInForce=GTX``) and whether ``reduceOnly`` exists. Prices and sizes are
rounded on the instrument's grid with integer arithmetic (``Increment``) and
printed from those integers: a limit buy rounds down, a sell up, a size down.
"""

from __future__ import annotations

from typing import Final

import msgspec

from tradefabric.core.errors import OrderRejectedError
from tradefabric.execution.precision import Precision
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderType

_TYPES: Final = {OrderType.LIMIT: "LIMIT", OrderType.MARKET: "MARKET"}


class OrderEncoding(msgspec.Struct, frozen=True, kw_only=True):
    """How one Binance market encodes an order."""

    post_only: dict[str, str]
    """Parameters that make a limit post-only (they replace ``type``/``timeInForce``)."""
    post_only_has_tif: bool
    """Whether a post-only limit still sends ``timeInForce``."""
    reduce_only: bool
    """Whether the market takes ``reduceOnly``."""
    response_type: str
    """``newOrderRespType`` asked for."""


SPOT_ENCODING: Final = OrderEncoding(
    post_only={"type": "LIMIT_MAKER"}, post_only_has_tif=False, reduce_only=False,
    response_type="RESULT",
)  # fmt: skip
USDM_ENCODING: Final = OrderEncoding(
    post_only={"timeInForce": "GTX"}, post_only_has_tif=True, reduce_only=True,
    response_type="RESULT",
)  # fmt: skip


def order_params(
    order: OrderSnapshot, raw_symbol: str, precision: Precision, encoding: OrderEncoding
) -> dict[str, str]:
    """Return the ``order.place`` / ``POST order`` parameters of ``order``."""
    kind = _TYPES.get(order.order_type)
    if kind is None:
        raise OrderRejectedError(f"binance client: order type {order.order_type} is not supported")
    buy = order.side is OrderSide.BUY
    lot_units = precision.lot.floor_units(order.quantity)
    if lot_units <= 0:
        raise OrderRejectedError(f"order {order.client_order_id}: quantity rounds to zero")
    params = {
        "symbol": raw_symbol, "side": "BUY" if buy else "SELL", "type": kind,
        "quantity": precision.lot.format(lot_units), "newClientOrderId": order.client_order_id,
        "newOrderRespType": encoding.response_type,
    }  # fmt: skip
    if order.order_type is OrderType.LIMIT:
        if order.price is None:
            raise OrderRejectedError(f"order {order.client_order_id}: a limit needs a price")
        tick = precision.tick
        units = tick.floor_units(order.price) if buy else tick.ceil_units(order.price)
        params["price"] = tick.format(units)
        params["timeInForce"] = order.time_in_force.value.upper()
        if order.post_only:
            if not encoding.post_only_has_tif:
                del params["timeInForce"]
            params.update(encoding.post_only)
    if order.reduce_only and encoding.reduce_only:
        params["reduceOnly"] = "true"
    return params
