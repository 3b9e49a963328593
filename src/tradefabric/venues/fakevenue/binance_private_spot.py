"""Binance spot's signed REST on the fake venue: order entry, queries, trades, account.

- ``POST /api/v3/order`` (LIMIT with timeInForce, LIMIT_MAKER, MARKET;
  ``newOrderRespType`` FULL), ``DELETE /api/v3/order``, ``GET /api/v3/order``
  (by ``orderId`` or ``origClientOrderId``)
- ``GET /api/v3/openOrders`` (``symbol`` optional), ``DELETE /api/v3/openOrders``
  (``symbol``; -2011 when nothing is open, as Binance answers)
- ``GET /api/v3/myTrades`` (``symbol``; ``orderId``, ``startTime``, ``fromId``,
  ``limit`` up to 1000), ``GET /api/v3/account``

The same handlers answer the WebSocket API's ``order.*`` methods.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from aiohttp import web

from tradefabric.model.orders import OrderType
from tradefabric.venues.fakevenue.binance_private_api import (
    Answer,
    Json,
    RejectCodes,
    SignedApi,
    new_client_id,
    order_id,
    order_params,
    required,
)
from tradefabric.venues.fakevenue.binance_private_auth import BinanceApiError
from tradefabric.venues.fakevenue.binance_private_render import (
    spot_balance,
    spot_cancel,
    spot_new_order,
    spot_order,
    spot_trade,
)
from tradefabric.venues.fakevenue.private.exchange import PrivateExchange, wall_ms
from tradefabric.venues.fakevenue.private.model import RejectReason, VenueFill

SPOT_CODES: Final[RejectCodes] = {
    RejectReason.PRICE_TICK: (-1013, "Filter failure: PRICE_FILTER"),
    RejectReason.PRICE_BAND: (-1013, "Filter failure: PERCENT_PRICE_BY_SIDE"),
    RejectReason.LOT_SIZE: (-1013, "Filter failure: LOT_SIZE"),
    RejectReason.MIN_NOTIONAL: (-1013, "Filter failure: NOTIONAL"),
    RejectReason.WOULD_TAKE: (-2010, "Order would immediately match and take."),
    RejectReason.INSUFFICIENT_BALANCE: (
        -2010, "Account has insufficient balance for requested action.",
    ),
    RejectReason.DUPLICATE_CLIENT_ID: (-2010, "Duplicate order sent."),
    RejectReason.UNKNOWN_SYMBOL: (-1121, "Invalid symbol."),
    RejectReason.UNKNOWN_ORDER: (-2011, "Unknown order sent."),
}  # fmt: skip
"""The ledger's refusals as Binance spot's codes (-1013 filters, -2010 new order rejected)."""

_TYPES: Final[dict[str, tuple[OrderType, bool]]] = {
    "LIMIT": (OrderType.LIMIT, False),
    "LIMIT_MAKER": (OrderType.LIMIT, True),
    "MARKET": (OrderType.MARKET, False),
}
_TRADES_DEFAULT, _TRADES_MAX = 500, 1000
NOT_FOUND = BinanceApiError(400, -2013, "Order does not exist.")


class SpotApi:
    """Binance spot's private endpoints over one account of the ledger."""

    def __init__(self, api: SignedApi, exchange: PrivateExchange) -> None:
        self.api = api
        self.exchange = exchange
        self.cancel_ids: dict[int, str] = {}
        """Venue order id -> the cancel request's client id (``c`` of a CANCELED report)."""

    def routes(self) -> list[web.RouteDef]:
        """Return the signed spot endpoints."""
        r, p = self.api.route, "/api/v3"
        return [
            r("POST", f"{p}/order", self.new_order, order_entry=True),
            r("DELETE", f"{p}/order", self.cancel),
            r("GET", f"{p}/order", self.query),
            r("GET", f"{p}/openOrders", self.open_orders),
            r("DELETE", f"{p}/openOrders", self.cancel_all),
            r("GET", f"{p}/myTrades", self.trades),
            r("GET", f"{p}/account", self.account),
        ]

    def new_order(self, params: Mapping[str, str]) -> Answer:
        """Place an order; answer as FULL (with the fills taken at arrival)."""
        kind = _TYPES.get(required(params, "type"))
        if kind is None:
            raise BinanceApiError(400, -1116, "Invalid orderType.")
        order_type, post_only = kind
        tif = "GTC"
        if order_type is OrderType.LIMIT and not post_only:
            tif = required(params, "timeInForce")
        view = self.exchange.place(order_params(params, order_type, post_only, tif))
        fills = [
            f
            for f in self.exchange.fills_of(view.symbol)
            if f.venue_order_id == view.venue_order_id
        ]
        return spot_new_order(view, fills)

    def cancel(self, params: Mapping[str, str]) -> Answer:
        """Cancel one order (-2011 when it is not open)."""
        symbol = required(params, "symbol")
        client, venue = order_id(params)
        found = self.exchange.order(symbol, client, venue)
        cancel_id = new_client_id(params)
        if found is not None:
            self.cancel_ids[found.venue_order_id] = cancel_id
        view = self.exchange.cancel(symbol, client, venue)
        return spot_cancel(view, cancel_id)

    def query(self, params: Mapping[str, str]) -> Answer:
        """Return one order, open or not (-2013 when the venue never had it)."""
        client, venue = order_id(params)
        view = self.exchange.order(required(params, "symbol"), client, venue)
        if view is None:
            raise NOT_FOUND
        return spot_order(view)

    def open_orders(self, params: Mapping[str, str]) -> Answer:
        """Return the open orders of ``symbol`` (or all)."""
        return [spot_order(v) for v in self.exchange.open_orders(params.get("symbol") or None)]

    def cancel_all(self, params: Mapping[str, str]) -> Answer:
        """Cancel every open order of ``symbol``."""
        symbol = required(params, "symbol")
        for view in self.exchange.open_orders(symbol):
            self.cancel_ids[view.venue_order_id] = new_client_id({})
        cancelled = self.exchange.cancel_all(symbol)
        if not cancelled:
            raise BinanceApiError(400, -2011, "Unknown order sent.")
        return [spot_cancel(v, self.cancel_ids[v.venue_order_id]) for v in cancelled]

    def trades(self, params: Mapping[str, str]) -> Answer:
        """Return the account's trades of ``symbol``, oldest first."""
        return [spot_trade(f) for f in select_trades(self.exchange, params)]

    def account(self, _params: Mapping[str, str]) -> Answer:
        """Return the account: commissions, permissions and every balance."""
        body: Json = {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": True, "canWithdraw": True, "canDeposit": True,
            "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": wall_ms(), "accountType": "SPOT",
            "balances": [spot_balance(b) for b in self.exchange.account.balances()],
            "permissions": ["SPOT"], "uid": 354937868,
        }  # fmt: skip
        return body


SPOT_TRADES_WINDOW_MS: Final = 24 * 3_600_000
"""The longest startTime..endTime of one ``myTrades`` request (USD-M: 7 days)."""


def select_trades(
    exchange: PrivateExchange, params: Mapping[str, str], window_ms: int = SPOT_TRADES_WINDOW_MS
) -> list[VenueFill]:
    """Return the trades a ``myTrades``/``userTrades`` request selects, oldest first.

    As Binance: ``fromId`` pages by trade id; a time window is at most ``window_ms``
    (a lone ``startTime`` reaches that far, a longer span is refused with -1127);
    without either, the newest ``limit`` trades of the last window.
    """
    symbol = required(params, "symbol")
    limit = min(int(params.get("limit", _TRADES_DEFAULT) or _TRADES_DEFAULT), _TRADES_MAX)
    fills = exchange.fills_of(symbol)
    if params.get("orderId"):
        fills = [f for f in fills if f.venue_order_id == int(params["orderId"])]
    if params.get("fromId"):
        return [f for f in fills if f.trade_id >= int(params["fromId"])][:limit]
    start, end = _window(params, window_ms)
    fills = [f for f in fills if start <= f.ts_ms <= end]
    if "startTime" in params or "endTime" in params:
        return fills[:limit]
    return fills[-limit:]


def _window(params: Mapping[str, str], window_ms: int) -> tuple[int, int]:
    start, end = params.get("startTime"), params.get("endTime")
    if start and end:
        if int(end) - int(start) > window_ms:
            span = f"{window_ms // 86_400_000} days" if window_ms > 86_400_000 else "24 hours"
            raise BinanceApiError(400, -1127, f"More than {span} between startTime and endTime.")
        return int(start), int(end)
    if start:
        return int(start), int(start) + window_ms
    if end:
        return int(end) - window_ms, int(end)
    return wall_ms() - window_ms, wall_ms()
