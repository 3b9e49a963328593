"""The native Kraken spot live client: WS v2 order entry, executions stream, signed REST.

- ``submit`` / ``cancel`` / ``modify`` go over the authenticated WS v2 connection
  (``add_order``, ``cancel_order``, ``amend_order``: quantity and price in place);
  REST ``AddOrder`` / ``CancelOrder`` when it is down (``modify`` then refuses). No
  answer within ``request_timeout_s``, or the connection dropping while waiting, is an
  unknown outcome (``OrderStatusUnknownError``): ``query_order`` settles it by
  ``cl_ord_id``, the order is never sent twice.
- Queries, ``cancel_all``, balances and ``heartbeat`` (``CancelAllOrdersAfter``,
  Kraken's dead man's switch) use REST.
- ``executions`` reports every order change and trade; a ``balances`` change
  triggers one ``BalanceEx`` refresh (the stream has no free/locked split).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Mapping
from pathlib import Path

import msgspec

from tradefabric.core.errors import (
    OrderRejectedError,
    OrderStatusUnknownError,
    TradefabricError,
    VenueUnavailableError,
)
from tradefabric.execution.live.decimals import wire_decimal
from tradefabric.execution.live.kraken.auth import NonceStore
from tradefabric.execution.live.kraken.errors import as_exception
from tradefabric.execution.live.kraken.parse import (
    VENUE,
    RestBalanceEx,
    RestOrder,
    RestTrade,
    WsBalance,
    WsExecution,
    rest_balances,
    rest_order,
    rest_trade,
    ws_order,
    ws_trade,
)
from tradefabric.execution.live.kraken.rest import KrakenRest
from tradefabric.execution.live.kraken.stream import KrakenPrivateStream, StreamHandlers
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    TradeReport,
)
from tradefabric.model.orders import OrderSnapshot, OrderType, TimeInForce
from tradefabric.venues.kraken.markets import PAIR_PRECISIONS, PairPrecision
from tradefabric.venues.kraken.symbols import symbol_to_rest_pair

_TIF = {TimeInForce.GTC: "gtc", TimeInForce.IOC: "ioc"}
"""What Kraken spot takes (``gtc``, ``ioc``, ``gtd``): it has no fill-or-kill."""


def _tif(order: OrderSnapshot) -> str:
    tif = _TIF.get(order.time_in_force)
    if tif is None:
        raise OrderRejectedError(
            f"kraken spot has no {order.time_in_force.value} orders", code="unsupported"
        )
    return tif


_NS = 1_000_000_000


class KrakenClientConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how the client talks to Kraken (secrets are passed separately)."""

    rest_url: str = "https://api.kraken.com"
    ws_auth_url: str = "wss://ws-auth.kraken.com/v2"
    nonce_file: Path | None = None
    """Where the nonce high-water mark survives restarts (None: memory only)."""
    request_timeout_s: float = 5.0
    precisions: Mapping[str, PairPrecision] = msgspec.field(
        default_factory=lambda: dict(PAIR_PRECISIONS)
    )


class _Token(msgspec.Struct, frozen=True):
    token: str
    expires: int = 900


class _WsOrderResult(msgspec.Struct, frozen=True):
    order_id: str = ""
    cl_ord_id: str | None = None


class _AddOrderResult(msgspec.Struct, frozen=True):
    txid: tuple[str, ...] = ()


class _Trades(msgspec.Struct, frozen=True):
    trades: dict[str, RestTrade] = {}
    count: int = 0


class _Open(msgspec.Struct, frozen=True):
    open: dict[str, RestOrder] = {}


class KrakenLiveClient:
    """``LiveExecutionClient`` for Kraken spot."""

    name = VENUE
    supports_modify = True
    supports_cancel_after = True

    def __init__(self, api_key: str, api_secret: str, config: KrakenClientConfig) -> None:
        self.config = config
        self.rest = KrakenRest(
            config.rest_url, api_key, api_secret, NonceStore(config.nonce_file),
            config.request_timeout_s,
        )  # fmt: skip
        handlers = StreamHandlers(self._on_executions, self._on_balances, self._on_reconnected)
        self.stream = KrakenPrivateStream(config.ws_auth_url, self._fetch_token, handlers)
        self._reports: LiveReports | None = None
        self._orders: dict[str, OrderStatusReport] = {}
        """Venue order id -> last status reported (fills what an update leaves out)."""
        self._balance_task: asyncio.Task[None] | None = None
        self._balances_stale = False

    # -- LiveExecutionClient ----------------------------------------------------------

    async def connect(self, reports: LiveReports) -> None:
        """Open the authenticated stream; return once its snapshot arrived."""
        self._reports = reports
        # The first token comes from here: refused keys fail connect, not a retry loop.
        await self.stream.start(await self._fetch_token())

    async def close(self) -> None:
        """Close the stream and the REST session."""
        await self.stream.close()
        if self._balance_task is not None:
            self._balance_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._balance_task
        await self.rest.close()

    async def submit(self, order: OrderSnapshot) -> str:
        """Send ``add_order`` over WS v2 (REST ``AddOrder`` when it is down)."""
        if not self.stream.connected:
            return await self._submit_rest(order)
        params = self._ws_order(order)
        try:
            answer = await self.stream.request("add_order", params, self.config.request_timeout_s)
        except (TimeoutError, ConnectionError) as exc:
            raise OrderStatusUnknownError(
                f"kraken add_order {order.client_order_id}: no answer ({exc!r})"
            ) from exc
        if not answer.success:
            raise as_exception(answer.error or "EGeneral:Internal error", order_entry=True)
        return msgspec.json.decode(answer.result, type=_WsOrderResult).order_id

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """Send ``cancel_order`` by ``cl_ord_id`` (REST ``CancelOrder`` when the WS is down)."""
        if not self.stream.connected:
            await self.rest.call("CancelOrder", {"cl_ord_id": client_order_id})
            return
        try:
            answer = await self.stream.request(
                "cancel_order", {"cl_ord_id": [client_order_id]}, self.config.request_timeout_s
            )
        except (TimeoutError, ConnectionError) as exc:
            raise OrderStatusUnknownError(f"kraken cancel_order: no answer ({exc!r})") from exc
        if not answer.success:
            raise as_exception(answer.error or "EGeneral:Internal error", order_entry=False)

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order (``CancelAll``), or those of ``symbol`` one by one."""
        if symbol is None:
            await self.rest.call("CancelAll")
            return
        for report in await self._open_orders():
            if report.symbol == symbol:
                with contextlib.suppress(OrderRejectedError):
                    await self.rest.call("CancelOrder", {"txid": report.venue_order_id})

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """Send ``amend_order`` over WS v2: new total quantity (and limit price), ids kept."""
        if not self.stream.connected:
            raise VenueUnavailableError("kraken amend_order: the private stream is down")
        params: dict[str, object] = {
            "cl_ord_id": client_order_id, "order_qty": float(self._qty(symbol, quantity)),
        }  # fmt: skip
        if price is not None:
            params["limit_price"] = float(self._price(symbol, price))
        try:
            answer = await self.stream.request("amend_order", params, self.config.request_timeout_s)
        except (TimeoutError, ConnectionError) as exc:
            raise OrderStatusUnknownError(f"kraken amend_order: no answer ({exc!r})") from exc
        if not answer.success:
            raise as_exception(answer.error or "EGeneral:Internal error", order_entry=True)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        """Return the order with ``cl_ord_id`` (``QueryOrders``), None when Kraken never had it."""
        raw = await self.rest.call("QueryOrders", {"cl_ord_id": client_order_id})
        found = msgspec.json.decode(raw, type=dict[str, RestOrder])
        for txid, order in found.items():
            report = rest_order(txid, order)
            self._orders[txid] = report
            return report
        return None

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        """Return open orders, trades since ``trades_since_ns`` and balances.

        Kraken answers for the whole account, so every symbol is in (``symbols`` is
        the least the caller needs, not a filter).
        """
        orders = await self._open_orders()
        trades = await self._trades_since(trades_since_ns)
        balances = await self._balances()
        return MassStatus(
            venue=VENUE, ts_event=time.time_ns(), orders=tuple(orders), trades=tuple(trades),
            balances=balances,
        )  # fmt: skip

    async def heartbeat(self, timeout_s: float) -> None:
        """Arm ``CancelAllOrdersAfter``: every order is cancelled unless re-armed in time."""
        await self.rest.call("CancelAllOrdersAfter", {"timeout": str(math.ceil(timeout_s))})

    # -- REST helpers -----------------------------------------------------------------

    async def _fetch_token(self) -> str:
        raw = await self.rest.call("GetWebSocketsToken")
        return msgspec.json.decode(raw, type=_Token).token

    async def _submit_rest(self, order: OrderSnapshot) -> str:
        params = {
            "ordertype": order.order_type.value, "type": order.side.value,
            "volume": self._qty(order.symbol, order.quantity),
            "pair": symbol_to_rest_pair(order.symbol), "cl_ord_id": order.client_order_id,
            "timeinforce": _tif(order).upper(),
        }  # fmt: skip
        if order.price is not None and order.order_type is OrderType.LIMIT:
            params["price"] = self._price(order.symbol, order.price)
        if order.post_only:
            params["oflags"] = "post"
        raw = await self.rest.call("AddOrder", params, order_entry=True)
        return msgspec.json.decode(raw, type=_AddOrderResult).txid[0]

    async def _open_orders(self) -> list[OrderStatusReport]:
        raw = await self.rest.call("OpenOrders")
        opened = msgspec.json.decode(raw, type=_Open).open
        reports = [rest_order(txid, order) for txid, order in opened.items()]
        self._orders.update((r.venue_order_id, r) for r in reports)
        return sorted(reports, key=lambda r: r.ts_event)

    async def _trades_since(self, since_ns: int) -> list[TradeReport]:
        raw = await self.rest.call("TradesHistory", {"start": f"{since_ns / _NS:.6f}"})
        trades = msgspec.json.decode(raw, type=_Trades).trades
        unknown = sorted({t.ordertxid for t in trades.values()} - set(self._orders))
        if unknown:
            raw = await self.rest.call("QueryOrders", {"txid": ",".join(unknown[:50])})
            for txid, order in msgspec.json.decode(raw, type=dict[str, RestOrder]).items():
                self._orders[txid] = rest_order(txid, order)

        def client_id(txid: str) -> str:
            known = self._orders.get(txid)
            return known.client_order_id if known else ""

        out = [rest_trade(tid, t, client_id(t.ordertxid)) for tid, t in trades.items()]
        return sorted(out, key=lambda t: t.ts_event)

    async def _balances(self) -> tuple[BalanceReport, ...]:
        raw = await self.rest.call("BalanceEx")
        return rest_balances(
            msgspec.json.decode(raw, type=dict[str, RestBalanceEx]), time.time_ns()
        )

    # -- stream handlers --------------------------------------------------------------

    def _on_executions(self, executions: list[WsExecution], snapshot: bool) -> None:
        reports = self._reports
        if reports is None:
            return
        for e in executions:
            status = ws_order(e, self._orders.get(e.order_id))
            self._orders[e.order_id] = status
            if e.exec_type == "trade":
                reports.on_trade(ws_trade(e, status))
            reports.on_order_status(status)

    def _on_balances(self, _balances: list[WsBalance]) -> None:
        self._balances_stale = True
        if self._balance_task is None or self._balance_task.done():
            self._balance_task = asyncio.create_task(self._refresh_balances())

    async def _refresh_balances(self) -> None:
        # One BalanceEx at a time; a change during it asks for one more.
        while self._balances_stale:
            self._balances_stale = False
            try:
                balances = await self._balances()
            except TradefabricError:
                return  # the next change or reconciliation refreshes them
            if self._reports is not None:
                for balance in balances:
                    self._reports.on_balance(balance)

    def _on_reconnected(self) -> None:
        if self._reports is not None:
            self._reports.on_stream_reconnected(VENUE)

    # -- wire numbers -----------------------------------------------------------------

    def _precision(self, symbol: str) -> PairPrecision:
        return self.config.precisions.get(symbol, PairPrecision(8, 8))

    def _price(self, symbol: str, price: float) -> str:
        return wire_decimal(price, self._precision(symbol).price)

    def _qty(self, symbol: str, qty: float) -> str:
        return wire_decimal(qty, self._precision(symbol).qty)

    def _ws_order(self, order: OrderSnapshot) -> dict[str, object]:
        params: dict[str, object] = {
            "order_type": order.order_type.value, "side": order.side.value,
            "order_qty": float(self._qty(order.symbol, order.quantity)),
            "symbol": order.symbol, "cl_ord_id": order.client_order_id,
            "time_in_force": _tif(order), "post_only": order.post_only,
        }  # fmt: skip
        if order.price is not None and order.order_type is OrderType.LIMIT:
            params["limit_price"] = float(self._price(order.symbol, order.price))
        return params
