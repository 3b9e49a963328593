"""Write order events, fills, parent orders, positions, balances and the risk halt to the store
off the hot path.

Bus handlers only take a snapshot of what changed and put it on a bounded
queue; a writer thread merges what is queued into one ``StateBatch`` (one
transaction) at a time. State is never dropped: when the queue is full the
publishing thread waits for room, and each such wait is counted
(``RecorderStatus.waits``). A failed write is retried with backoff (counted,
logged) until it succeeds or the recorder is closed. What the store misses when
the process dies (the queue's tail) is still in the audit log, which is written
before the bus publishes: ``restore`` catches the store up from it.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Protocol

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import TradefabricError
from tradefabric.execution import topics
from tradefabric.execution.algorithms.engine import ExecAlgorithmEngine
from tradefabric.execution.live.events import PORTFOLIO_CORRECTED, PortfolioCorrection
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.portfolio import Portfolio, PositionSnapshot
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import Fill, OrderEvent, ParentSnapshot
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.engine import (
    PAUSE_EVENTS,
    RISK_EVENTS,
    PauseEvent,
    RiskEngine,
    RiskStateEvent,
)
from tradefabric.risk.venue_breaker import BREAKER_EVENTS, BreakerEvent
from tradefabric.state.records import StateBatch, StrategyState, merge
from tradefabric.state.store import StateStore

log = structlog.get_logger(__name__)

OWNER = "state.recorder"
"""The bus owner of the recorder's subscriptions (``MessageBus.unsubscribe_owner``)."""


class KernelParts(Protocol):
    """What the recorder and ``restore`` use of a kernel (``TradingKernel`` has them all)."""

    bus: MessageBus
    clock: Clock
    execution: ExecutionEngine
    portfolio: Portfolio
    risk: RiskEngine
    audit: AuditLog
    algorithms: ExecAlgorithmEngine


class RecorderStatus(msgspec.Struct, frozen=True, kw_only=True):
    """What the recorder did: batches queued and written, waits on a full queue, write errors."""

    queued: int
    written: int
    transactions: int
    waits: int
    write_errors: int
    pending: int


class Recorder:
    """Record the node's state changes into ``store`` from a writer thread."""

    def __init__(
        self,
        store: StateStore,
        kernel: KernelParts,
        *,
        queue_limit: int = 10_000,
        max_batch: int = 500,
        risk_interval_ns: int = 60_000_000_000,
    ) -> None:
        """Subscribe to order events, fills and risk events; sample the day high every
        ``risk_interval_ns`` on ``clock``."""
        self.store = store
        self._bus = bus = kernel.bus
        self._execution = kernel.execution
        self._portfolio = kernel.portfolio
        self._risk = risk = kernel.risk
        self._clock = clock = kernel.clock
        self._queue: queue.Queue[StateBatch | None] = queue.Queue(maxsize=queue_limit)
        self._max_batch = max_batch
        self._queued = self._written = self._transactions = self._waits = self._errors = 0
        self._last_risk = risk.snapshot()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="state-recorder", daemon=True)
        self._thread.start()
        bus.subscribe(topics.ORDER_EVENTS, self._on_order_event, owner=OWNER)
        bus.subscribe(topics.FILLS, self._on_fill, owner=OWNER)
        bus.subscribe(topics.PARENT_EVENTS, self._on_parent, owner=OWNER)
        bus.subscribe(RISK_EVENTS, self._on_risk_event, owner=OWNER)
        # A pause or a breaker trip must survive a kill -9 as a halt does: recorded at once.
        bus.subscribe(PAUSE_EVENTS, self._on_risk_event, owner=OWNER)
        bus.subscribe(BREAKER_EVENTS, self._on_risk_event, owner=OWNER)
        bus.subscribe(PORTFOLIO_CORRECTED, self._on_correction, owner=OWNER)
        clock.set_timer(risk_interval_ns, self._sample_risk)

    # Hot path: snapshot and enqueue --------------------------------------------------------

    def _on_order_event(self, event: OrderEvent) -> None:
        order = self._execution.order(event.client_order_id)
        if order is not None:
            self.put(StateBatch(orders=(order,)))

    def _on_fill(self, fill: Fill) -> None:
        portfolio = self._portfolio
        self.put(
            StateBatch(
                fills=(fill,),
                positions=(portfolio.position(InstrumentId(fill.venue, fill.symbol)).snapshot(),),
                balances=tuple(portfolio.venue_balances(fill.venue)),
                totals=portfolio.totals(),
            )
        )

    def _on_parent(self, parent: ParentSnapshot) -> None:
        # Its children are orders (recorded above): a restart rebuilds the parent from both.
        self.put(StateBatch(parents=(parent,)))

    def _on_correction(self, correction: PortfolioCorrection) -> None:
        # Reconciliation set a balance or position to the venue's: store what it is now.
        portfolio = self._portfolio
        venue = correction.venue
        positions: tuple[PositionSnapshot, ...] = ()
        if correction.symbol:
            positions = (portfolio.position(InstrumentId(venue, correction.symbol)).snapshot(),)
        self.put(StateBatch(positions=positions, balances=tuple(portfolio.venue_balances(venue))))

    def _on_risk_event(self, _event: RiskStateEvent | PauseEvent | BreakerEvent) -> None:
        self._record_risk()

    def _sample_risk(self, _due_ns: int) -> None:
        if self._closed:
            return  # clocks cannot cancel one timer
        snapshot = self._risk.snapshot()
        last = self._last_risk
        if (snapshot.day, snapshot.day_high, snapshot.halted) != (
            last.day,
            last.day_high,
            last.halted,
        ):
            self._record_risk()

    def _record_risk(self) -> None:
        self._last_risk = self._risk.snapshot()
        self.put(StateBatch(risk=self._last_risk))

    def save_strategy_state(self, strategy_id: str, data: bytes) -> None:
        """Save what a strategy wants back after a restart (``StateStore.strategy_state``)."""
        state = StrategyState(strategy_id=strategy_id, data=data, ts=self._clock.timestamp_ns())
        self.put(StateBatch(strategies=(state,)))

    def put(self, batch: StateBatch) -> None:
        """Queue ``batch`` for the writer; wait for room when the queue is full (counted)."""
        if self._closed:
            raise TradefabricError("state recorder: put after close")
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            self._waits += 1
            self._queue.put(batch)
        self._queued += 1

    # Writer thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batches = [] if first is None else [first]
            stop = first is None
            while not stop and len(batches) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batches.append(item)
            if batches:
                self._write(merge(batches), len(batches))
            for _ in range(len(batches) + stop):
                self._queue.task_done()
            if stop:
                return

    def _write(self, batch: StateBatch, count: int) -> None:
        delay = 0.05
        while True:
            try:
                self.store.write(batch)
            except Exception as exc:
                self._errors += 1
                log.warning("state store write failed; retrying", error=str(exc), delay_s=delay)
                if self._closed and self._errors > 50:
                    log.error("state store unwritable at close; batch lost", batches=count)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._written += count
            self._transactions += 1
            return

    def flush(self) -> None:
        """Return once everything queued so far is in the store."""
        self._queue.join()

    def status(self) -> RecorderStatus:
        """Return the recorder's counters."""
        return RecorderStatus(
            queued=self._queued, written=self._written, transactions=self._transactions,
            waits=self._waits, write_errors=self._errors, pending=self._queue.qsize(),
        )  # fmt: skip

    def close(self) -> RecorderStatus:
        """Write everything queued, stop the writer thread, return the counters."""
        if not self._closed:
            self._bus.unsubscribe_owner(OWNER)
            self._closed = True
            self._queue.put(None)
            self._thread.join()
        return self.status()
