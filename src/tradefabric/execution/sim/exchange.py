"""The simulated venue: backtest and paper trading fill here, live trading does not.

It keeps its own clock: the venue time of the latest market data it saw (a
candle's open or end, a trade's or book change's ``ts_event``), so an order's
arrival (send time + latency) and its fills are decided by market data alone,
the same in a backtest and in paper trading on live feeds.

``matching`` is ``candles`` (``matching_candles``' conservative rules) or ``book``
(``matching_book``: walk the L2 book, fill passive orders from trades). It
subscribes to market data on the bus; the kernel builds it before the
strategies so that, for each event, the venue matches first and the strategy
sees the event after (an order sent on a candle's close cannot fill inside it).
Reports are delivered after each match, never in the middle of one, so a
strategy reacting to a fill cannot change the lists being matched.

Candle matching uses only the venue's own candles (``candle.venue == name``)
of one interval per instrument (``SimExchangeConfig.interval``/``intervals``,
default: the run's interval), and an order only ever meets a candle that
opened at or after its arrival: when 1s and 1m candles both flow, the 1m
candle closing after a mid-minute order began before it and cannot fill it.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.client import ExecutionReports
from tradefabric.execution.sim.fees import FeeConfig, FeeModel
from tradefabric.execution.sim.latency import LatencyConfig, LatencyModel
from tradefabric.execution.sim.matching_book import BookMatch, LiquidityLedger
from tradefabric.execution.sim.matching_candles import CandleMatch
from tradefabric.execution.sim.state import ReportKind, SimOrder, SimReport
from tradefabric.model.data import Candle, OrderBookDeltas, Trade
from tradefabric.model.orders import Fill, OrderSnapshot


class Matching(enum.StrEnum):
    """What the simulated venue matches against."""

    CANDLES = "candles"
    BOOK = "book"


class SimExchangeConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How one simulated venue fills."""

    matching: Matching = Matching.CANDLES
    fees: FeeConfig = FeeConfig()
    latency: LatencyConfig = LatencyConfig()
    slippage_bps: float = 0.0
    """Fixed slippage of candle-matched takers (ignored when an impact curve is given)."""
    max_participation: float | None = 1.0
    """Share of a candle's volume our fills may take in total (None: no cap)."""
    liquidity_model: Path | None = None
    """A fitted liquidity forecaster (``execution.liquidity``, JSON): candle-matched
    takers then pay its forecast from the live book instead of ``slippage_bps``."""
    interval: str | None = None
    """The candle interval candle matching uses for every instrument (None: per
    instrument, the interval of the strategy trading it, else ``data.interval``)."""
    intervals: dict[str, str] = msgspec.field(default_factory=dict)
    """Per-symbol override of ``interval`` (symbol -> interval)."""

    def __post_init__(self) -> None:
        if not 0 <= self.slippage_bps < 10_000:
            raise ConfigError(f"sim.slippage_bps: must be in [0, 10000), got {self.slippage_bps}")
        participation = self.max_participation
        if participation is not None and not 0 < participation <= 1:
            raise ConfigError(f"sim.max_participation: must be in (0, 1], got {participation}")
        for key, interval in (("interval", self.interval), *self.intervals.items()):
            if interval is not None:
                try:
                    interval_to_ns(interval)
                except ConfigError as exc:
                    raise ConfigError(f"venues: interval of {key}: {exc}") from exc


class BookSource(Protocol):
    """Where the venue reads the current L2 book (``OrderBooks`` of the data node)."""

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """Return the book of (venue, symbol), or None."""
        ...


ImpactCurve = Callable[[str, float], float]
"""(symbol, notional) -> expected slippage in bps: the liquidity forecaster's curve."""


class SimulatedExchange:
    """A venue that fills orders from market data; see the module docstring."""

    def __init__(
        self,
        name: str,
        bus: MessageBus,
        config: SimExchangeConfig,
        *,
        seed: int,
        books: BookSource | None = None,
        impact: ImpactCurve | None = None,
        default_interval: str = "1m",
        default_intervals: Mapping[str, str] | None = None,
    ) -> None:
        """``default_interval`` and ``default_intervals`` (symbol -> interval, e.g. the
        interval of the strategy trading it) apply where ``config`` sets none."""
        self.name = name
        self.config = config
        self._interval = config.interval or default_interval
        defaults = dict(default_intervals or {}) if config.interval is None else {}
        self._intervals = {**defaults, **config.intervals}
        self._fees = FeeModel(name, config.fees)
        self._latency = LatencyModel(config.latency, seed)
        self._books = books
        self._impact = impact
        self.impact = impact
        """The impact curve takers pay (the liquidity forecaster), or None."""
        self._reports: ExecutionReports | None = None
        self._pending: list[tuple[int, int, SimOrder]] = []
        self._orders: dict[str, list[SimOrder]] = {}
        self._by_id: dict[str, SimOrder] = {}
        self._positions: dict[str, float] = {}
        self._ledger = LiquidityLedger()
        self._oco: dict[str, list[SimOrder]] = {}
        """OCO group -> its orders, until all of them are done."""
        self._seq = 0
        self._fills = 0
        self._outbox: list[SimReport] = []
        self._delivering = False
        self.market_ns = 0
        self.orders_received = 0
        """Orders that reached this venue (what a halt must keep at zero)."""
        if config.matching is Matching.CANDLES:
            bus.subscribe(topics.CANDLES, self.on_candle)
        else:
            bus.subscribe(topics.TRADES, self.on_trade)
            bus.subscribe(topics.BOOK_DELTAS, self.on_book_deltas)

    def connect(self, reports: ExecutionReports) -> None:
        """Deliver every later report to ``reports``."""
        self._reports = reports

    def submit(self, order: OrderSnapshot) -> None:
        """Take an order; it reaches the matching engine after its latency."""
        self.orders_received += 1
        self._seq += 1
        sim = SimOrder(order, self.market_ns + self._latency.sample_ns(), self._seq)
        self._by_id[sim.client_order_id] = sim
        self._orders.setdefault(sim.symbol, []).append(sim)
        if sim.oco_group:
            group = self._oco.setdefault(sim.oco_group, [])
            group.append(sim)
            sim.siblings = group
        if self.config.matching is Matching.BOOK:
            heapq.heappush(self._pending, (sim.arrival_ns, sim.seq, sim))
            self._arrive_book(sim.symbol, self.market_ns)

    def cancel(self, client_order_id: str) -> None:
        """Ask to cancel; the request reaches the venue after its latency."""
        sim = self._by_id.get(client_order_id)
        if sim is None or sim.leaves <= 0.0:
            return
        sim.cancel_at_ns = self.market_ns + self._latency.sample_ns()
        if self.config.matching is Matching.BOOK:
            self._cancels_due(sim.symbol, self.market_ns)
            self._deliver()

    def open_orders(self) -> int:
        """Return how many orders the venue holds with quantity left."""
        return sum(1 for o in self._by_id.values() if o.leaves > 0.0)

    # Candle matching ---------------------------------------------------------------------

    def matching_interval(self, symbol: str) -> str:
        """Return the candle interval ``symbol``'s orders are matched against."""
        return self._intervals.get(symbol, self._interval)

    def on_candle(self, candle: Candle) -> None:
        """Match the orders of ``candle``'s symbol against it; then move to its end.

        Candles of another venue or of another interval than the symbol's matching
        interval are ignored (they only move the venue's clock forward).
        """
        if candle.venue != self.name:
            return
        orders = self._orders.get(candle.symbol)
        if orders and candle.interval == self._intervals.get(candle.symbol, self._interval):
            self.market_ns = max(self.market_ns, candle.ts_open)
            self._cancels_due(candle.symbol, candle.ts_open)
            # Only candles that opened once the order was there: never one that began before.
            arrived = [o for o in orders if o.arrival_ns <= candle.ts_open]
            if arrived:
                match = CandleMatch(
                    candle, self.config.max_participation, self._slippage_bps, self._positions
                )
                match.run([o for o in arrived if o.leaves > 0.0])
                self._outbox.extend(match.reports)
                self._prune(candle.symbol)
        self.market_ns = max(self.market_ns, candle.ts_event)
        if self._outbox:
            self._deliver()

    def _slippage_bps(self, o: SimOrder, quantity: float, reference: float) -> float:
        if self._impact is not None:
            return self._impact(o.symbol, quantity * reference)
        return self.config.slippage_bps

    # Book matching -----------------------------------------------------------------------

    def on_trade(self, trade: Trade) -> None:
        """Fill resting orders the trade reached, then admit orders that arrived by now."""
        if trade.venue != self.name:
            return
        self.market_ns = trade.ts_event
        orders = self._orders.get(trade.symbol)
        book = self._book(trade.symbol)
        if orders and book is not None:
            self._cancels_due(trade.symbol, trade.ts_event)
            match = BookMatch(book, self._ledger, self._positions, trade.ts_event)
            match.on_trade(trade, [o for o in orders if o.active and o.leaves > 0.0])
            self._outbox.extend(match.reports)
            self._arrive_book(trade.symbol, trade.ts_event)

    def on_book_deltas(self, deltas: OrderBookDeltas) -> None:
        """Admit orders that arrived by the book change's time."""
        if deltas.venue != self.name:
            return
        self.market_ns = deltas.ts_event
        if self._orders.get(deltas.symbol):
            self._cancels_due(deltas.symbol, deltas.ts_event)
            self._arrive_book(deltas.symbol, deltas.ts_event)

    def _book(self, symbol: str) -> OrderBook | None:
        if self._books is None:
            return None
        book = self._books.book(self.name, symbol)
        return book if book is not None and book.valid else None

    def _arrive_book(self, symbol: str, now: int) -> None:
        book = self._book(symbol)
        pending = self._pending
        if book is not None:
            match = BookMatch(book, self._ledger, self._positions, now)
            while pending and pending[0][0] <= now:
                _, _, sim = heapq.heappop(pending)
                if sim.leaves > 0.0 and not sim.active:
                    match.arrive(sim)
            self._outbox.extend(match.reports)
        self._prune(symbol)
        self._deliver()

    # Shared ------------------------------------------------------------------------------

    def _cancels_due(self, symbol: str, now: int) -> None:
        for o in self._orders.get(symbol, ()):
            if 0 <= o.cancel_at_ns <= now and o.leaves > 0.0:
                o.leaves = 0.0
                if not o.active:
                    o.active = True
                    self._outbox.append(SimReport(ReportKind.ACCEPTED, o, now))
                self._outbox.append(SimReport(ReportKind.CANCELLED, o, now, "cancel requested"))

    def _prune(self, symbol: str) -> None:
        orders = self._orders.get(symbol)
        if orders is not None and any(o.leaves <= 0.0 for o in orders):
            live = [o for o in orders if o.leaves > 0.0]
            self._orders[symbol] = live
            for o in orders:
                if o.leaves <= 0.0:
                    self._by_id.pop(o.client_order_id, None)
                    if o.oco_group and all(s.leaves <= 0.0 for s in o.siblings):
                        self._oco.pop(o.oco_group, None)

    def _deliver(self) -> None:
        # Reports can make strategies send orders, which can add reports: drain in a loop,
        # and never re-enter (the outer loop picks up what inner calls appended).
        if self._delivering or self._reports is None:
            return
        self._delivering = True
        try:
            outbox = self._outbox
            while outbox:
                report = outbox.pop(0)
                self._send(report)
        finally:
            self._delivering = False

    def _send(self, report: SimReport) -> None:
        reports = self._reports
        assert reports is not None  # checked by _deliver
        o = report.order
        if report.kind is ReportKind.ACCEPTED:
            reports.on_accepted(o.client_order_id, report.ts_event)
        elif report.kind is ReportKind.CANCELLED:
            reports.on_cancelled(o.client_order_id, report.reason, report.ts_event)
        elif report.kind is ReportKind.REJECTED:
            reports.on_rejected(o.client_order_id, report.reason, report.ts_event)
        else:
            self._fills += 1
            fee = self._fees.fee(report.price, report.quantity, report.liquidity)
            reports.on_fill(
                Fill(
                    fill_id=f"{self.name}-F{self._fills}",
                    client_order_id=o.client_order_id,
                    strategy_id=o.strategy_id,
                    venue=self.name,
                    symbol=o.symbol,
                    side=o.side,
                    price=report.price,
                    quantity=report.quantity,
                    fee=fee,
                    fee_currency=o.symbol.partition("/")[2].partition(":")[0],
                    liquidity=report.liquidity,
                    slippage_bps=report.slippage_bps,
                    ts_event=report.ts_event,
                    ts_init=report.ts_event,
                )
            )
