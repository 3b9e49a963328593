"""The live venue: one async ``LiveExecutionClient`` behind the synchronous OMS.

The execution engine (``execution.oms``) calls ``submit``/``cancel`` synchronously
on the node's event loop, after the risk check, exactly as it does for the
simulated venue; ``LiveVenue`` schedules the client's coroutine and maps its
outcome back onto the engine:

- the venue order id returned by ``submit``: the ack (``on_accepted``), unless a
  stream report already moved the order on;
- ``OrderRejectedError``: ``on_rejected`` with the venue's code in the reason;
- ``OrderStatusUnknownError`` (or any unexpected error: it may have acted): the order
  stays SUBMITTED and ``query_order`` by client id settles it, with backoff; the
  order is never sent again. "No such order" ``absent_after`` times in a row rejects it;
- ``RateLimitedError`` / ``VenueUnavailableError`` (nothing reached the venue): sent
  again after ``retry_after_s`` (a backoff for the latter), at most ``submit_retries``;
- ``AuthenticationError``: rejected, and a critical ``auth_failed`` event.

The client's stream reports go through ``ReportApplier`` (tolerant, never raising);
``on_stream_reconnected`` starts a reconciliation (``execution.live.reconcile``), as
do ``start`` and, when configured, a periodic timer. A client with
``supports_cancel_after`` has its dead man's switch re-armed every third of
``cancel_after_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

import structlog

from tradefabric.core.errors import (
    AuditWriteError,
    AuthenticationError,
    ConfigError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    RetryableError,
    VenueUnavailableError,
)
from tradefabric.execution.client import ExecutionReports
from tradefabric.execution.live.apply import ReportApplier
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.events import LIVE_EVENTS, LiveEvent, ReconcileSummary
from tradefabric.execution.live.protocol import LiveExecutionClient
from tradefabric.execution.live.reconcile import Reconciler
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.model.orders import OrderSnapshot, OrderStatus

log = structlog.get_logger(__name__)


class LiveVenue:
    """An ``ExecutionClient`` for the OMS and the ``LiveReports`` of one live client."""

    def __init__(
        self,
        client: LiveExecutionClient,
        settings: LiveSettings | None = None,
        *,
        symbols: tuple[str, ...] = (),
    ) -> None:
        """Drive ``client``; ``symbols`` are reconciled even when no order is open on them."""
        self.client = client
        self.name = client.name
        self.settings = settings or LiveSettings()
        self.symbols = symbols
        self._engine: ExecutionEngine | None = None
        self._applier: ReportApplier | None = None
        self._reconciler: Reconciler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._reconciling: asyncio.Lock | None = None
        self.balances: dict[str, BalanceReport] = {}
        """The latest balance per asset the stream reported (reconciliation applies them)."""
        self.positions: dict[str, PositionReport] = {}
        self.trades_since_ns = 0
        """The last trade time known before this run (the state store's); reconciliation
        asks for trades from ``trades_lookback_s`` before it."""
        self.summaries: list[ReconcileSummary] = []
        self.errors: list[str] = []
        """Failures of scheduled work (logged and published too)."""

    # ExecutionClient (the OMS side) ------------------------------------------------------

    def connect(self, reports: ExecutionReports) -> None:
        """Take reports for ``reports``, which must be the execution engine itself."""
        if not isinstance(reports, ExecutionEngine):
            raise ConfigError(f"{self.name}: a live venue reports to the ExecutionEngine")
        self._engine = reports
        self._applier = ReportApplier(reports, self.name)
        self._reconciler = Reconciler(reports, self._applier, self.client, self.settings)

    @property
    def engine(self) -> ExecutionEngine:
        """Return the execution engine (after ``connect``)."""
        if self._engine is None:
            raise ConfigError(f"{self.name}: the live venue is not connected to an engine")
        return self._engine

    @property
    def applier(self) -> ReportApplier:
        """Return the report applier (after ``connect``)."""
        if self._applier is None:
            raise ConfigError(f"{self.name}: the live venue is not connected to an engine")
        return self._applier

    def submit(self, order: OrderSnapshot) -> None:
        """Schedule the order's submission (the OMS already risk-checked and audited it)."""
        self._spawn(self._submit(order), f"submit {order.client_order_id}")

    def cancel(self, client_order_id: str) -> None:
        """Schedule the cancel of an order the OMS holds."""
        order = self.engine.held_order(client_order_id)
        if order is not None:
            self._spawn(self._cancel(order.symbol, client_order_id), f"cancel {client_order_id}")

    # Life cycle --------------------------------------------------------------------------

    async def start(self) -> ReconcileSummary:
        """Connect the client, reconcile with the venue, start the timers; return the summary."""
        self._reconciling = asyncio.Lock()
        await self.client.connect(self)
        summary = await self.reconcile("start")
        if self.settings.reconcile_interval_s > 0:
            self._loops.append(asyncio.create_task(self._every_reconcile()))
        if self.client.supports_cancel_after and self.settings.cancel_after_s > 0:
            await self._heartbeat()
            self._loops.append(asyncio.create_task(self._every_heartbeat()))
        return summary

    async def stop(self) -> None:
        """Stop the timers, let scheduled work finish, close the client (orders stay)."""
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops.clear()
        await self.idle()
        await self.client.close()

    async def idle(self) -> None:
        """Return once every scheduled submit, cancel, query and reconciliation is done."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def reconcile(self, reason: str) -> ReconcileSummary:
        """Compare the venue's mass status with the engine and correct the engine."""
        if self._reconciler is None or self._reconciling is None:
            raise ConfigError(f"{self.name}: reconcile before start")
        async with self._reconciling:
            since = self.trades_since_ns
            if self.applier.last_trade_ns:
                since = max(since, self.applier.last_trade_ns)
            summary = await self._reconciler.run(reason, since, self.symbols)
        self.summaries.append(summary)
        return summary

    # LiveReports (the client side) -------------------------------------------------------

    def on_order_status(self, report: OrderStatusReport) -> None:
        """Apply one order status report (tolerant; never raises)."""
        self.applier.on_status(report)

    def on_trade(self, report: TradeReport) -> None:
        """Apply one trade (deduplicated; never raises)."""
        self.applier.on_trade(report)

    def on_balance(self, report: BalanceReport) -> None:
        """Keep the latest balance of an asset (reconciliation corrects the portfolio)."""
        self.balances[report.asset] = report

    def on_position(self, report: PositionReport) -> None:
        """Keep the latest position of a symbol (reconciliation corrects the portfolio)."""
        self.positions[report.symbol] = report

    def on_stream_reconnected(self, venue: str) -> None:
        """Reconcile: what happened while the stream was down was not reported."""
        self._spawn(self._reconcile_quietly("reconnect"), "reconcile after reconnect")

    # Submission --------------------------------------------------------------------------

    async def _submit(self, order: OrderSnapshot) -> None:
        cid = order.client_order_id
        for attempt in range(self.settings.submit_retries + 1):
            try:
                venue_order_id = await self.client.submit(order)
            except OrderRejectedError as exc:
                self._refused(cid, f"{exc.code}: {exc}" if exc.code else str(exc))
                return
            except AuthenticationError as exc:
                self._refused(cid, f"authentication refused: {exc}")
                self._event("auth_failed", "critical", f"{cid}: {exc}")
                return
            except (RateLimitedError, VenueUnavailableError) as exc:
                if attempt == self.settings.submit_retries:
                    self._refused(cid, f"not sent after {attempt + 1} tries: {exc}")
                    return
                await asyncio.sleep(_retry_delay(exc, attempt))
                continue
            except AuditWriteError:
                raise
            except Exception as exc:  # OrderStatusUnknownError, or anything that may have acted
                await self._settle_unknown(order, exc)
                return
            self._acked(cid, venue_order_id)
            return

    def _acked(self, cid: str, venue_order_id: str) -> None:
        engine = self.engine
        order = engine.held_order(cid)
        if order is None:
            return
        self.applier.index(cid, venue_order_id)
        if order.status is OrderStatus.SUBMITTED:
            engine.on_accepted(cid, engine.clock.timestamp_ns(), venue_order_id)
        if engine.cancel_requested(cid) and order.is_open:
            # Asked while the submit was in flight: the venue may not have had it then.
            self._spawn(self._cancel(order.symbol, cid), f"cancel {cid}")

    def _refused(self, cid: str, reason: str) -> None:
        engine = self.engine
        order = engine.held_order(cid)
        if order is not None and order.status in (OrderStatus.NEW, OrderStatus.SUBMITTED):
            engine.on_rejected(cid, reason, engine.clock.timestamp_ns())

    async def _settle_unknown(self, order: OrderSnapshot, error: BaseException) -> None:
        cid = order.client_order_id
        self._event("order_unknown", "warning", f"{cid}: outcome unknown ({error}); querying")
        settings = self.settings
        absent = 0
        for attempt in range(settings.query_attempts):
            delays = settings.query_backoff_s
            await asyncio.sleep(delays[min(attempt, len(delays) - 1)])
            held = self.engine.held_order(cid)
            if held is None or held.status is not OrderStatus.SUBMITTED:
                return  # a stream report settled it meanwhile
            try:
                report = await self.client.query_order(order.symbol, cid)
            except (RetryableError, OrderStatusUnknownError) as exc:
                if isinstance(exc, RateLimitedError):
                    await asyncio.sleep(exc.retry_after_s)
                continue
            if report is None:
                absent += 1
                if absent >= settings.absent_after:
                    self._refused(cid, "unknown outcome: the venue has no such order")
                    return
                continue
            self.applier.on_status(report)
            return
        self._event("order_unknown", "critical", f"{cid}: still unsettled; reconciliation will")

    async def _cancel(self, symbol: str, cid: str) -> None:
        for attempt in range(self.settings.submit_retries + 1):
            try:
                await self.client.cancel(symbol, cid)
                return
            except RateLimitedError as exc:
                await asyncio.sleep(_retry_delay(exc, attempt))
            except AuditWriteError:
                raise
            except Exception as exc:  # refused or unknown: the venue's view settles it
                log.info("cancel_not_confirmed", venue=self.name, order=cid, error=str(exc))
                await self._query_into_state(symbol, cid)
                return

    async def _query_into_state(self, symbol: str, cid: str) -> None:
        held = self.engine.held_order(cid)
        if held is None or held.status is OrderStatus.SUBMITTED:
            return  # not at the venue yet: the ack re-sends the cancel
        try:
            report = await self.client.query_order(symbol, cid)
        except (RetryableError, OrderStatusUnknownError):
            return  # the next reconciliation settles it
        if report is not None:
            self.applier.on_status(report)

    # Timers ------------------------------------------------------------------------------

    async def _every_reconcile(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reconcile_interval_s)
            await self._reconcile_quietly("periodic")

    async def _reconcile_quietly(self, reason: str) -> None:
        try:
            await self.reconcile(reason)
        except (RetryableError, OrderStatusUnknownError) as exc:
            self._event("reconcile_failed", "warning", f"{reason}: {exc}")

    async def _every_heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cancel_after_s / 3)
            await self._heartbeat()

    async def _heartbeat(self) -> None:
        try:
            await self.client.heartbeat(self.settings.cancel_after_s)
        except (RetryableError, OrderStatusUnknownError) as exc:
            self._event("heartbeat_failed", "warning", str(exc))

    # Plumbing ----------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Coroutine[Any, Any, None], what: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # scheduled work never dies silently
            self.errors.append(f"{what}: {type(exc).__name__}: {exc}")
            log.error("live_task_failed", venue=self.name, task=what, error=repr(exc))
            self._event("live_task_failed", "critical", f"{what}: {type(exc).__name__}: {exc}")

    def _event(self, kind: str, level: str, message: str) -> None:
        engine = self.engine
        now = engine.clock.timestamp_ns()
        log.info("live_event", venue=self.name, kind=kind, level=level, message=message)
        engine.bus.publish(
            LIVE_EVENTS, LiveEvent(kind=kind, level=level, venue=self.name, message=message, ts=now)
        )


def _retry_delay(error: BaseException, attempt: int) -> float:
    if isinstance(error, RateLimitedError):
        return float(error.retry_after_s)
    return min(0.25 * 2.0**attempt, 5.0)
