"""The risk engine: every order passes here between a strategy and a venue.

It builds a ``PreTradeInput`` from the trading state, runs the pure checks of
``risk.checks``, writes the decision to the audit log, publishes it, and only
then lets the execution engine act. It also watches equity: a fall of more
than ``daily_drawdown_pct`` below the UTC day's high halts trading (open orders
cancelled, positions optionally flattened, every new order rejected) until a
person calls ``reset``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec

from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import Clock
from tradefabric.core.errors import FatalError
from tradefabric.core.time import NS_PER_DAY, NS_PER_SECOND
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderType
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.blacklist import LiquidityBlacklist
from tradefabric.risk.checks import PreTradeInput, first_rejection
from tradefabric.risk.config import RiskConfig
from tradefabric.risk.venue_breaker import TrippedVenue, VenueBreakers


class RiskError(FatalError):
    """The risk engine was used wrongly (a wiring bug, not a rejected order)."""


class ConsensusPriceSource(Protocol):
    """Where the price band's reference comes from (the integrity layer's consensus)."""

    def consensus_price(self, symbol: str) -> float | None:
        """Return the consensus price of ``symbol`` now, or None when there is none."""
        ...


class FixedConsensus:
    """A consensus source with fixed prices (tests, or a run without the integrity layer)."""

    def __init__(self, prices: dict[str, float]) -> None:
        self._prices = dict(prices)

    def consensus_price(self, symbol: str) -> float | None:
        """Return the fixed price of ``symbol``, or None."""
        return self._prices.get(symbol)


class TradingState(Protocol):
    """What the risk engine reads of the execution engine's state."""

    def position_quantity(self, instrument: InstrumentId) -> float:
        """Return the signed quantity held on ``instrument``."""
        ...

    def gross_exposure_except(self, instrument: InstrumentId) -> float:
        """Return the gross notional of every position but the one on ``instrument``."""
        ...

    def open_order_count(self) -> int:
        """Return how many orders are still open at the venues."""
        ...

    def open_orders_on(self, instrument: InstrumentId) -> Iterable[OrderSnapshot]:
        """Return the orders still open on ``instrument``."""
        ...

    def last_price(self, instrument: InstrumentId) -> float:
        """Return the latest market price of ``instrument`` (NaN when unknown)."""
        ...


class RiskDecision(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Whether one order may go to its venue, and why not."""

    client_order_id: str
    strategy_id: str
    venue: str
    symbol: str
    accepted: bool
    rule: str
    """The rejecting rule, "" when accepted."""
    reason: str
    ts: int


class RiskStateEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A halt or a reset of trading."""

    halted: bool
    reason: str
    operator: str
    equity: float
    day_high: float
    ts: int


class RiskSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """What of the risk engine survives a restart: the halt, the day's equity high, the
    strategies a person paused and the venues whose breaker is open."""

    halted: bool
    reason: str
    day: int
    """The UTC day (days since the epoch) ``day_high`` belongs to; -1 before any sample."""
    day_high: float
    ts: int
    paused: dict[str, str] = {}
    """Strategy id -> why it was paused."""
    tripped: dict[str, TrippedVenue] = {}
    """Venue -> why and since when its circuit breaker is open."""


class PauseEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A strategy was paused (``paused`` True) or resumed; the control service audits it."""

    strategy_id: str
    paused: bool
    reason: str
    ts: int


RISK_DECISIONS: Topic[RiskDecision] = Topic("risk.decisions", RiskDecision)
RISK_EVENTS: Topic[RiskStateEvent] = Topic("risk.events", RiskStateEvent)
PAUSE_EVENTS: Topic[PauseEvent] = Topic("risk.pause_events", PauseEvent)

HaltHandler = Callable[[bool], None]
"""Called on a halt with ``flatten``: cancel every open order, and close positions if True."""


class RiskEngine:
    """Pre-trade checks, the drawdown halt, and the audit trail of both."""

    def __init__(
        self,
        config: RiskConfig,
        bus: MessageBus,
        clock: Clock,
        audit: AuditLog,
        consensus: ConsensusPriceSource | None = None,
    ) -> None:
        self.config = config
        self._bus = bus
        self._clock = clock
        self._audit = audit
        self._consensus = consensus
        self.blacklist = LiquidityBlacklist(config, bus)
        self.breakers = VenueBreakers(config.venue_breaker, bus, clock, audit)
        self._state: TradingState | None = None
        self._on_halt: HaltHandler | None = None
        self._sent: dict[str, deque[int]] = {}
        self._window_ns = round(config.rate_window_s * NS_PER_SECOND)
        self._day = -1
        self.day_high = 0.0
        self.halted = False
        self.halt_reason = ""
        self.paused: dict[str, str] = {}
        """Strategy id -> why a person paused it: its orders are rejected until resumed."""
        self.accepted = 0
        self.rejected = 0
        self.rejected_by_rule: dict[str, int] = {}
        """Rule -> orders it rejected (operations read it: metrics, status)."""

    def set_limits(self, config: RiskConfig) -> None:
        """Enforce ``config``'s limits from the next order on (a config reload).

        The audit settings and the venue breakers' are wired at start: the caller
        refuses a change to them (``node.reload``)."""
        self.config = config
        self.blacklist.set_config(config)
        self._window_ns = round(config.rate_window_s * NS_PER_SECOND)

    def attach(self, state: TradingState, on_halt: HaltHandler) -> None:
        """Read trading state from ``state``; call ``on_halt`` when trading halts."""
        self._state = state
        self._on_halt = on_halt

    def check(self, order: OrderSnapshot, system: bool = False) -> RiskDecision:
        """Decide on ``order``, audit and publish the decision, and return it.

        ``system`` orders are the engine's own reduce-only flattening orders: the
        halt does not stop them (they are what a halt asks for), every other rule does.
        """
        now = self._clock.timestamp_ns()
        pre = self._pre_trade(order, now, system)
        rejection = first_rejection(pre, self.config)
        decision = RiskDecision(
            client_order_id=order.client_order_id,
            strategy_id=order.strategy_id,
            venue=order.venue,
            symbol=order.symbol,
            accepted=rejection is None,
            rule="" if rejection is None else rejection[0],
            reason="" if rejection is None else rejection[1],
            ts=now,
        )
        self._audit.write("risk_decision", now, decision)
        if decision.accepted:
            self.accepted += 1
            self._sent.setdefault(order.venue, deque()).append(now)
        else:
            self.rejected += 1
            self.rejected_by_rule[decision.rule] = self.rejected_by_rule.get(decision.rule, 0) + 1
        self._bus.publish(RISK_DECISIONS, decision)
        return decision

    def _pre_trade(self, order: OrderSnapshot, now: int, system: bool) -> PreTradeInput:
        state = self._state
        if state is None:
            raise RiskError("RiskEngine.attach was not called before the first order")
        venue, symbol = order.venue, order.symbol
        instrument = InstrumentId(venue, symbol)
        limit = order.price if order.order_type is OrderType.LIMIT else order.trigger_price
        last = state.last_price(instrument)
        reference = limit if limit is not None else last
        # Checked on every order: snapshot only this instrument's resting orders.
        resting = list(state.open_orders_on(instrument))
        consensus = self._consensus.consensus_price(symbol) if self._consensus else None
        return PreTradeInput(
            venue=venue,
            symbol=symbol,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            limit_price=limit,
            reference_price=reference,
            reduce_only=order.reduce_only,
            position_quantity=state.position_quantity(instrument),
            other_exposure=state.gross_exposure_except(instrument),
            open_orders=state.open_order_count(),
            consensus_price=consensus,
            orders_in_window=self._orders_in_window(venue, now),
            blacklist_reason=self.blacklist.reason(instrument),
            resting_buy_prices=_prices(resting, OrderSide.BUY),
            resting_sell_prices=_prices(resting, OrderSide.SELL),
            halted=self.halted and not (system and order.reduce_only),
            strategy_paused=order.strategy_id in self.paused and not system,
            venue_tripped="" if system and order.reduce_only else self.breakers.tripped(venue),
        )

    def _orders_in_window(self, venue: str, now: int) -> int:
        sent = self._sent.get(venue)
        if not sent:
            return 0
        while sent and sent[0] <= now - self._window_ns:
            sent.popleft()
        return len(sent)

    def on_equity(self, equity: float, ts: int) -> None:
        """Track the UTC day's equity high; halt on a drawdown past the limit."""
        day = ts // NS_PER_DAY
        if day != self._day:
            self._day = day
            self.day_high = equity
        elif equity > self.day_high:
            self.day_high = equity
        if self.halted or self.day_high <= 0.0:
            return
        drawdown_pct = (self.day_high - equity) / self.day_high * 100.0
        if drawdown_pct > self.config.daily_drawdown_pct:
            self.halt(
                f"daily drawdown {drawdown_pct:.2f}% > {self.config.daily_drawdown_pct:g}%",
                equity,
            )

    def halt(
        self,
        reason: str,
        equity: float = float("nan"),
        operator: str = "risk",
        audited: bool = True,
    ) -> None:
        """Halt trading: audit, publish, cancel open orders (and flatten if configured).

        ``audited=False`` is the halt of a node whose audit log cannot be written: it
        stops every new order at once but neither writes the log nor cancels (a cancel
        is an action that must be audited first); the open orders stay resting and the
        reason says how many, for a person to handle.
        """
        if self.halted:
            return
        if not audited:
            self._halt_unaudited(reason, equity, operator)
            return
        now = self._clock.timestamp_ns()
        event = RiskStateEvent(
            halted=True,
            reason=reason,
            operator=operator,
            equity=equity,
            day_high=self.day_high,
            ts=now,
        )
        self._audit.write("halt", now, event)
        self.halted = True
        self.halt_reason = reason
        self._bus.publish(RISK_EVENTS, event)
        if self._on_halt is not None:
            self._on_halt(self.config.flatten_on_halt)

    def _halt_unaudited(self, reason: str, equity: float, operator: str) -> None:
        resting = self._state.open_order_count() if self._state else 0
        reason = f"{reason}; {resting} open orders left resting (not cancelled: cannot audit)"
        now = self._clock.timestamp_ns()
        self.halted = True
        self.halt_reason = reason
        self._bus.publish(
            RISK_EVENTS,
            RiskStateEvent(
                halted=True,
                reason=reason,
                operator=operator,
                equity=equity,
                day_high=self.day_high,
                ts=now,
            ),
        )

    def reset(self, operator: str, reason: str) -> None:
        """Let trading resume: only a person calls this, and it is audited with their name."""
        now = self._clock.timestamp_ns()
        event = RiskStateEvent(
            halted=False,
            reason=reason,
            operator=operator,
            equity=float("nan"),
            day_high=self.day_high,
            ts=now,
        )
        self._audit.write("reset", now, event)
        # The next equity sample starts a fresh high, or the old drawdown would halt again.
        self._day = -1
        self.day_high = 0.0
        self.halted = False
        self.halt_reason = ""
        self._bus.publish(RISK_EVENTS, event)

    def pause(self, strategy_id: str, reason: str) -> None:
        """Reject every new order of ``strategy_id`` until ``resume`` (the caller audits)."""
        self.paused[strategy_id] = reason
        now = self._clock.timestamp_ns()
        self._bus.publish(PAUSE_EVENTS, PauseEvent(strategy_id=strategy_id, paused=True,
                                                   reason=reason, ts=now))  # fmt: skip

    def resume(self, strategy_id: str) -> None:
        """Let a paused strategy's orders through again."""
        self.paused.pop(strategy_id, None)
        now = self._clock.timestamp_ns()
        self._bus.publish(PAUSE_EVENTS, PauseEvent(strategy_id=strategy_id, paused=False,
                                                   reason="", ts=now))  # fmt: skip

    def snapshot(self) -> RiskSnapshot:
        """Return the halt and the day's equity high (what a restart restores)."""
        return RiskSnapshot(
            halted=self.halted,
            reason=self.halt_reason,
            day=self._day,
            day_high=self.day_high,
            ts=self._clock.timestamp_ns(),
            paused=dict(self.paused),
            tripped=self.breakers.tripped_venues(),
        )

    def restore_halt(self, saved: RiskSnapshot) -> None:
        """Take back a saved halt, day high, pauses and open breakers: a halted node stays
        halted until ``reset``, a paused strategy paused until resumed.

        Nothing is audited or published (each was, when it happened); open orders are
        not touched (the restart decides what happened to them).
        """
        self.halted = saved.halted
        self.halt_reason = saved.reason
        self._day = saved.day
        self.day_high = saved.day_high
        self.paused = dict(saved.paused)
        self.breakers.restore(saved.tripped)


def _prices(orders: list[OrderSnapshot], side: OrderSide) -> tuple[float, ...]:
    return tuple(
        o.price
        for o in orders
        if o.side is side and o.price is not None and o.order_type == "limit"
    )
