"""The private exchange's orders, fills, balances and positions in Bybit v5's wire shapes.

Prices and sizes are printed with the decimals of the symbol's tick and lot, as
Bybit prints them; neutral rejections become Bybit's ``retCode`` per category.
"""

from __future__ import annotations

import uuid
from typing import Any

from tradefabric.model.orders import OrderSide, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.fakevenue.private.model import (
    Balance,
    OrderView,
    Position,
    RejectReason,
    VenueFill,
)
from tradefabric.venues.fakevenue.private.rules import SymbolRules

_STATUS = {
    OrderStatus.ACCEPTED: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELLED: "Cancelled",
    OrderStatus.EXPIRED: "Cancelled",
    OrderStatus.REJECTED: "Rejected",
}
_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}

RET_CODES: dict[str, dict[RejectReason, tuple[int, str]]] = {
    "spot": {
        RejectReason.PRICE_TICK: (170134, "Order price decimal too long."),
        RejectReason.PRICE_BAND: (170193, "Buy order price cannot be higher than the limit."),
        RejectReason.LOT_SIZE: (170137, "Order quantity decimal too long."),
        RejectReason.MIN_NOTIONAL: (170140, "Order value exceeded lower limit."),
        RejectReason.INSUFFICIENT_BALANCE: (170131, "Insufficient balance."),
        RejectReason.DUPLICATE_CLIENT_ID: (170141, "Duplicate clientOrderId."),
        RejectReason.UNKNOWN_SYMBOL: (10001, "params error: symbol invalid"),
        RejectReason.UNKNOWN_ORDER: (170213, "Order does not exist."),
    },
    "linear": {
        RejectReason.PRICE_TICK: (10001, "The price is not a multiple of the tick size."),
        RejectReason.PRICE_BAND: (110003, "Order price is out of permissible range."),
        RejectReason.LOT_SIZE: (10001, "The number of contracts exceeds minimum limit."),
        RejectReason.MIN_NOTIONAL: (110094, "Order does not meet minimum order value."),
        RejectReason.INSUFFICIENT_BALANCE: (110007, "ab not enough for new order"),
        RejectReason.DUPLICATE_CLIENT_ID: (110072, "OrderLinkedID is duplicate"),
        RejectReason.UNKNOWN_SYMBOL: (10001, "params error: symbol invalid"),
        RejectReason.UNKNOWN_ORDER: (110001, "order not exists or too late to cancel"),
    },
}
"""Category -> neutral reason -> (``retCode``, ``retMsg``)."""


class BybitRenderer:
    """Print one category's private payloads."""

    def __init__(self, category: str, rules: dict[str, SymbolRules]) -> None:
        self.category = category
        self._rules = rules
        self._tick_decimals = {s: _decimals(r.tick) for s, r in rules.items()}
        self._lot_decimals = {s: _decimals(r.lot) for s, r in rules.items()}

    def price(self, symbol: str, value: float) -> str:
        """Print a price with the decimals of ``symbol``'s tick ("" for 0)."""
        return f"{value:.{self._tick_decimals[symbol]}f}" if value else ""

    def qty(self, symbol: str, value: float) -> str:
        """Print a quantity with the decimals of ``symbol``'s lot."""
        return f"{value:.{self._lot_decimals[symbol]}f}"

    def value(self, amount: float) -> str:
        """Print an amount of money (8 decimals, trailing zeros dropped)."""
        text = f"{amount:.8f}".rstrip("0").rstrip(".")
        return text if text not in ("", "-0") else "0"

    def order(self, view: OrderView, end_reason: str = "") -> dict[str, Any]:
        """Return one order as ``/v5/order/realtime`` and the ``order`` topic list it."""
        s = view.symbol
        post_only_cancel = end_reason.startswith("EC_")
        return {
            "category": self.category, "symbol": s, "orderId": str(view.venue_order_id),
            "orderLinkId": view.client_order_id,
            "side": "Buy" if view.side is OrderSide.BUY else "Sell",
            "orderType": "Market" if view.order_type is OrderType.MARKET else "Limit",
            "price": self.price(s, view.price or 0.0), "qty": self.qty(s, view.quantity),
            "timeInForce": "PostOnly" if view.post_only else _TIF[view.time_in_force],
            "orderStatus": self._status(view),
            "cancelType": "UNKNOWN" if post_only_cancel or not end_reason else end_reason,
            "rejectReason": end_reason if post_only_cancel else "EC_NoError",
            "avgPrice": self.value(view.avg_price) if view.filled else "",
            "leavesQty": self.qty(s, 0.0 if not view.is_open else view.quantity - view.filled),
            "cumExecQty": self.qty(s, view.filled), "cumExecValue": self.value(view.quote_filled),
            "cumExecFee": "0", "reduceOnly": view.reduce_only,
            "createdTime": str(view.created_ms), "updatedTime": str(view.updated_ms),
        }  # fmt: skip

    def _status(self, view: OrderView) -> str:
        ended_partly = view.filled > 0 and view.status in (
            OrderStatus.CANCELLED,
            OrderStatus.EXPIRED,
        )
        if ended_partly and self.category == "spot":
            return "PartiallyFilledCanceled"  # spot's own status for it
        return _STATUS[view.status]

    def execution(self, fill: VenueFill, order: OrderView) -> dict[str, Any]:
        """Return one fill as ``/v5/execution/list`` and the ``execution`` topic list it."""
        s = fill.symbol
        return {
            "category": self.category, "symbol": s, "orderId": str(fill.venue_order_id),
            "orderLinkId": fill.client_order_id,
            "side": "Buy" if fill.side is OrderSide.BUY else "Sell",
            "orderPrice": self.price(s, order.price or 0.0),
            "orderQty": self.qty(s, order.quantity),
            "leavesQty": self.qty(s, max(0.0, order.quantity - order.filled)),
            "orderType": "Market" if order.order_type is OrderType.MARKET else "Limit",
            "execId": str(fill.trade_id), "execPrice": self.price(s, fill.price),
            "execQty": self.qty(s, fill.quantity), "execFee": self.value(fill.fee),
            "feeCurrency": fill.fee_asset, "execType": "Trade", "isMaker": fill.maker,
            "execValue": self.value(fill.price * fill.quantity), "execTime": str(fill.ts_ms),
            "execPnl": self.value(fill.realized_pnl),
        }  # fmt: skip

    def coin(self, balance: Balance) -> dict[str, str]:
        """Return one coin of the unified wallet."""
        return {
            "coin": balance.asset, "walletBalance": self.value(balance.free + balance.locked),
            "locked": self.value(balance.locked), "totalOrderIM": "0",
            "equity": self.value(balance.free + balance.locked),
        }  # fmt: skip

    def wallet(self, balances: tuple[Balance, ...]) -> dict[str, Any]:
        """Return the unified account as ``wallet-balance`` and the ``wallet`` topic list it."""
        return {"accountType": "UNIFIED", "coin": [self.coin(b) for b in balances]}

    def position(self, position: Position, ts_ms: int) -> dict[str, Any]:
        """Return one position (``avgPrice`` on REST, ``entryPrice`` on the stream: both)."""
        s = position.symbol
        side = "Buy" if position.quantity > 0 else "Sell" if position.quantity < 0 else ""
        entry = self.price(s, position.entry_price) if position.quantity else ""
        return {
            "category": self.category, "symbol": s, "side": side,
            "size": self.qty(s, abs(position.quantity)), "avgPrice": entry, "entryPrice": entry,
            "positionIdx": 0, "cumRealisedPnl": self.value(position.realized_pnl),
            "updatedTime": str(ts_ms),
        }  # fmt: skip

    def refusal(self, reason: RejectReason) -> tuple[int, str]:
        """Return Bybit's ``retCode`` and ``retMsg`` of a neutral refusal."""
        return RET_CODES[self.category][reason]


def message_id() -> str:
    """Return a fresh stream message ``id``, as Bybit stamps every push."""
    return uuid.uuid4().hex


def _decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".", 1)[1])
