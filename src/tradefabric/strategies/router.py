"""The strategy router: sends the ensemble's decisions to the HFT or the swing book.

Which book a signal belongs to is decided by its horizon and by how often its
source speaks, measured over a trailing window. By rate: more than
``hft_min_per_minute`` signals in the last minute is HFT, fewer than
``swing_max_per_hour`` in the last hour (once the source has been watched for an
hour) is swing. By horizon: up to ``hft_max_horizon`` is HFT, from
``swing_min_horizon`` on is swing. Either decides alone; if both decide and
disagree, or neither does, the signal is skipped, counted with the reason. HFT
trades are sized at ``hft_equity_fraction`` of equity, swing ones at
``swing_equity_fraction``.
Each book trades under its own strategy id (``<id>.hft``, ``<id>.swing``) so
its positions, fills and PnL stay apart.
"""

from __future__ import annotations

from collections import deque

import msgspec

from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_HOUR, NS_PER_MINUTE, interval_to_ns
from tradefabric.execution.precision import Precision
from tradefabric.model.orders import Fill, OrderEvent, OrderRequest, OrderSide, OrderStatus
from tradefabric.strategies.base import Strategy

_DONE = frozenset(
    (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED)
)

SIGNALS = analytics_topics.SIGNALS
"""The scored signals the router routes: the analytics layer's own topic."""


class RoutedSignal(msgspec.Struct, frozen=True, kw_only=True):
    """What the router did with one signal: the book it went to, or why it was skipped."""

    source: str
    symbol: str
    direction: int
    book: str
    """``hft``, ``swing``, or "" when skipped."""
    taken: bool
    reason: str
    rate_per_minute: float
    ts: int


ROUTED: Topic[RoutedSignal] = Topic("strategies.routed", RoutedSignal)


class RouterConfig(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    tag_field="kind",
    tag="router",
):
    """How the router classifies sources and sizes trades."""

    id: str = "router"
    venue: str = "binance"
    symbol: str = "BTC/USDT"
    hft_min_per_minute: float = 5.0
    hft_equity_fraction: float = 0.001
    swing_max_per_hour: float = 1.0
    swing_equity_fraction: float = 0.02
    hft_max_horizon: str = "5m"
    swing_min_horizon: str = "4h"

    def __post_init__(self) -> None:
        if interval_to_ns(self.hft_max_horizon) >= interval_to_ns(self.swing_min_horizon):
            raise ConfigError(f"router {self.id}: hft_max_horizon must be < swing_min_horizon")
        for name in ("hft_equity_fraction", "swing_equity_fraction"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"router {self.id}: {name} must be in (0, 1]")


class SignalRouter(Strategy):
    """Route signals by their source's measured rate; size by equity fraction."""

    wants_candles = False

    def __init__(self, config: RouterConfig, precision: Precision, bus: MessageBus) -> None:
        super().__init__(config.id)
        self.config = config
        self._precision = precision
        self._bus = bus
        self._seen: dict[str, deque[int]] = {}
        self._first_seen: dict[str, int] = {}
        self._hft_horizon = interval_to_ns(config.hft_max_horizon)
        self._swing_horizon = interval_to_ns(config.swing_min_horizon)
        self.held: dict[str, float] = {"hft": 0.0, "swing": 0.0}
        self._pending: dict[str, str] = {}
        """book -> client order id of its order still open (one at a time per book)."""
        self.taken = 0
        self.skipped = 0
        bus.subscribe(SIGNALS, self.on_signal)

    def strategy_ids(self) -> tuple[str, ...]:
        """Return the ids of both books."""
        return (f"{self.strategy_id}.hft", f"{self.strategy_id}.swing")

    def rate_book(self, source: str, ts: int) -> tuple[str, float]:
        """Record one signal of ``source`` at ``ts``; return (book by rate or "", per minute)."""
        seen = self._seen.setdefault(source, deque())
        first = self._first_seen.setdefault(source, ts)
        seen.append(ts)
        while seen and seen[0] <= ts - NS_PER_HOUR:
            seen.popleft()
        last_minute = sum(1 for t in seen if t > ts - NS_PER_MINUTE)
        if last_minute > self.config.hft_min_per_minute:
            return "hft", float(last_minute)
        # "Under one an hour" needs an hour of watching, and the hour holds this signal too.
        if ts - first >= NS_PER_HOUR and len(seen) - 1 < self.config.swing_max_per_hour:
            return "swing", len(seen) / 60.0
        return "", len(seen) / 60.0

    def horizon_book(self, horizon_ns: int) -> str:
        """Return the book a horizon belongs to, or ""."""
        if horizon_ns <= self._hft_horizon:
            return "hft"
        if horizon_ns >= self._swing_horizon:
            return "swing"
        return ""

    def classify(self, signal: Signal) -> tuple[str, float, str]:
        """Record ``signal``; return (book or "", its source's signals per minute, why skipped)."""
        by_rate, rate = self.rate_book(signal.source, signal.ts)
        by_horizon = self.horizon_book(signal.horizon_ns)
        if by_rate and by_horizon and by_rate != by_horizon:
            return "", rate, f"rate says {by_rate}, horizon {signal.horizon} says {by_horizon}"
        book = by_rate or by_horizon
        if book:
            return book, rate, ""
        watched = signal.ts - self._first_seen[signal.source] >= NS_PER_HOUR
        if not watched:
            return "", rate, f"horizon {signal.horizon} fits neither book; rate not measured yet"
        return (
            "",
            rate,
            f"{rate * 60:.0f} signals/hour, horizon {signal.horizon}: fits neither book",
        )

    def on_signal(self, signal: Signal) -> None:
        """Route one signal of the configured symbol."""
        if signal.asset != self.config.symbol:
            return
        book, rate, reason = self.classify(signal)
        if book:
            reason = self._act(book, signal)
        taken = not reason
        self.taken += taken
        self.skipped += not taken
        self._bus.publish(
            ROUTED,
            RoutedSignal(
                source=signal.source,
                symbol=signal.asset,
                direction=int(signal.direction),
                book=book,
                taken=taken,
                reason=reason,
                rate_per_minute=rate,
                ts=signal.ts,
            ),
        )

    def _act(self, book: str, signal: Signal) -> str:
        if book in self._pending:
            # Until the last order is done, what the book holds is not known yet.
            return f"order {self._pending[book]} still open"
        held = self.held[book]
        if signal.direction is Direction.LONG and held == 0.0:
            fraction = (
                self.config.hft_equity_fraction
                if book == "hft"
                else self.config.swing_equity_fraction
            )
            quantity = self._precision.quantity(self.ctx.equity() * fraction / signal.price)
            return self._send(book, OrderSide.BUY, quantity)
        if signal.direction is not Direction.LONG and held > 0.0:
            return self._send(book, OrderSide.SELL, held)
        if signal.direction is Direction.LONG:
            return "already positioned"
        return "flat already (long only)"

    def _send(self, book: str, side: OrderSide, quantity: float) -> str:
        config = self.config
        order = self.ctx.submit(
            OrderRequest(
                strategy_id=f"{self.strategy_id}.{book}",
                venue=config.venue,
                symbol=config.symbol,
                side=side,
                quantity=quantity,
                tag=f"router {book}",
            )
        )
        if order.status is OrderStatus.REJECTED:
            return "rejected by risk"
        self._pending[book] = order.client_order_id
        return ""

    def on_order_event(self, event: OrderEvent) -> None:
        """Free a book for its next order once the last one is done."""
        if event.status in _DONE:
            book = event.strategy_id.rpartition(".")[2]
            if self._pending.get(book) == event.client_order_id:
                del self._pending[book]

    def on_fill(self, fill: Fill) -> None:
        """Track what each book holds."""
        book = fill.strategy_id.rpartition(".")[2]
        self.held[book] = self.held.get(book, 0.0) + fill.quantity * fill.side.sign
