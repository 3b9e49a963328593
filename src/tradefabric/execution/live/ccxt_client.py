"""A generic live execution client on ccxt, for any exchange ccxt supports (breadth, not latency).

The native clients own the latency path and each venue's exact semantics; this
one trades anywhere ccxt reaches, through ccxt's unified API (``create_order``,
``cancel_order``, ``fetch_order`` by client id, ``fetch_open_orders``,
``fetch_my_trades``, ``fetch_balance``, ``fetch_positions``). It has no user
stream: a poll loop (``poll_s``) reports order changes and new trades, deduplicated
on the trade id, and after a failed poll it tells the engine the "stream" was down.

ccxt's exceptions become tradefabric's by type (``CCXT_ERRORS``, most specific
first). Quantities and prices are rounded on the market's grid with integer
arithmetic (``Increment``) before ccxt sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Final

import ccxt.async_support as ccxt
import structlog

from tradefabric.core.errors import (
    AuthenticationError,
    ConfigError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TradefabricError,
    VenueUnavailableError,
)
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.execution.precision import Increment
from tradefabric.model.orders import (
    LiquiditySide,
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)

log = structlog.get_logger(__name__)

_MS: Final = 1_000_000

ErrorFactory = Callable[[str, bool], TradefabricError]
"""(message, was it an order entry?) -> the exception to raise."""


def _unknown_if_entry(message: str, order_entry: bool) -> TradefabricError:
    if order_entry:
        return OrderStatusUnknownError(message)
    return VenueUnavailableError(message)


CCXT_ERRORS: Final[tuple[tuple[type[Exception], ErrorFactory], ...]] = (
    (ccxt.RateLimitExceeded, lambda m, _e: RateLimitedError(m, 1.0)),
    (ccxt.DDoSProtection, lambda m, _e: RateLimitedError(m, 1.0)),
    (ccxt.AuthenticationError, lambda m, _e: AuthenticationError(m)),
    (ccxt.PermissionDenied, lambda m, _e: AuthenticationError(m)),
    (ccxt.OrderImmediatelyFillable, lambda m, _e: OrderRejectedError(m, "post_only")),
    (ccxt.InsufficientFunds, lambda m, _e: OrderRejectedError(m, "insufficient_funds")),
    (ccxt.OrderNotFound, lambda m, _e: OrderRejectedError(m, "order_not_found")),
    (ccxt.InvalidOrder, lambda m, _e: OrderRejectedError(m, "invalid_order")),
    (ccxt.BadRequest, lambda m, _e: OrderRejectedError(m, "bad_request")),
    (ccxt.RequestTimeout, _unknown_if_entry),
    (ccxt.ExchangeNotAvailable, _unknown_if_entry),
    (ccxt.NetworkError, _unknown_if_entry),
    (ccxt.ExchangeError, lambda m, _e: OrderRejectedError(m, "exchange_error")),
)
"""ccxt exception class -> ours; the first class the error is an instance of decides."""

STATUS: Final[dict[str, OrderStatus]] = {
    "open": OrderStatus.ACCEPTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}
TYPES: Final[dict[str, OrderType]] = {"limit": OrderType.LIMIT, "market": OrderType.MARKET}
TIFS: Final[dict[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK, "PO": TimeInForce.GTC,
}  # fmt: skip


LIQUIDITY: Final = {"maker": LiquiditySide.MAKER, "taker": LiquiditySide.TAKER}


def _ts(updated: Any, o: dict[str, Any]) -> int:
    return int(updated or o.get("timestamp") or 0) * _MS


def _position_sign(position: dict[str, Any]) -> int:
    # ccxt leaves ``side`` None for some one-way positions; the signed notional still says.
    side = position.get("side")
    if side is None:
        return -1 if _f(position.get("notional")) < 0 else 1
    return -1 if side == "short" else 1


def translate(error: Exception, order_entry: bool) -> TradefabricError:
    """Return tradefabric's exception for a ccxt one."""
    for cls, factory in CCXT_ERRORS:
        if isinstance(error, cls):
            return factory(f"{type(error).__name__}: {error}", order_entry)
    return VenueUnavailableError(f"{type(error).__name__}: {error}")


def _f(value: Any) -> float:
    return float(value) if value is not None else 0.0


class CcxtExecutionClient:
    """Any ccxt exchange as a ``LiveExecutionClient`` (polled, no user stream)."""

    supports_modify = False

    def __init__(
        self, venue: str, exchange: Any, *, poll_s: float = 1.0, symbols: tuple[str, ...] = ()
    ) -> None:
        """Trade ``venue`` through ``exchange`` (a ``ccxt.async_support`` instance with keys)."""
        self.name = venue
        self.exchange = exchange
        self.poll_s = poll_s
        self.symbols: set[str] = set(symbols)
        self.supports_cancel_after = bool(exchange.has.get("cancelAllOrdersAfter"))
        self._reports: LiveReports | None = None
        self._client_ids: dict[str, str] = {}
        self._seen_trades: set[str] = set()
        self._last_status: dict[str, tuple[OrderStatus, float]] = {}
        self._poll_task: asyncio.Task[None] | None = None
        self._since_ms = 0

    @property
    def reports(self) -> LiveReports:
        """Return where reports go (set by ``connect``)."""
        if self._reports is None:
            raise ConfigError(f"{self.name} client: connect() first")
        return self._reports

    async def _call(self, order_entry: bool, method: str, *args: Any) -> Any:
        try:
            return await getattr(self.exchange, method)(*args)
        except Exception as exc:
            if isinstance(exc, TradefabricError):
                raise
            raise translate(exc, order_entry) from exc

    async def connect(self, reports: LiveReports) -> None:
        """Load the markets and start polling the account."""
        self._reports = reports
        self._since_ms = int(time.time() * 1000)
        await self._call(False, "load_markets")
        self._poll_task = asyncio.create_task(self._poll_forever())

    async def close(self) -> None:
        """Stop polling and close ccxt's session."""
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        await self.exchange.close()

    def _rounded(self, order: OrderSnapshot) -> tuple[float, float | None]:
        market = self.exchange.market(order.symbol)
        precision = market["precision"]
        lot = Increment(repr(precision["amount"]))
        quantity = lot.to_float(lot.floor_units(order.quantity))
        if quantity <= 0:
            raise OrderRejectedError(f"order {order.client_order_id}: quantity rounds to zero")
        if order.price is None:
            return quantity, None
        tick = Increment(repr(precision["price"]))
        buy = order.side is OrderSide.BUY
        units = tick.floor_units(order.price) if buy else tick.ceil_units(order.price)
        return quantity, tick.to_float(units)

    async def submit(self, order: OrderSnapshot) -> str:
        """Place ``order`` with its client id; return the venue order id."""
        kind = {OrderType.LIMIT: "limit", OrderType.MARKET: "market"}.get(order.order_type)
        if kind is None:
            raise OrderRejectedError(f"ccxt client: order type {order.order_type} is not supported")
        quantity, price = self._rounded(order)
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.post_only:
            params["postOnly"] = True
        elif kind == "limit":
            params["timeInForce"] = order.time_in_force.value.upper()
        if order.reduce_only:
            params["reduceOnly"] = True
        self.symbols.add(order.symbol)
        side = order.side.value
        answer = await self._call(
            True, "create_order", order.symbol, kind, side, quantity, price, params
        )
        self._client_ids[str(answer["id"])] = order.client_order_id
        return str(answer["id"])

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """Cancel one order by its client id."""
        await self._call(False, "cancel_order", None, symbol, {"clientOrderId": client_order_id})

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of ``symbol`` (or of each symbol traded)."""
        for each in [symbol] if symbol else sorted(self.symbols):
            await self._call(False, "cancel_all_orders", each)

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """Refuse: in-place amends differ too much across exchanges to be generic."""
        raise OrderRejectedError(f"{self.name} (ccxt): modify is not supported")

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        """Return the venue's view of one order; None when it never had it."""
        try:
            answer = await self._call(
                False, "fetch_order", None, symbol, {"clientOrderId": client_order_id}
            )
        except OrderRejectedError as exc:
            if exc.code == "order_not_found":
                return None
            raise
        return self.order_report(answer)

    async def heartbeat(self, timeout_s: float) -> None:
        """Arm the exchange's cancel-all-after where ccxt has one; otherwise do nothing."""
        if self.supports_cancel_after:
            await self._call(False, "cancel_all_orders_after", int(timeout_s * 1000))

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        """Return open orders, trades since ``trades_since_ns``, balances and positions."""
        wanted = sorted(set(symbols) or self.symbols)
        orders: list[OrderStatusReport] = []
        trades: list[TradeReport] = []
        for symbol in wanted:
            orders += [
                self.order_report(o) for o in await self._call(False, "fetch_open_orders", symbol)
            ]
            # 0 means "whatever the venue keeps": ccxt turns a since into a window
            # (Binance futures: 7 days from it), so none is passed.
            since = trades_since_ns // _MS or None
            rows = await self._call(False, "fetch_my_trades", symbol, since)
            trades += [await self._trade_report(row) for row in rows]
        return MassStatus(
            venue=self.name, ts_event=time.time_ns(), orders=tuple(orders), trades=tuple(trades),
            balances=await self._balances(), positions=await self._positions(wanted),
        )  # fmt: skip

    def order_report(self, o: dict[str, Any]) -> OrderStatusReport:
        """Return the report of a ccxt unified order."""
        filled = _f(o.get("filled"))
        status = STATUS.get(str(o.get("status")), OrderStatus.ACCEPTED)
        if status is OrderStatus.ACCEPTED and filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        client_id = str(o.get("clientOrderId") or self._client_ids.get(str(o["id"]), ""))
        if client_id:
            self._client_ids[str(o["id"])] = client_id
        return OrderStatusReport(
            venue=self.name, symbol=str(o["symbol"]), client_order_id=client_id,
            venue_order_id=str(o["id"]), side=OrderSide(str(o["side"])),
            order_type=TYPES.get(str(o.get("type")), OrderType.LIMIT), status=status,
            quantity=_f(o.get("amount")), price=o.get("price") or None, filled_quantity=filled,
            avg_price=_f(o.get("average")), ts_event=_ts(o.get("lastUpdateTimestamp"), o),
            time_in_force=TIFS.get(str(o.get("timeInForce")), TimeInForce.GTC),
            post_only=bool(o.get("postOnly")), reduce_only=bool(o.get("reduceOnly")),
        )  # fmt: skip

    async def _trade_report(self, t: dict[str, Any]) -> TradeReport:
        venue_id = str(t["order"])
        client_id = self._client_ids.get(venue_id)
        if client_id is None:
            answer = await self._call(False, "fetch_order", venue_id, t["symbol"])
            client_id = self.order_report(answer).client_order_id
        fee = t.get("fee") or {}
        return TradeReport(
            venue=self.name, symbol=str(t["symbol"]), client_order_id=client_id,
            venue_order_id=venue_id, trade_id=str(t["id"]), side=OrderSide(str(t["side"])),
            price=_f(t.get("price")), quantity=_f(t.get("amount")), fee=_f(fee.get("cost")),
            fee_currency=str(fee.get("currency") or ""),
            liquidity=LIQUIDITY.get(str(t.get("takerOrMaker")), LiquiditySide.TAKER),
            ts_event=int(t.get("timestamp") or 0) * _MS,
        )  # fmt: skip

    async def _balances(self) -> tuple[BalanceReport, ...]:
        answer = await self._call(False, "fetch_balance")
        now = time.time_ns()
        return tuple(
            BalanceReport(
                venue=self.name,
                asset=asset,
                free=_f(answer["free"].get(asset)),
                locked=_f(answer["used"].get(asset)),
                ts_event=now,
            )
            for asset in sorted(answer.get("total", {}))
        )

    async def _positions(self, symbols: list[str]) -> tuple[PositionReport, ...]:
        contracts = [s for s in symbols if self.exchange.market(s).get("contract")]
        if not contracts or not self.exchange.has.get("fetchPositions"):
            return ()
        rows = await self._call(False, "fetch_positions", contracts)
        now = time.time_ns()
        return tuple(
            PositionReport(
                venue=self.name,
                symbol=str(p["symbol"]),
                quantity=_f(p.get("contracts")) * _position_sign(p),
                entry_price=_f(p.get("entryPrice")),
                ts_event=now,
            )
            for p in rows
        )

    async def _poll_forever(self) -> None:
        down = False
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.poll_once()
            except TradefabricError as exc:
                log.warning("ccxt_poll_failed", venue=self.name, error=type(exc).__name__)
                down = True
                continue
            if down:
                down = False
                self.reports.on_stream_reconnected(self.name)

    async def poll_once(self) -> None:
        """Report order changes and trades new since the last poll (the stream stand-in)."""
        for symbol in sorted(self.symbols):
            for answer in await self._call(False, "fetch_open_orders", symbol):
                self._report_if_changed(self.order_report(answer))
            rows = await self._call(False, "fetch_my_trades", symbol, self._since_ms)
            for row in rows:
                if str(row["id"]) in self._seen_trades:
                    continue
                trade = await self._trade_report(row)
                self._seen_trades.add(trade.trade_id)
                self.reports.on_trade(trade)

    def _report_if_changed(self, report: OrderStatusReport) -> None:
        state = (report.status, report.filled_quantity)
        if self._last_status.get(report.venue_order_id) != state:
            self._last_status[report.venue_order_id] = state
            self.reports.on_order_status(report)


def build_ccxt_client(
    venue: str, exchange_id: str, config: dict[str, Any], *, poll_s: float = 1.0
) -> CcxtExecutionClient:
    """Return a client on ccxt's ``exchange_id`` (``config``: ccxt's own: keys, options, urls)."""
    cls = getattr(ccxt, exchange_id, None)
    if cls is None:
        raise ConfigError(f"ccxt has no exchange {exchange_id!r}")
    return CcxtExecutionClient(venue, cls(config), poll_s=poll_s)
