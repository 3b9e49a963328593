"""The fake Kraken's private shapes: txids, REST orders and trades, WS v2 executions/balances.

The ledger numbers orders and trades; Kraken shows order txids (``OQCLML-BW3P3-BUCMWZ``)
and trade txids (``THVRQM-33VKH-UCI7BS``) on REST, with a numeric ``trade_id`` on WS v2.
REST numbers are strings at the pair's precision, WS v2 numbers are JSON numbers.
"""

from __future__ import annotations

import string

from tradefabric.model.orders import OrderStatus, OrderType, TimeInForce
from tradefabric.venues.fakevenue.private.model import (
    AccountEvent,
    ExecKind,
    OrderEvent,
    OrderView,
    VenueFill,
)
from tradefabric.venues.kraken.symbols import symbol_to_rest_pair
from tradefabric.venues.kraken.timestamps import ns_to_rfc3339

Json = dict[str, object]
_ALPHABET = string.ascii_uppercase + "234567"
_MS = 1_000_000

REST_STATUS = {
    OrderStatus.ACCEPTED: "open", OrderStatus.PARTIALLY_FILLED: "open",
    OrderStatus.FILLED: "closed", OrderStatus.CANCELLED: "canceled",
    OrderStatus.EXPIRED: "expired", OrderStatus.REJECTED: "canceled",
}  # fmt: skip
WS_STATUS = {
    OrderStatus.ACCEPTED: "new", OrderStatus.PARTIALLY_FILLED: "partially_filled",
    OrderStatus.FILLED: "filled", OrderStatus.CANCELLED: "canceled",
    OrderStatus.EXPIRED: "expired", OrderStatus.REJECTED: "canceled",
}  # fmt: skip
EXEC_TYPES = {
    ExecKind.NEW: "new", ExecKind.TRADE: "trade", ExecKind.CANCELED: "canceled",
    ExecKind.EXPIRED: "expired", ExecKind.AMENDMENT: "amended",
}  # fmt: skip
TIF_NAMES = {TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc", TimeInForce.FOK: "fok"}


def txid(prefix: str, number: int) -> str:
    """Return Kraken's 6-5-6 txid of a ledger number (``O`` orders, ``T`` trades)."""
    digits = []
    for _ in range(16):
        number, rest = divmod(number, 32)
        digits.append(_ALPHABET[rest])
    code = "".join(reversed(digits))
    return f"{prefix}{code[:5]}-{code[5:10]}-{code[10:]}"


def number_of(txid_text: str) -> int:
    """Return the ledger number of a txid (0 when it is not one of ours)."""
    code = txid_text[1:].replace("-", "")
    if len(code) != 16 or any(c not in _ALPHABET for c in code):
        return 0
    value = 0
    for c in code:
        value = value * 32 + _ALPHABET.index(c)
    return value


def _num(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def rest_order(view: OrderView, price_decimals: int, fee: float) -> Json:
    """Return one order of ``OpenOrders`` / ``QueryOrders``."""
    kind = "limit" if view.order_type is OrderType.LIMIT else "market"
    pair = symbol_to_rest_pair(view.symbol)
    price = _num(view.price or 0.0, price_decimals)
    return {
        "refid": None, "userref": 0, "cl_ord_id": view.client_order_id or None,
        "status": REST_STATUS.get(view.status, "open"),
        "opentm": view.created_ms / 1000, "starttm": 0, "expiretm": 0,
        "closetm": view.updated_ms / 1000 if not view.is_open else 0,
        "descr": {
            "pair": pair, "type": view.side.value, "ordertype": kind, "price": price,
            "price2": "0", "leverage": "none", "close": "",
            "order": f"{view.side.value} {view.quantity:.8f} {pair} @ {kind} {price}",
        },
        "vol": _num(view.quantity, 8), "vol_exec": _num(view.filled, 8),
        "cost": _num(view.quote_filled, 5), "fee": _num(fee, 5),
        "price": _num(view.avg_price, price_decimals), "stopprice": "0.00000",
        "limitprice": "0.00000", "misc": "",
        "oflags": "fciq,post" if view.post_only else "fciq",
        "timeinforce": TIF_NAMES[view.time_in_force].upper(),
    }  # fmt: skip


def rest_trade(fill: VenueFill, price_decimals: int) -> Json:
    """Return one trade of ``TradesHistory``."""
    return {
        "ordertxid": txid("O", fill.venue_order_id), "postxid": txid("P", fill.trade_id),
        "pair": symbol_to_rest_pair(fill.symbol), "time": fill.ts_ms / 1000,
        "type": fill.side.value, "ordertype": "limit" if fill.maker else "market",
        "price": _num(fill.price, price_decimals),
        "cost": _num(fill.price * fill.quantity, 5), "fee": f"{fill.fee:.8f}",
        "vol": _num(fill.quantity, 8), "margin": "0.00000", "misc": "",
        "trade_id": fill.trade_id, "maker": fill.maker,
    }  # fmt: skip


def ws_order_fields(view: OrderView) -> Json:
    """Return the order part of an execution entry."""
    fields: Json = {
        "order_id": txid("O", view.venue_order_id), "symbol": view.symbol,
        "side": view.side.value, "order_type": view.order_type.value,
        "order_qty": view.quantity, "cum_qty": view.filled, "cum_cost": view.quote_filled,
        "avg_price": view.avg_price, "time_in_force": TIF_NAMES[view.time_in_force],
        "post_only": view.post_only, "order_status": WS_STATUS.get(view.status, "new"),
        "order_userref": 0, "timestamp": ns_to_rfc3339(view.updated_ms * _MS),
    }  # fmt: skip
    if view.client_order_id:
        fields["cl_ord_id"] = view.client_order_id
    if view.price is not None:
        fields["limit_price"] = view.price
    return fields


def ws_executions(event: OrderEvent) -> list[Json]:
    """Return the execution entries of one ledger event (a filling trade adds ``filled``)."""
    view = event.order
    entry = {**ws_order_fields(view), "exec_type": EXEC_TYPES[event.kind]}
    entry["exec_id"] = txid("E", event.fill.trade_id if event.fill else view.updated_ms)
    if event.fill is None:
        return [entry]
    fill = event.fill
    entry.update(
        exec_id=txid("T", fill.trade_id), trade_id=fill.trade_id, last_qty=fill.quantity,
        last_price=fill.price, cost=fill.price * fill.quantity,
        liquidity_ind="m" if fill.maker else "t",
        fees=[{"asset": fill.fee_asset, "qty": fill.fee}],
        timestamp=ns_to_rfc3339(fill.ts_ms * _MS),
    )  # fmt: skip
    if view.status is not OrderStatus.FILLED:
        return [entry]
    entry["order_status"] = "partially_filled"
    return [entry, {**ws_order_fields(view), "exec_type": "filled"}]


def ws_balances(event: AccountEvent) -> list[Json]:
    """Return the ``balances`` update entries of an account change."""
    stamp = ns_to_rfc3339(event.ts_ms * _MS)
    return [
        {"asset": b.asset, "asset_class": "currency", "balance": b.free + b.locked,
         "type": "trade", "timestamp": stamp,
         "wallets": [{"type": "spot", "id": "main", "balance": b.free + b.locked}]}
        for b in event.balances
    ]  # fmt: skip
