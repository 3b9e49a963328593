"""The native Bybit v5 live execution client (spot or linear): ``LiveExecutionClient``.

Orders go out over signed REST (``/v5/order/create``, ``/amend``, ``/cancel``,
``/cancel-all``) identified by our client order id as ``orderLinkId``; every state
change comes back on the private stream (``order``, ``execution``, ``wallet``,
``position``) and is reported as Bybit said it. A create that timed out or met a
service error (10016) raises ``OrderStatusUnknownError``: ``query_order`` settles it
by ``orderLinkId`` and the order is never sent twice. The dead man's switch is
Bybit's disconnect-cancel (DCP): ``heartbeat`` sets its window and the private
connection, subscribed to ``dcp``, keeps it armed with its pings.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, TypeVar

import aiohttp
import msgspec

from tradefabric.core.errors import ConfigError, VenueUnavailableError
from tradefabric.execution.live.bybit import order_requests as requests
from tradefabric.execution.live.bybit.events import PrivateStreamParser
from tradefabric.execution.live.bybit.stream import PING_INTERVAL_S, PrivateStream
from tradefabric.execution.live.bybit.wire import (
    ExecutionList,
    OrderAck,
    OrderList,
    PositionList,
    WalletList,
    balance_reports,
    order_report,
    position_report,
    trade_report,
)
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.execution.precision import Precision
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import OrderSnapshot
from tradefabric.venues.bybit.private.categories import PRIVATE_WS_PATH, PrivateCategory
from tradefabric.venues.bybit.private.rest import BybitPrivateRest
from tradefabric.venues.bybit.private.signing import DEFAULT_RECV_WINDOW_MS, Credentials

PageT = TypeVar("PageT", OrderList, ExecutionList, PositionList)
_MS = 1_000_000
DCP_MIN_S, DCP_MAX_S = 3, 300
"""Bounds of Bybit's disconnect-cancel window (seconds)."""
PAGE_LIMITS = {"/v5/order/realtime": 50, "/v5/execution/list": 100, "/v5/position/list": 200}
MAX_PAGES = 200
WEEK_MS = 7 * 24 * 3600 * 1000
"""The longest time range one ``/v5/execution/list`` request may span."""
TRADE_RETENTION_MS = 730 * 24 * 3600 * 1000
"""How far back Bybit keeps executions."""
CLOCK_SLACK_MS = 60_000
"""How far past our clock the last range reaches (the venue's clock may be ahead)."""


class BybitLiveClient:
    """One Bybit v5 category's private API for the live execution engine."""

    supports_modify = True
    supports_cancel_after = True

    def __init__(
        self,
        category: PrivateCategory,
        credentials: Credentials,
        instruments: Mapping[str, Instrument],
        *,
        rest_url: str | None = None,
        ws_url: str | None = None,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        timeout_s: float = 5.0,
        ping_interval_s: float = PING_INTERVAL_S,
    ) -> None:
        """Trade ``category`` with ``credentials``; ``instruments`` keyed by unified symbol."""
        self.name = category.venue
        self.category = category
        self._credentials = credentials
        self._precisions = {s: Precision.of(i) for s, i in instruments.items()}
        self.rest_url = (rest_url or category.market.rest_url).rstrip("/")
        self.ws_url = _private_url(ws_url or category.market.ws_url)
        self._recv_window_ms = recv_window_ms
        self._timeout_s = timeout_s
        self._ping_interval_s = ping_interval_s
        self._session: aiohttp.ClientSession | None = None
        self._rest: BybitPrivateRest | None = None
        self._stream: PrivateStream | None = None
        self.parser: PrivateStreamParser | None = None
        self.dcp_window_s = 0

    # -- connection ---------------------------------------------------------------------

    async def connect(self, reports: LiveReports) -> None:
        """Open the REST session and the private stream; report to ``reports``."""
        await self.close()  # a second connect replaces the first, never leaks it
        self._session = aiohttp.ClientSession()
        self._rest = BybitPrivateRest(
            self.rest_url, self._credentials, self._session, self._recv_window_ms, self._timeout_s
        )
        self.parser = PrivateStreamParser(self.category, reports)
        venue = self.name
        self._stream = PrivateStream(
            self.ws_url, self._credentials, self.category.topics, self.parser,
            lambda: reports.on_stream_reconnected(venue), ping_interval_s=self._ping_interval_s,
        )  # fmt: skip
        try:
            await self._stream.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the stream and the REST session (orders stay at the venue)."""
        if self._stream is not None:
            await self._stream.close()
        if self._session is not None:
            await self._session.close()
        self._stream = self._session = None

    @property
    def rest(self) -> BybitPrivateRest:
        """Return the signed REST client (after ``connect``)."""
        if self._rest is None:
            raise VenueUnavailableError(f"{self.name}: not connected")
        return self._rest

    @property
    def stream(self) -> PrivateStream:
        """Return the private stream (after ``connect``)."""
        if self._stream is None:
            raise VenueUnavailableError(f"{self.name}: not connected")
        return self._stream

    def _precision(self, symbol: str) -> Precision:
        precision = self._precisions.get(symbol)
        if precision is None:
            raise ConfigError(f"{self.name}: no instrument {symbol!r} to round orders with")
        return precision

    # -- order entry ----------------------------------------------------------------------

    async def submit(self, order: OrderSnapshot) -> str:
        """Create ``order``; return Bybit's ``orderId`` from the acknowledgement."""
        body = requests.create_body(self.category, self._precision(order.symbol), order)
        raw = await self.rest.post("/v5/order/create", body, f"create {order.client_order_id}")
        return msgspec.json.decode(raw, type=OrderAck).orderId

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """Cancel one order by ``orderLinkId`` (its final state arrives on the stream)."""
        body = requests.cancel_body(self.category, symbol, client_order_id)
        await self.rest.post("/v5/order/cancel", body, f"cancel {client_order_id}")

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of ``symbol``, or of the whole category."""
        body = requests.scope(self.category, symbol)
        await self.rest.post("/v5/order/cancel-all", body, f"cancel-all {symbol or '*'}")

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """Amend quantity (and price) in place with ``/v5/order/amend``."""
        body = requests.amend_body(
            self.category, self._precision(symbol), symbol, client_order_id,
            quantity=quantity, price=price,
        )  # fmt: skip
        await self.rest.post("/v5/order/amend", body, f"amend {client_order_id}")

    async def heartbeat(self, timeout_s: float) -> None:
        """Arm the disconnect-cancel for ``timeout_s`` (3..300 s) and ping the stream.

        Bybit cancels every order of the product once every connection subscribed to
        ``dcp`` has been gone for the window: the window is set (only when it changes)
        and the stream subscribes to ``dcp``, which it keeps doing on every reconnect.
        """
        window = min(DCP_MAX_S, max(DCP_MIN_S, math.ceil(timeout_s)))
        if window != self.dcp_window_s:
            body = {"product": self.category.dcp_product, "timeWindow": window}
            await self.rest.post("/v5/order/disconnected-cancel-all", body, "set dcp window")
            self.dcp_window_s = window
        await self.stream.subscribe(self.category.dcp_topic)
        await self.stream.ping()

    # -- queries ---------------------------------------------------------------------------

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        """Return the venue's view of one order by ``orderLinkId``; None when it never had it."""
        params = {**requests.scope(self.category, symbol), "orderLinkId": client_order_id}
        for path in ("/v5/order/realtime", "/v5/order/history"):
            raw = await self.rest.get(path, params, f"query {client_order_id}")
            found = msgspec.json.decode(raw, type=OrderList).list
            if found:
                return order_report(found[0], self.category)
        return None

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        """Return open orders, trades since ``trades_since_ns``, balances and positions."""
        ts = time.time_ns()
        scopes = [requests.scope(self.category, s) for s in symbols] or [
            requests.scope(self.category, None)
        ]
        orders: list[OrderStatusReport] = []
        trades: list[TradeReport] = []
        positions: list[PositionReport] = []
        for params in scopes:
            orders += await self._open_orders(params)
            trades += await self._trades(params, trades_since_ns)
            if self.category.position_topic:
                positions += await self._positions(params)
        return MassStatus(
            venue=self.name, ts_event=ts, orders=tuple(orders), trades=tuple(trades),
            balances=tuple(await self.balances()), positions=tuple(positions),
        )  # fmt: skip

    async def balances(self) -> list[BalanceReport]:
        """Return every coin of the unified account."""
        raw = await self.rest.get(
            "/v5/account/wallet-balance", {"accountType": "UNIFIED"}, "wallet balance"
        )
        ts = time.time_ns()
        reports: list[BalanceReport] = []
        for wallet in msgspec.json.decode(raw, type=WalletList).list:
            reports += balance_reports(wallet, self.name, ts)
        return reports

    async def _open_orders(self, params: dict[str, str]) -> list[OrderStatusReport]:
        pages = await self._pages("/v5/order/realtime", {**params, "openOnly": "0"}, OrderList)
        return [order_report(o, self.category) for page in pages for o in page.list]

    async def _trades(self, params: dict[str, str], since_ns: int) -> list[TradeReport]:
        """Return the executions since ``since_ns`` (0: Bybit's default, the last 7 days).

        ``/v5/execution/list`` spans at most 7 days per request, so a longer gap is
        asked for window by window (up to the two years Bybit keeps).
        """
        # The execution list is scoped by symbol alone (it takes no settleCoin).
        scoped = {k: v for k, v in params.items() if k != self.category.scope_param}
        seen: dict[str, TradeReport] = {}
        for window in _windows(since_ns // _MS, time.time_ns() // _MS):
            for page in await self._pages("/v5/execution/list", scoped | window, ExecutionList):
                for execution in page.list:
                    if execution.execType == "Trade":  # funding, settlement: not our fills
                        seen[execution.execId] = trade_report(execution, self.category)
        return sorted(seen.values(), key=lambda t: t.ts_event)

    async def _positions(self, params: dict[str, str]) -> list[PositionReport]:
        pages = await self._pages("/v5/position/list", params, PositionList)
        return [position_report(p, self.category) for page in pages for p in page.list]

    async def _pages(self, path: str, params: dict[str, Any], page: type[PageT]) -> list[PageT]:
        """Return every page of a cursor-paged list."""
        pages: list[PageT] = []
        cursor = ""
        for _ in range(MAX_PAGES):
            query = {**params, "limit": str(PAGE_LIMITS[path])}
            if cursor:
                query["cursor"] = cursor
            decoded = msgspec.json.decode(await self.rest.get(path, query, path), type=page)
            pages.append(decoded)
            cursor = decoded.nextPageCursor
            if not cursor or not decoded.list:
                return pages
        raise VenueUnavailableError(f"{path}: more than {MAX_PAGES} pages")


def _windows(since_ms: int, now_ms: int) -> list[dict[str, str]]:
    """Return the ``startTime``/``endTime`` ranges (7 days at most) from ``since_ms`` to now.

    Nothing known (0) asks without a range: Bybit answers the last 7 days.
    """
    if since_ms <= 0:
        return [{}]
    start = max(since_ms, now_ms - TRADE_RETENTION_MS)
    windows = []
    while start <= now_ms:
        end = min(start + WEEK_MS, now_ms + CLOCK_SLACK_MS)
        windows.append({"startTime": str(start), "endTime": str(end)})
        start = end + 1
    return windows


def _private_url(url: str) -> str:
    """Return the private stream URL of a server root or a public stream URL."""
    for marker in ("/v5/public/", "/v5/private"):
        if marker in url:
            return url.split(marker, 1)[0] + PRIVATE_WS_PATH
    return url.rstrip("/") + PRIVATE_WS_PATH
