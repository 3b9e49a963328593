"""The execution algorithm engine: parent orders between the strategies and the OMS.

A strategy names an algorithm on its order request (``OrderRequest.exec_algorithm``
with typed ``exec_params``) and sends it with ``StrategyContext.submit_algo``. The
engine checks the parent with the risk engine once, then the algorithm spawns child
orders through the execution engine, where risk checks each of them again. Child
fills and transitions route back to the parent; every change of the parent is
published on ``execution.topics.PARENT_EVENTS`` (the kernel hands it to the
strategy's ``on_parent_event``). Cancelling the parent cancels its open children.

The algorithm clock is a ``SimClock`` advanced to the venue time of every book
change and trade (market time). In a backtest that is the replayed data's time; in
paper trading on an accelerated fake venue it is the same data's time, not the
wall clock, so the same data gives the same children in both. Live, market time
follows the wall clock within the feed's latency.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, SimClock
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.algorithms.base import POST_ONLY_REJECTED, AlgoError, ExecAlgorithm
from tradefabric.execution.algorithms.parent import CHILD_TAG, EPSILON, Parent
from tradefabric.execution.liquidity import book_slippage
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.sim.exchange import BookSource, ImpactCurve
from tradefabric.model.data import OrderBookDeltas, Trade
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import (
    ChildMark,
    Fill,
    OrderEvent,
    OrderRequest,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    ParentSnapshot,
)

AlgoFactory = Callable[[Parent, object], ExecAlgorithm]


class ExecAlgorithmEngine:
    """Parent orders worked by registered algorithms; see the module docstring."""

    def __init__(
        self,
        bus: MessageBus,
        execution: ExecutionEngine,
        node_clock: Clock,
        *,
        books: BookSource | None = None,
        seed: int = 0,
        algorithms: Mapping[str, type[ExecAlgorithm]] | None = None,
    ) -> None:
        self._bus = bus
        self.execution = execution
        self._books = books
        self._seed = seed
        self._node_clock = node_clock
        self.clock = SimClock()
        """The algorithm clock: market time (see the module docstring)."""
        self._clock_started = False
        self._algorithms: dict[str, type[ExecAlgorithm]] = dict(algorithms or {})
        self._parents: dict[str, Parent] = {}
        self._by_child: dict[str, Parent] = {}
        self._working: dict[tuple[str, str], list[Parent]] = {}
        self._market: dict[tuple[str, str], list[Parent]] = {}
        """Parents whose market VWAP still takes trades: working ones, and closed ones until
        a trade stamped after their close (the trade that filled the last child is often
        handled after the fill closed the parent)."""
        self._forecasters: dict[str, ImpactCurve] = {}
        self._resuming: list[Parent] = []
        """Restored parents that resume at the first market event (market time)."""
        self._orphans: dict[str, list[OrderSnapshot]] = {}
        """Children of parents whose stored record was lost: adopted when resubmitted."""
        self._orphan_fills: list[Fill] = []
        self._counter = 0
        self.children_sent = 0
        bus.subscribe(topics.BOOK_DELTAS, self._on_deltas)
        bus.subscribe(topics.TRADES, self._on_trade)
        bus.subscribe(exec_topics.ORDER_EVENTS, self._on_order_event)
        bus.subscribe(exec_topics.FILLS, self._on_fill)

    def register(self, algorithm: type[ExecAlgorithm]) -> None:
        """Make ``algorithm`` available under ``algorithm.name``."""
        if not algorithm.name:
            raise AlgoError(f"{algorithm.__qualname__}: an execution algorithm needs a name")
        self._algorithms[algorithm.name] = algorithm

    def set_forecaster(self, venue: str, curve: ImpactCurve) -> None:
        """Forecast pre-trade slippage on ``venue`` with ``curve`` (the liquidity forecaster)."""
        self._forecasters[venue] = curve

    # Strategy side -----------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> ParentSnapshot:
        """Risk-check a parent once and start its algorithm; return its state after that."""
        algorithm = self._algorithms.get(request.exec_algorithm)
        if algorithm is None:
            known = ", ".join(sorted(self._algorithms)) or "none"
            raise AlgoError(
                f"exec_algorithm {request.exec_algorithm!r} is not registered (known: {known})"
            )
        params = request.exec_params if request.exec_params is not None else algorithm.Params()
        if not isinstance(params, algorithm.Params):
            raise AlgoError(
                f"exec_params of {request.exec_algorithm!r} must be {algorithm.Params.__name__},"
                f" got {type(params).__name__}"
            )
        if not self._clock_started:
            # No market data yet: start the algorithm clock at the node's time.
            self._advance(self._node_clock.timestamp_ns())
        parent_id = request.client_order_id or self._next_id(request.strategy_id)
        if parent_id in self._parents:
            return self._parents[parent_id].snapshot()
        parent = Parent(self, request, parent_id, self._seed)
        algo = algorithm(parent, params)  # validates the parameters first
        self._parents[parent_id] = parent
        self._adopt(parent, self._orphans.pop(parent_id, []), self._orphan_fills)
        self._arrival(parent, algo)
        decision = self.execution.risk.check(_as_order(parent), system=False)
        if not decision.accepted:
            parent.status = OrderStatus.REJECTED
            parent.reason = decision.reason
            self.publish(parent)
            return parent.snapshot()
        parent.algorithm = algo
        parent.status = OrderStatus.ACCEPTED
        self._working.setdefault((request.venue, request.symbol), []).append(parent)
        self._market.setdefault((request.venue, request.symbol), []).append(parent)
        self.publish(parent)
        self.guarded(parent, algo.start)
        return parent.snapshot()

    def restore(
        self, parents: list[ParentSnapshot], orders: list[OrderSnapshot], fills: list[Fill]
    ) -> int:
        """Take back the parents a previous run of this node stored; return how many resume.

        ``orders`` and ``fills`` are the restored ones (the state store's, caught up from
        the audit log): a parent's children are the orders tagged with its id, so a child
        sent after the parent's last stored state still counts, and its number is never
        used again. Finished parents are kept for idempotent resubmission (the strategy
        sending the same parent id again gets it back, nothing is sent). Open ones resume
        at the first market event: each algorithm's ``resume`` sends what is left.
        """
        children: dict[str, list[OrderSnapshot]] = {}
        for order in orders:
            if order.tag.startswith(CHILD_TAG):
                children.setdefault(order.tag.removeprefix(CHILD_TAG), []).append(order)
        resumed = 0
        for snapshot in parents:
            parent = Parent.from_snapshot(self, snapshot, self._seed)
            self._parents[parent.parent_id] = parent
            self._adopt(parent, children.pop(parent.parent_id, []), fills)
            if parent.status not in _CLOSED and self._rearm(parent):
                resumed += 1
        self._orphans = children
        orphan_ids = {o.client_order_id for group in children.values() for o in group}
        self._orphan_fills = [f for f in fills if f.client_order_id in orphan_ids]
        return resumed

    def _adopt(self, parent: Parent, orders: list[OrderSnapshot], fills: list[Fill]) -> None:
        parent.adopt(orders, fills)
        for child_id in parent.children:
            self._by_child[child_id] = parent

    def _rearm(self, parent: Parent) -> bool:
        """Give a restored open parent its algorithm again; False when it cannot run."""
        algorithm = self._algorithms.get(parent.request.exec_algorithm)
        params = parent.request.exec_params
        if algorithm is not None and params is None:
            params = algorithm.Params()
        if algorithm is None or not isinstance(params, algorithm.Params):
            parent.reason = f"exec_algorithm {parent.request.exec_algorithm!r} gone after restart"
            parent.status = OrderStatus.CANCELLED
            return False
        parent.algorithm = algorithm(parent, params)
        key = (parent.request.venue, parent.request.symbol)
        self._working.setdefault(key, []).append(parent)
        self._market.setdefault(key, []).append(parent)
        self._resuming.append(parent)
        return True

    def _resume(self) -> None:
        resuming, self._resuming = self._resuming, []
        for parent in resuming:
            self.settle(parent)  # everything filled before the crash: it closes now
            algo = parent.algorithm
            if algo is not None and parent.active:
                self.publish(parent)
                self.guarded(parent, algo.resume)

    def cancel(self, parent_id: str) -> None:
        """Cancel a parent: its algorithm stops and its open children are cancelled."""
        parent = self._parents.get(parent_id)
        if parent is None or not parent.active:
            return
        parent.cancelling = True
        if parent.algorithm is not None:
            parent.algorithm.on_cancel()
        parent.cancel_children()
        self.settle(parent)

    def parent(self, parent_id: str) -> ParentSnapshot | None:
        """Return a parent's state, or None."""
        parent = self._parents.get(parent_id)
        return None if parent is None else parent.snapshot()

    def parents(self) -> list[ParentSnapshot]:
        """Return every parent of the run, in submission order."""
        return [p.snapshot() for p in self._parents.values()]

    def parent_of(self, client_order_id: str) -> str | None:
        """Return the parent id of a child order, or None."""
        parent = self._by_child.get(client_order_id)
        return None if parent is None else parent.parent_id

    # Used by parents ---------------------------------------------------------------------------

    def register_child(self, child_id: str, parent: Parent) -> None:
        """Route the reports of ``child_id`` to ``parent``."""
        self._by_child[child_id] = parent
        self.children_sent += 1

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """Return the valid book of (venue, symbol), or None."""
        if self._books is None:
            return None
        book = self._books.book(venue, symbol)
        return book if book is not None and book.valid else None

    def publish(self, parent: Parent) -> None:
        """Publish the parent's current state."""
        parent.ts_last = self.clock.timestamp_ns()
        self._bus.publish(exec_topics.PARENT_EVENTS, parent.snapshot())

    def guarded(self, parent: Parent, callback: Callable[[], None]) -> None:
        """Run an algorithm callback; one that raises ends its parent, not the engine."""
        if parent.status in _CLOSED:
            return
        try:
            callback()
        except Exception as exc:  # the algorithm's fault: stop it, cancel its children
            parent.reason = f"algorithm failed: {type(exc).__name__}: {exc}"
            self.cancel(parent.parent_id)
            self._bus.report_fault(exec_topics.PARENT_EVENTS.name, None, exc)

    def settle(self, parent: Parent) -> None:
        """Close the parent when it sends nothing more and no child is open or pending."""
        if parent.status in _CLOSED:
            return
        filled = parent.filled
        complete = filled >= parent.quantity - EPSILON
        if parent.working > EPSILON or not (complete or not parent.active):
            return
        if complete:
            parent.status = OrderStatus.FILLED
        elif parent.cancelling:
            parent.status = OrderStatus.CANCELLED
        else:
            parent.status = OrderStatus.EXPIRED
        if parent.algorithm is not None:
            parent.algorithm.active = False
        working = self._working.get((parent.request.venue, parent.request.symbol), [])
        if parent in working:
            working.remove(parent)
        self.publish(parent)

    # Bus handlers ------------------------------------------------------------------------------

    def _advance(self, ts_ns: int) -> None:
        self._clock_started = True
        self.clock.advance_to(ts_ns)

    def _on_market(self, ts_ns: int) -> None:
        self._advance(ts_ns)
        if self._resuming:
            self._resume()

    def _on_deltas(self, deltas: OrderBookDeltas) -> None:
        self._on_market(deltas.ts_event)
        working = self._working.get((deltas.venue, deltas.symbol))
        if not working:
            return
        book = self.book(deltas.venue, deltas.symbol)
        if book is None:
            return
        for parent in list(working):
            algo = parent.algorithm
            if algo is not None and parent.active:
                self.guarded(parent, functools.partial(algo.on_book, book))

    def _on_trade(self, trade: Trade) -> None:
        self._on_market(trade.ts_event)
        watched = self._market.get((trade.venue, trade.symbol))
        if not watched:
            return
        for parent in list(watched):
            if parent.status in _CLOSED and trade.ts_event > parent.ts_last:
                watched.remove(parent)  # the market after the parent's close
            else:
                parent.on_market_trade(trade)

    def _on_order_event(self, event: OrderEvent) -> None:
        parent = self._by_child.get(event.client_order_id)
        if parent is None or parent.status in _CLOSED:
            return
        finished = parent.on_child_event(event.client_order_id, event.status, event.filled_quantity)
        if not finished:
            return
        algo = parent.algorithm
        child = self.execution.order(event.client_order_id)
        if algo is not None and child is not None and parent.active:
            if event.status is OrderStatus.REJECTED and parent.is_post_only_rejection(
                event.client_order_id, event.previous
            ):
                child = _post_only_rejected(child)
            self.guarded(parent, functools.partial(algo.on_child_done, child))
        self.settle(parent)

    def _on_fill(self, fill: Fill) -> None:
        parent = self._by_child.get(fill.client_order_id)
        if parent is not None:
            parent.on_fill(fill)
            self.publish(parent)

    # Internals ---------------------------------------------------------------------------------

    def _arrival(self, parent: Parent, algo: ExecAlgorithm) -> None:
        request = parent.request
        mid, forecast = self._forecast(request, algo.child_size())
        parent.arrival_price = mid
        parent.forecast_bps = forecast

    def mark(self, child_id: str, request: OrderRequest) -> ChildMark:
        """Return a child's mid and slippage forecast at the moment it is sent."""
        mid, forecast = self._forecast(request, request.quantity)
        book = self.book(request.venue, request.symbol)
        spread = None if book is None else book.spread()
        return ChildMark(client_order_id=child_id, mid=mid, forecast_bps=forecast, spread=spread)

    def _forecast(
        self, request: OrderRequest, quantity: float
    ) -> tuple[float | None, float | None]:
        """Return the mid now and the forecast slippage (bps) of ``quantity`` against it."""
        book = self.book(request.venue, request.symbol)
        mid = book.mid() if book is not None else self.execution.last_price(_instrument(request))
        if math.isnan(mid):
            return None, None
        notional = quantity * mid
        curve = self._forecasters.get(request.venue)
        forecast = math.nan
        if curve is not None:
            forecast = curve(request.symbol, notional)
        elif book is not None:
            forecast = _walk_forecast(book, notional, request)
        return mid, None if math.isnan(forecast) else forecast

    def _next_id(self, strategy_id: str) -> str:
        self._counter += 1
        candidate = f"{strategy_id}-P{self._counter}"
        while candidate in self._parents or self.execution.order(candidate) is not None:
            self._counter += 1
            candidate = f"{strategy_id}-P{self._counter}"
        return candidate


_CLOSED = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


def _instrument(request: OrderRequest) -> InstrumentId:
    return InstrumentId(request.venue, request.symbol)


def _walk_forecast(book: OrderBook, notional: float, request: OrderRequest) -> float:
    """Return the naive forecast: walking the book as it is now (no forecaster configured)."""
    buy, sell = book_slippage(book, [notional])
    return buy[0] if request.side.sign > 0 else sell[0]


def _post_only_rejected(child: OrderSnapshot) -> OrderSnapshot:
    """Mark a child's snapshot as refused for being post-only (``reason`` carries no meaning)."""
    return msgspec.structs.replace(child, tag=POST_ONLY_REJECTED)


def _as_order(parent: Parent) -> OrderSnapshot:
    """Return the parent as the order the risk engine checks once (its full quantity)."""
    request = parent.request
    limit = request.price is not None
    return OrderSnapshot(
        client_order_id=parent.parent_id, strategy_id=request.strategy_id, venue=request.venue,
        symbol=request.symbol, side=request.side,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET, quantity=request.quantity,
        price=request.price, trigger_price=None, time_in_force=request.time_in_force,
        post_only=False, reduce_only=request.reduce_only, status=OrderStatus.NEW,
        filled_quantity=0.0, avg_price=0.0, fees=0.0, tag=f"parent {request.exec_algorithm}",
        ts_init=parent.ts_init, ts_last=parent.ts_init,
    )  # fmt: skip
