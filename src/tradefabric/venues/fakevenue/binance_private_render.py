"""Binance's private JSON shapes on the fake venue: orders, trades, accounts, user events.

Spot and USD-M name the same things differently (``cummulativeQuoteQty`` vs
``cumQuote``, ``myTrades`` rows vs ``userTrades`` rows, ``executionReport`` vs
``ORDER_TRADE_UPDATE``); each has its renderer here. Numbers are strings with 8
decimals, as spot prints them (USD-M prints fewer; clients parse either).
"""

from __future__ import annotations

from tradefabric.model.orders import OrderSide, OrderStatus, OrderType
from tradefabric.venues.fakevenue.private.model import (
    AccountEvent,
    Balance,
    OrderEvent,
    OrderView,
    Position,
    VenueFill,
)

STATUS: dict[OrderStatus, str] = {
    OrderStatus.ACCEPTED: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELLED: "CANCELED",
    OrderStatus.EXPIRED: "EXPIRED",
    OrderStatus.REJECTED: "REJECTED",
}

Json = dict[str, object]


def num(value: float | None) -> str:
    """Print a number as Binance does (8 decimals; 0 for none)."""
    return f"{value or 0.0:.8f}"


def spot_type(view: OrderView) -> str:
    """Return the spot order type: a post-only limit is ``LIMIT_MAKER``."""
    if view.post_only:
        return "LIMIT_MAKER"
    return "MARKET" if view.order_type is OrderType.MARKET else "LIMIT"


def usdm_tif(view: OrderView) -> str:
    """Return the USD-M time in force: post-only is ``GTX``."""
    return "GTX" if view.post_only else view.time_in_force.value.upper()


def spot_order(view: OrderView) -> Json:
    """Render an order as ``GET /api/v3/order`` answers."""
    return {
        "symbol": view.symbol, "orderId": view.venue_order_id, "orderListId": -1,
        "clientOrderId": view.client_order_id, "price": num(view.price),
        "origQty": num(view.quantity), "executedQty": num(view.filled),
        "cummulativeQuoteQty": num(view.quote_filled), "status": STATUS[view.status],
        "timeInForce": view.time_in_force.value.upper(), "type": spot_type(view),
        "side": view.side.value.upper(), "stopPrice": num(0.0), "icebergQty": num(0.0),
        "time": view.created_ms, "updateTime": view.updated_ms, "isWorking": True,
        "workingTime": view.created_ms, "origQuoteOrderQty": num(0.0),
        "selfTradePreventionMode": "EXPIRE_MAKER",
    }  # fmt: skip


def spot_new_order(view: OrderView, fills: list[VenueFill]) -> Json:
    """Render the answer to ``POST /api/v3/order`` (``newOrderRespType=FULL``)."""
    body = spot_order(view)
    for key in ("stopPrice", "icebergQty", "time", "updateTime", "isWorking"):
        del body[key]
    body["transactTime"] = view.updated_ms
    body["fills"] = [
        {"price": num(f.price), "qty": num(f.quantity), "commission": num(f.fee),
         "commissionAsset": f.fee_asset, "tradeId": f.trade_id}
        for f in fills
    ]  # fmt: skip
    return body


def spot_cancel(view: OrderView, cancel_client_id: str) -> Json:
    """Render the answer to ``DELETE /api/v3/order``."""
    body = spot_new_order(view, [])
    del body["fills"]
    body["origClientOrderId"] = view.client_order_id
    body["clientOrderId"] = cancel_client_id
    return body


def spot_trade(fill: VenueFill) -> Json:
    """Render one row of ``GET /api/v3/myTrades``."""
    return {
        "symbol": fill.symbol, "id": fill.trade_id, "orderId": fill.venue_order_id,
        "orderListId": -1, "price": num(fill.price), "qty": num(fill.quantity),
        "quoteQty": num(fill.price * fill.quantity), "commission": num(fill.fee),
        "commissionAsset": fill.fee_asset, "time": fill.ts_ms,
        "isBuyer": fill.side is OrderSide.BUY, "isMaker": fill.maker, "isBestMatch": True,
    }  # fmt: skip


def spot_balance(balance: Balance) -> Json:
    """Render one balance of ``GET /api/v3/account``."""
    return {"asset": balance.asset, "free": num(balance.free), "locked": num(balance.locked)}


def execution_report(event: OrderEvent, cancel_client_id: str = "") -> Json:
    """Render an order event as the spot user stream's ``executionReport``."""
    view, fill = event.order, event.fill
    cancelled = event.kind.value == "CANCELED"
    return {
        "e": "executionReport", "E": event.ts_ms, "s": view.symbol,
        "c": cancel_client_id if cancelled and cancel_client_id else view.client_order_id,
        "S": view.side.value.upper(), "o": spot_type(view),
        "f": view.time_in_force.value.upper(), "q": num(view.quantity), "p": num(view.price),
        "P": num(0.0), "F": num(0.0), "g": -1,
        "C": view.client_order_id if cancelled else "", "x": event.kind.value,
        "X": STATUS[view.status], "r": "NONE", "i": view.venue_order_id,
        "l": num(fill.quantity if fill else 0.0), "z": num(view.filled),
        "L": num(fill.price if fill else 0.0), "n": num(fill.fee if fill else 0.0),
        "N": fill.fee_asset if fill else None, "T": event.ts_ms,
        "t": fill.trade_id if fill else -1, "v": 0, "I": 0, "w": view.is_open,
        "m": bool(fill and fill.maker), "M": False, "O": view.created_ms,
        "Z": num(view.quote_filled), "Y": num(fill.price * fill.quantity if fill else 0.0),
        "Q": num(0.0), "W": view.created_ms, "V": "EXPIRE_MAKER",
    }  # fmt: skip


def account_position(event: AccountEvent) -> Json:
    """Render a balance change as the spot user stream's ``outboundAccountPosition``."""
    return {
        "e": "outboundAccountPosition", "E": event.ts_ms, "u": event.ts_ms,
        "B": [{"a": b.asset, "f": num(b.free), "l": num(b.locked)} for b in event.balances],
    }  # fmt: skip


def usdm_order(view: OrderView) -> Json:
    """Render an order as ``GET /fapi/v1/order`` answers."""
    return {
        "orderId": view.venue_order_id, "symbol": view.symbol, "status": STATUS[view.status],
        "clientOrderId": view.client_order_id, "price": num(view.price),
        "avgPrice": num(view.avg_price), "origQty": num(view.quantity),
        "executedQty": num(view.filled), "cumQty": num(view.filled),
        "cumQuote": num(view.quote_filled), "timeInForce": usdm_tif(view),
        "type": view.order_type.value.upper(), "origType": view.order_type.value.upper(),
        "reduceOnly": view.reduce_only, "closePosition": False,
        "side": view.side.value.upper(), "positionSide": "BOTH", "stopPrice": num(0.0),
        "workingType": "CONTRACT_PRICE", "priceProtect": False, "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0,
        "time": view.created_ms, "updateTime": view.updated_ms,
    }  # fmt: skip


def usdm_trade(fill: VenueFill) -> Json:
    """Render one row of ``GET /fapi/v1/userTrades``."""
    return {
        "symbol": fill.symbol, "id": fill.trade_id, "orderId": fill.venue_order_id,
        "side": fill.side.value.upper(), "price": num(fill.price), "qty": num(fill.quantity),
        "realizedPnl": num(fill.realized_pnl), "quoteQty": num(fill.price * fill.quantity),
        "commission": num(fill.fee), "commissionAsset": fill.fee_asset, "time": fill.ts_ms,
        "positionSide": "BOTH", "buyer": fill.side is OrderSide.BUY, "maker": fill.maker,
    }  # fmt: skip


def usdm_position(position: Position, ts_ms: int) -> Json:
    """Render one row of ``GET /fapi/v2/positionRisk`` (also ``account``'s positions)."""
    return {
        "symbol": position.symbol, "positionAmt": num(position.quantity),
        "entryPrice": num(position.entry_price), "breakEvenPrice": num(position.entry_price),
        "markPrice": num(position.entry_price), "unRealizedProfit": num(0.0),
        "notional": num(position.quantity * position.entry_price),
        "liquidationPrice": num(0.0), "leverage": "20", "marginType": "cross",
        "positionSide": "BOTH", "updateTime": ts_ms,
    }  # fmt: skip


def order_trade_update(event: OrderEvent) -> Json:
    """Render an order event as USD-M's ``ORDER_TRADE_UPDATE``."""
    view, fill = event.order, event.fill
    order = {
        "s": view.symbol, "c": view.client_order_id, "S": view.side.value.upper(),
        "o": view.order_type.value.upper(), "f": usdm_tif(view), "q": num(view.quantity),
        "p": num(view.price), "ap": num(view.avg_price), "sp": num(0.0),
        "x": event.kind.value, "X": STATUS[view.status], "i": view.venue_order_id,
        "l": num(fill.quantity if fill else 0.0), "z": num(view.filled),
        "L": num(fill.price if fill else 0.0), "N": fill.fee_asset if fill else "USDT",
        "n": num(fill.fee if fill else 0.0), "T": event.ts_ms,
        "t": fill.trade_id if fill else 0, "b": num(0.0), "a": num(0.0),
        "m": bool(fill and fill.maker), "R": view.reduce_only, "wt": "CONTRACT_PRICE",
        "ot": view.order_type.value.upper(), "ps": "BOTH", "cp": False,
        "rp": num(fill.realized_pnl if fill else 0.0), "pP": False, "si": 0, "ss": 0,
        "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0,
    }  # fmt: skip
    return {"e": "ORDER_TRADE_UPDATE", "E": event.ts_ms, "T": event.ts_ms, "o": order}


def account_update(event: AccountEvent) -> Json:
    """Render a balance/position change as USD-M's ``ACCOUNT_UPDATE``."""
    balances = [
        {"a": b.asset, "wb": num(b.free + b.locked), "cw": num(b.free), "bc": num(0.0)}
        for b in event.balances
    ]
    positions = [
        {"s": p.symbol, "pa": num(p.quantity), "ep": num(p.entry_price),
         "bep": num(p.entry_price), "cr": num(p.realized_pnl), "up": num(0.0),
         "mt": "cross", "iw": num(0.0), "ps": "BOTH"}
        for p in event.positions
    ]  # fmt: skip
    return {
        "e": "ACCOUNT_UPDATE", "E": event.ts_ms, "T": event.ts_ms,
        "a": {"m": "ORDER", "B": balances, "P": positions},
    }  # fmt: skip
