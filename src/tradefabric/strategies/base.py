"""The Strategy API: what a strategy may do, and the context it does it through.

A strategy never sees a venue client, a clock implementation or the mode it
runs in. It receives market data and its own order events and fills, and acts
only through ``StrategyContext``: every order it sends goes through the risk
engine. The same strategy object runs in backtest, paper and live.

The context offers, besides orders:

- **history** (``history``): the last N closed candles of an instrument and
  interval, a bounded ring updated before the strategy's ``on_candle``;
- **indicators** (``indicator``): streaming indicators of
  ``strategies.indicators`` on one instrument's candles, equal to the batch
  forms, updated before ``on_candle``;
- **market** (``book``, ``quote``, ``last_price``): the L2 book (when the node
  has books), the latest best bid/ask, the latest price;
- **timers** (``set_timer``, ``set_alarm``) on the node's clock, so a backtest
  stays deterministic;
- **portfolio** (``position``, ``balance``, ``equity``, ``open_orders``);
- **orders**: ``submit``, ``cancel`` (only the strategy's own orders: another
  strategy's order is refused with ``StrategyError``), ``oco`` (two orders, one
  cancelled when the other fills) and ``bracket`` (an entry whose fills send
  an OCO pair of stop-loss and take-profit for the quantity filled).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, TimerCallback
from tradefabric.core.errors import FatalError
from tradefabric.core.time import NS_PER_DAY
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.algorithms.engine import ExecAlgorithmEngine
from tradefabric.execution.oms import ExecutionEngine
from tradefabric.execution.precision import Precision
from tradefabric.execution.sim.exchange import BookSource
from tradefabric.model.data import Candle, Quote, Trade
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import (
    Fill,
    OrderEvent,
    OrderRequest,
    OrderSide,
    OrderSnapshot,
    OrderType,
    ParentSnapshot,
)
from tradefabric.strategies.history import CandleHistory
from tradefabric.strategies.indicators import CandleIndicator

if TYPE_CHECKING:
    from tradefabric.strategies.plugin import PluginStrategyConfig

IndicatorT = TypeVar("IndicatorT", bound=CandleIndicator)
_ALARM_REPEAT_NS = 100 * 365 * NS_PER_DAY
"""A one-shot alarm is a timer whose next due time never comes in practice."""


class StrategyError(FatalError):
    """A strategy was built or used wrongly."""


TIMER_TOPIC = "strategies.timer"
"""The name a timer callback's fault is reported under (``MessageBus.report_fault``)."""


class Timer:
    """A timer or alarm set through the context; ``cancel`` stops it.

    A callback that raises is the strategy's fault, not the clock's: with a bus
    the fault is reported under the strategy's owner (the node stops that
    strategy) and the timer stops; the clock and the other components go on.
    """

    __slots__ = ("_callback", "_ctx", "_once", "active")

    def __init__(self, callback: TimerCallback, once: bool, ctx: StrategyContext) -> None:
        self._callback = callback
        self._once = once
        self._ctx = ctx
        self.active = True

    def cancel(self) -> None:
        """Stop calling back."""
        self.active = False

    def fire(self, due_ns: int) -> None:
        """Call back at ``due_ns`` if still active (an alarm fires once)."""
        if not self.active or self._ctx.closed:
            return
        if self._once:
            self.active = False
        try:
            self._callback(due_ns)
        except Exception as exc:
            self.active = False
            self._ctx.report_fault(TIMER_TOPIC, exc)


class _Feed:
    """The histories and indicators of one (venue, symbol, interval)."""

    __slots__ = ("histories", "indicators")

    def __init__(self) -> None:
        self.histories: list[CandleHistory] = []
        self.indicators: list[CandleIndicator] = []


class _Bracket(msgspec.Struct, frozen=True):
    entry: OrderRequest
    stop_loss: float | None
    take_profit: float | None


class StrategyContext:
    """A strategy's handle on the system; see the module docstring."""

    def __init__(
        self,
        strategy_id: str,
        execution: ExecutionEngine,
        clock: Clock,
        *,
        bus: MessageBus | None = None,
        owned: tuple[str, ...] = (),
        books: BookSource | None = None,
        owner: str | None = None,
        algorithms: ExecAlgorithmEngine | None = None,
    ) -> None:
        """``owned``: the strategy ids this strategy may trade and cancel as (default its
        own id); ``owner``: the bus owner its subscriptions and faults are filed under;
        ``algorithms``: the execution algorithms ``submit_algo`` sends parents to."""
        self._algorithms = algorithms
        self.strategy_id = strategy_id
        self._owner = owner
        self.closed = False
        """Set by ``close``: timers stop calling back (the strategy was stopped)."""
        self._execution = execution
        self._clock = clock
        self._bus = bus
        self._owned = frozenset(owned or (strategy_id,))
        self._books = books
        self._feeds: dict[tuple[str, str, str], _Feed] = {}
        self._candles_subscribed = False
        self._quotes: dict[tuple[str, str], Quote] = {}
        self._brackets: dict[str, _Bracket] = {}
        self._fills_subscribed = False
        self._groups = 0
        self._state_saver: Callable[[str, bytes], None] | None = None
        if bus is not None:
            bus.subscribe(topics.QUOTES, self._on_quote, owner)

    def now_ns(self) -> int:
        """Return the node's time."""
        return self._clock.timestamp_ns()

    def save_state(self, data: bytes) -> None:
        """Keep ``data`` for this strategy across restarts (``Strategy.on_restore`` gets it).

        Written by the state store's writer thread; without a state store (backtests)
        nothing is kept.
        """
        if self._state_saver is not None:
            self._state_saver(self.strategy_id, data)

    def set_state_saver(self, saver: Callable[[str, bytes], None] | None) -> None:
        """Give the context where ``save_state`` writes (the node's state recorder)."""
        self._state_saver = saver

    # Orders ------------------------------------------------------------------------------

    def submit(self, request: OrderRequest) -> OrderSnapshot:
        """Send an order through the risk engine; return its state after the risk decision."""
        if request.strategy_id not in self._owned:
            raise StrategyError(
                f"strategy {self.strategy_id} may not send orders as {request.strategy_id!r}"
            )
        return self._execution.submit(request)

    def submit_algo(self, request: OrderRequest) -> ParentSnapshot:
        """Send a parent order to the execution algorithm it names (``exec_algorithm``).

        The parent is risk-checked once, each child it spawns again; the strategy sees
        the parent's progress in ``on_parent_event`` and each child's own events and
        fills as for any order.
        """
        if request.strategy_id not in self._owned:
            raise StrategyError(
                f"strategy {self.strategy_id} may not send orders as {request.strategy_id!r}"
            )
        if self._algorithms is None or not request.exec_algorithm:
            raise StrategyError(
                f"strategy {self.strategy_id}: submit_algo needs an exec_algorithm and a node "
                "with execution algorithms"
            )
        return self._algorithms.submit(request)

    def cancel_parent(self, parent_id: str) -> None:
        """Cancel one of this strategy's parent orders and its open children."""
        parent = None if self._algorithms is None else self._algorithms.parent(parent_id)
        if parent is None or parent.strategy_id not in self._owned:
            raise StrategyError(f"strategy {self.strategy_id}: no parent order {parent_id!r}")
        assert self._algorithms is not None
        self._algorithms.cancel(parent_id)

    def parent(self, parent_id: str) -> ParentSnapshot | None:
        """Return a parent order's state, or None."""
        return None if self._algorithms is None else self._algorithms.parent(parent_id)

    def cancel(self, client_order_id: str) -> None:
        """Ask for one of this strategy's orders to be cancelled; another's is refused."""
        order = self._execution.order(client_order_id)
        if order is None:
            raise StrategyError(f"strategy {self.strategy_id}: no order {client_order_id!r}")
        if order.strategy_id not in self._owned:
            raise StrategyError(
                f"strategy {self.strategy_id} may not cancel {client_order_id}: "
                f"it belongs to {order.strategy_id}"
            )
        self._execution.cancel(client_order_id)

    def cancel_all(self) -> None:
        """Cancel every open order of this strategy."""
        for order in self.open_orders():
            self._execution.cancel(order.client_order_id)

    def oco(self, first: OrderRequest, second: OrderRequest) -> tuple[OrderSnapshot, ...]:
        """Send two orders as one-cancels-the-other: the first fill cancels the other."""
        self._groups += 1
        group = f"{self.strategy_id}.oco{self._groups}"
        return tuple(
            self.submit(msgspec.structs.replace(r, oco_group=group)) for r in (first, second)
        )

    def bracket(
        self,
        entry: OrderRequest,
        *,
        stop_loss: float | None = None,
        take_profit: float | None = None,
    ) -> OrderSnapshot:
        """Send ``entry``; each of its fills sends a reduce-only OCO pair for that quantity:
        a stop-market at ``stop_loss`` and a limit at ``take_profit`` (either may be None)."""
        if stop_loss is None and take_profit is None:
            raise StrategyError(f"strategy {self.strategy_id}: a bracket needs a stop or a target")
        order = self.submit(entry)
        self._brackets[order.client_order_id] = _Bracket(entry, stop_loss, take_profit)
        if not self._fills_subscribed and self._bus is not None:
            self._fills_subscribed = True
            self._bus.subscribe(exec_topics.FILLS, self._on_fill, self._owner)
        return order

    def _on_fill(self, fill: Fill) -> None:
        bracket = self._brackets.get(fill.client_order_id)
        if bracket is None:
            return
        entry = bracket.entry
        exit_side = entry.side.opposite
        legs = []
        if bracket.stop_loss is not None:
            legs.append(
                OrderRequest(strategy_id=entry.strategy_id, venue=entry.venue, symbol=entry.symbol,
                             side=exit_side, quantity=fill.quantity,
                             order_type=OrderType.STOP_MARKET, trigger_price=bracket.stop_loss,
                             reduce_only=True, tag="bracket stop-loss")
            )  # fmt: skip
        if bracket.take_profit is not None:
            legs.append(
                OrderRequest(strategy_id=entry.strategy_id, venue=entry.venue, symbol=entry.symbol,
                             side=exit_side, quantity=fill.quantity, order_type=OrderType.LIMIT,
                             price=bracket.take_profit, reduce_only=True,
                             tag="bracket take-profit")
            )  # fmt: skip
        if len(legs) == 2:
            self.oco(legs[0], legs[1])
        else:
            self.submit(legs[0])

    def order(self, client_order_id: str) -> OrderSnapshot | None:
        """Return the state of one order (any strategy's may be read), or None."""
        return self._execution.order(client_order_id)

    def open_orders(self) -> list[OrderSnapshot]:
        """Return this strategy's open orders."""
        return [o for o in self._execution.open_orders() if o.strategy_id in self._owned]

    def precision(self, venue: str, symbol: str) -> Precision:
        """Return the tick and lot of an instrument; unknown ones are a ``StrategyError``."""
        precision = self._execution.precision(InstrumentId(venue, symbol))
        if precision is None:
            raise StrategyError(f"strategy {self.strategy_id}: no tick/lot for {venue}:{symbol}")
        return precision

    # Portfolio ---------------------------------------------------------------------------

    def position(self, venue: str, symbol: str) -> float:
        """Return the signed quantity held on (venue, symbol) (the account's, all strategies)."""
        return self._execution.position_quantity(InstrumentId(venue, symbol))

    def balance(self, venue: str, currency: str) -> float:
        """Return the balance of ``currency`` on ``venue``."""
        return self._execution.portfolio.balance(venue, currency)

    def equity(self) -> float:
        """Return the account equity at the latest prices."""
        return self._execution.portfolio.equity()

    # Market ------------------------------------------------------------------------------

    def history(self, venue: str, symbol: str, interval: str, size: int = 500) -> CandleHistory:
        """Return a ring of the last ``size`` candles, filled before each ``on_candle``."""
        if size <= 0:
            raise StrategyError(f"strategy {self.strategy_id}: history size must be positive")
        ring = CandleHistory(venue, symbol, interval, size)
        self._feed(venue, symbol, interval).histories.append(ring)
        return ring

    def indicator(
        self, venue: str, symbol: str, interval: str, indicator: IndicatorT
    ) -> IndicatorT:
        """Register ``indicator`` on the candles of (venue, symbol, interval); return it."""
        self._feed(venue, symbol, interval).indicators.append(indicator)
        return indicator

    def _feed(self, venue: str, symbol: str, interval: str) -> _Feed:
        if self._bus is None:
            raise StrategyError(f"strategy {self.strategy_id}: no bus to take candles from")
        if not self._candles_subscribed:
            # Subscribed when the strategy asks (at start, before its own on_candle is):
            # the bus calls in subscription order, so rings are filled first.
            self._candles_subscribed = True
            self._bus.subscribe(topics.CANDLES, self._on_candle, self._owner)
        return self._feeds.setdefault((venue, symbol, interval), _Feed())

    def _on_candle(self, candle: Candle) -> None:
        feed = self._feeds.get((candle.venue, candle.symbol, candle.interval))
        if feed is not None:
            for ring in feed.histories:
                ring.append(candle)
            for indicator in feed.indicators:
                indicator.update(candle)

    def _on_quote(self, quote: Quote) -> None:
        self._quotes[(quote.venue, quote.symbol)] = quote

    def quote(self, venue: str, symbol: str) -> Quote | None:
        """Return the latest best bid/ask published for (venue, symbol), or None."""
        return self._quotes.get((venue, symbol))

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        """Return the valid L2 book of (venue, symbol), or None (no books, or not synced)."""
        if self._books is None:
            return None
        book = self._books.book(venue, symbol)
        return book if book is not None and book.valid else None

    def last_price(self, venue: str, symbol: str) -> float:
        """Return the latest market price of (venue, symbol), NaN when unknown."""
        return self._execution.last_price(InstrumentId(venue, symbol))

    # Lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every timer and alarm of this context (the strategy was stopped)."""
        self.closed = True

    def report_fault(self, where: str, error: Exception) -> None:
        """Report ``error`` raised by the strategy outside a bus handler (a timer callback).

        Without a bus, or a bus without a fault handler, the error is raised again.
        """
        if self._bus is None:
            raise error
        self._bus.report_fault(where, self._owner, error)

    # Timers ------------------------------------------------------------------------------

    def set_timer(self, interval_ns: int, callback: TimerCallback, start_ns: int = 0) -> Timer:
        """Call ``callback(due_ns)`` every ``interval_ns`` on the node's clock."""
        timer = Timer(callback, once=False, ctx=self)
        self._clock.set_timer(interval_ns, timer.fire, start_ns)
        return timer

    def set_alarm(self, at_ns: int, callback: TimerCallback) -> Timer:
        """Call ``callback(at_ns)`` once, when the node's clock reaches ``at_ns``."""
        if at_ns <= self.now_ns():
            raise StrategyError(f"strategy {self.strategy_id}: alarm at {at_ns} is not ahead")
        timer = Timer(callback, once=True, ctx=self)
        self._clock.set_timer(_ALARM_REPEAT_NS, timer.fire, at_ns)
        return timer


class Strategy:
    """Base class: override the handlers you need; the kernel subscribes them.

    ``wants_candles``/``wants_trades`` tell the kernel which market data to deliver.
    """

    wants_candles: ClassVar[bool] = True
    wants_trades: ClassVar[bool] = False

    def __init__(self, strategy_id: str) -> None:
        self.strategy_id = strategy_id
        self._ctx: StrategyContext | None = None

    @property
    def ctx(self) -> StrategyContext:
        """Return the context given at start."""
        if self._ctx is None:
            raise StrategyError(f"strategy {self.strategy_id} used before start")
        return self._ctx

    def strategy_ids(self) -> tuple[str, ...]:
        """Return every strategy id this strategy sends orders under (fills route back)."""
        return (self.strategy_id,)

    def start(self, ctx: StrategyContext) -> None:
        """Receive the context; called once by the kernel before any data."""
        self._ctx = ctx

    def detach(self) -> None:
        """Close the context (its timers stop); the kernel calls it when stopping us."""
        if self._ctx is not None:
            self._ctx.close()

    def on_candle(self, candle: Candle) -> None:
        """Handle a closed candle."""

    def on_trade(self, trade: Trade) -> None:
        """Handle a trade."""

    def on_order_event(self, event: OrderEvent) -> None:
        """Handle a transition of one of this strategy's orders."""

    def on_fill(self, fill: Fill) -> None:
        """Handle a fill of one of this strategy's orders."""

    def on_restore(self, saved: bytes | None) -> None:
        """Take back what ``ctx.save_state`` stored, after a restart restored the node.

        Called once, after the node's orders, positions and balances were loaded from
        the state store and before any market data; ``saved`` is None when nothing was
        saved. Positions are the portfolio's (``ctx.position``): read them, do not
        remember them. Default: nothing.
        """

    def on_parent_event(self, parent: ParentSnapshot) -> None:
        """Handle a change of one of this strategy's parent orders (execution algorithms)."""

    def stop(self) -> None:
        """Clean up at the end of a run."""


class NoParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A plugin strategy without parameters."""


class PluginStrategy(Strategy):
    """Base of user strategies named in YAML by class (``strategies.plugin``).

    Declare ``Params`` (a frozen msgspec struct); the YAML ``params`` are validated
    against it and the strategy is built as ``cls(spec, params)``. ``spec`` holds
    the id, venue, symbol and interval it trades.
    """

    Params: ClassVar[type[Any]] = NoParams

    def __init__(self, spec: PluginStrategyConfig, params: Any) -> None:
        super().__init__(spec.id)
        self.spec = spec
        self.params = params

    def order(self, side: OrderSide, quantity: float, **fields: Any) -> OrderSnapshot:
        """Send an order on the spec's instrument (``fields``: any ``OrderRequest`` field)."""
        spec = self.spec
        request = OrderRequest(strategy_id=self.strategy_id, venue=spec.venue, symbol=spec.symbol,
                               side=side, quantity=quantity, **fields)  # fmt: skip
        return self.ctx.submit(request)

    def is_mine(self, candle: Candle) -> bool:
        """Return True for a candle of the spec's instrument and interval."""
        spec = self.spec
        return (
            candle.interval == spec.interval
            and candle.symbol == spec.symbol
            and candle.venue == spec.venue
        )
