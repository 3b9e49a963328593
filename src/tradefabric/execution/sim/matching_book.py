"""Matching against the L2 book: takers walk the levels, makers fill from trades.

- **Takers** (market orders, triggered stops, marketable limits) walk the
  opposite side from the best level, taking each level's size up to the limit
  price. What we took stays taken: a ``LiquidityLedger`` remembers it per level
  and only forgets it as the recorded level shrinks by at least as much (the
  recorded market does not know about us, so its later shrinking is the same
  liquidity others took). Two of our orders therefore never fill from the same
  resting size.
- **Makers** (resting limits) start behind the size resting at their price when
  they arrive (the queue estimate). A trade at their price first drains the
  queue ahead, then fills them; a trade through their price fills them before
  anyone at worse prices. One trade's size is shared once among all our
  orders, in price-time priority, so it never fills two orders twice. A
  recorded level that shrinks below our queue estimate pulls the estimate down
  with it (cancels ahead of us). Crossing quotes without a trade fill nothing.
- **Triggered orders** wait for a trade at or through their trigger: stops
  (stop-market, trailing) and take-profits then walk the book as market
  orders and cancel what the book cannot fill; a stop-limit walks up to its
  limit and rests the remainder as a maker at its limit. A trade that triggers
  an order never also fills it as a maker. A trailing stop is anchored at our
  side's touch on arrival (a sell at the best bid) and follows each trade's
  price (a sell the highs, a buy the lows), never moving back; a trade is
  checked against the trigger before the trigger follows it.
- **OCO.** The first fill of an order of an OCO group cancels the others at once.
"""

from __future__ import annotations

import math

from tradefabric.data.order_book import OrderBook
from tradefabric.execution.sim.matching_candles import reduce_only_cap
from tradefabric.execution.sim.state import (
    TRIGGER_KINDS,
    ReportKind,
    SimOrder,
    SimReport,
    cancel_siblings,
    record_fill,
)
from tradefabric.model.data import Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.model.orders import LiquiditySide, OrderType, TimeInForce

_WALK_LEVELS = 200
"""Levels a taker may walk; an order needing more leaves its rest (documented limit)."""


class LiquidityLedger:
    """What our own fills took from each recorded level, until the market takes it too."""

    __slots__ = ("_taken",)

    def __init__(self) -> None:
        # (symbol, bid side?, price) -> [size we took, recorded size when last seen]
        self._taken: dict[tuple[str, bool, float], list[float]] = {}

    def available(self, symbol: str, bid: bool, price: float, recorded: float) -> float:
        """Return the size still available at a level whose recorded size is ``recorded``."""
        entry = self._taken.get((symbol, bid, price))
        if entry is None:
            return recorded
        taken, last_seen = entry
        if recorded < last_seen:
            taken = max(0.0, taken - (last_seen - recorded))
        if taken <= 0.0 or recorded <= 0.0:
            del self._taken[(symbol, bid, price)]
            return recorded
        entry[0] = taken
        entry[1] = recorded
        return max(0.0, recorded - taken)

    def take(self, symbol: str, bid: bool, price: float, size: float, recorded: float) -> None:
        """Record that we took ``size`` at a level recorded at ``recorded``."""
        key = (symbol, bid, price)
        entry = self._taken.get(key)
        if entry is None:
            self._taken[key] = [size, recorded]
        else:
            entry[0] += size
            entry[1] = recorded


class BookMatch:
    """Match one symbol's orders against its book and trades; collect reports."""

    __slots__ = ("_ledger", "_positions", "book", "reports", "ts_event")

    def __init__(
        self,
        book: OrderBook,
        ledger: LiquidityLedger,
        positions: dict[str, float],
        ts_event: int,
    ) -> None:
        """Match against ``book`` at ``ts_event``; ``positions`` moves with each fill."""
        self.book = book
        self._ledger = ledger
        self._positions = positions
        self.ts_event = ts_event
        self.reports: list[SimReport] = []

    def arrive(self, o: SimOrder) -> None:
        """Handle an order reaching the venue: accept it, then take or rest."""
        o.active = True
        best = self.book.best_ask() if o.buy else self.book.best_bid()
        if o.order_type is OrderType.LIMIT and o.post_only and o.marketable(best):
            o.leaves = 0.0
            self.reports.append(
                SimReport(ReportKind.REJECTED, o, self.ts_event, "post-only order would take")
            )
            return
        self.reports.append(SimReport(ReportKind.ACCEPTED, o, self.ts_event))
        if o.order_type in TRIGGER_KINDS:
            if o.order_type is OrderType.TRAILING_STOP:
                o.start_trailing(best)
            return  # waits for a trade at or through its trigger
        if o.time_in_force is TimeInForce.FOK and self._available(o) < o.leaves:
            self._cancel(o, "FOK: not enough liquidity")
            return
        if o.marketable(best):
            self.walk(o)
        if o.leaves > 0.0 and (o.takes_at_any_price or o.time_in_force is not TimeInForce.GTC):
            self._cancel(o, "unfilled rest of an immediate order")
        elif o.leaves > 0.0:
            o.queue_ahead = self._level_size(not o.buy, o.price)

    def walk(self, o: SimOrder) -> None:
        """Take liquidity for ``o`` level by level, up to its limit price."""
        book = self.book
        depth = book.depth(_WALK_LEVELS)
        levels = depth.asks if o.buy else depth.bids
        touch = levels[0][0] if levels else math.nan
        wanted = self._cap(o, o.leaves)
        got = 0.0
        notional = 0.0
        for price, recorded in levels:
            if wanted - got <= 1e-12 or not _within(o, price):
                break
            size = self._ledger.available(o.symbol, not o.buy, price, recorded)
            take = min(size, wanted - got)
            if take <= 0.0:
                continue
            self._ledger.take(o.symbol, not o.buy, price, take, recorded)
            got += take
            notional += take * price
        if got > 0.0:
            avg = notional / got
            slip = (avg - touch) / touch * 10_000.0 * (1.0 if o.buy else -1.0)
            self._fill(o, avg, got, LiquiditySide.TAKER, slip)

    def on_trade(self, trade: Trade, resting: list[SimOrder]) -> None:
        """Fill our resting orders that ``trade`` reached; trigger stops it reached."""
        buyer_aggressor = trade.side is AggressorSide.BUY
        makers = [
            o for o in resting if o.rests_as_limit and o.buy != buyer_aggressor and o.leaves > 0.0
        ]
        used = 0.0
        for o in sorted(makers, key=SimOrder.priority):
            at_level = trade.price == o.price
            reached = trade.price <= o.price if o.buy else trade.price >= o.price
            if not reached:
                continue
            queue = min(o.queue_ahead, self._level_size(not o.buy, o.price))
            reach = trade.size - queue if at_level else trade.size
            o.queue_ahead = max(0.0, queue - trade.size) if at_level else 0.0
            quantity = min(self._cap(o, o.leaves), reach - used)
            if quantity > 0.0:
                used += quantity
                self._fill(o, o.price, quantity, LiquiditySide.MAKER, 0.0)
        for o in resting:
            if o.order_type in TRIGGER_KINDS and not o.triggered and o.leaves > 0.0:
                self._on_trigger_trade(o, trade.price)

    def _on_trigger_trade(self, o: SimOrder, price: float) -> None:
        if not o.trigger_reached(price, price):
            if o.order_type is OrderType.TRAILING_STOP:
                o.trail(price)
            return
        o.triggered = True
        self.walk(o)
        if o.leaves <= 0.0:
            return
        if o.order_type is OrderType.STOP_LIMIT:
            o.queue_ahead = self._level_size(not o.buy, o.price)  # rests as a limit now
        else:
            self._cancel(o, "unfilled rest of a triggered stop")

    def _available(self, o: SimOrder) -> float:
        depth = self.book.depth(_WALK_LEVELS)
        levels = depth.asks if o.buy else depth.bids
        return sum(
            self._ledger.available(o.symbol, not o.buy, p, s) for p, s in levels if _within(o, p)
        )

    def _level_size(self, asks: bool, price: float) -> float:
        # A buy rests among the bids: its queue is the bid size at its price.
        depth = self.book.depth(_WALK_LEVELS)
        for p, s in depth.asks if asks else depth.bids:
            if p == price:
                return s
        return 0.0

    def _cap(self, o: SimOrder, wanted: float) -> float:
        return reduce_only_cap(o, wanted, self._positions.get(o.symbol, 0.0))

    def _fill(
        self, o: SimOrder, price: float, quantity: float, liquidity: LiquiditySide, slip: float
    ) -> None:
        self.reports.append(
            record_fill(
                o, self._positions, ts_event=self.ts_event, price=price, quantity=quantity,
                liquidity=liquidity, slippage_bps=slip,
            )
        )  # fmt: skip
        if o.siblings:
            self.reports.extend(cancel_siblings(o, self.ts_event))

    def _cancel(self, o: SimOrder, reason: str) -> None:
        if o.leaves > 0.0:
            o.leaves = 0.0
            self.reports.append(SimReport(ReportKind.CANCELLED, o, self.ts_event, reason))


def _within(o: SimOrder, price: float) -> bool:
    if o.takes_at_any_price:
        return True
    return price <= o.price if o.buy else price >= o.price
