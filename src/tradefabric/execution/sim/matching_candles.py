"""Matching against candles, when no order book is available: conservative rules.

Only open, high, low, close and volume are known, not the path between them,
so every rule picks the outcome that flatters the strategy least:

1. **Arrival.** An order (or cancel) takes part in a candle only if it reached
   the venue at or before the candle's open. Latency therefore rounds up to the
   next open: an order sent at a candle's close with zero latency meets the next
   candle's open; with any latency at all it meets the open after that.
2. **Market orders** fill at the open of the first candle they meet, moved
   against us by the slippage model (fixed bps, or the liquidity forecaster's
   impact curve). Stop-market orders whose trigger the open has already passed
   fill the same way.
3. **Limit orders marketable at arrival** (a buy limit at or above the open)
   take liquidity at the open, as a taker; a post-only one is rejected instead.
   IOC fills what the volume cap allows and cancels the rest; FOK fills all or
   nothing.
4. **Resting limit orders** fill at their limit price, as makers, only if the
   candle trades *through* it (buy: low strictly below the price; sell: high
   strictly above). Touching the price is not enough: the queue ahead may have
   taken it all.
5. **Stops** trigger when the high (buy) or low (sell) reaches the trigger, and
   fill at the worse of the trigger and the open, plus slippage.
6. **Stop-limits** trigger like stops; then, if the price just after the
   trigger (the worse of trigger and open) is within the limit, they take
   there (never beyond the limit), else they rest as a limit order. A stop-limit
   triggered by the open itself (a gap through the stop) may fill as a resting
   limit in that same candle (the whole candle came after the open); one
   triggered inside a candle rests from the next one (the path is unknown).
7. **Take-profits** (market-if-touched) trigger when the high (sell) or low
   (buy) reaches the trigger and fill at the better of trigger and open, plus
   slippage: the first price at or past the trigger.
8. **Trailing stops** are anchored at the open of the candle they arrive in
   (trigger = open -/+ offset unless given). Each candle is checked against the
   trigger it started with, then the trigger follows the candle's high (sell)
   or low (buy), never moving back; within one candle the order of high and low
   is unknown, so a trigger moved by a candle applies from the next one.
9. **OCO.** The first fill of an order of an OCO group cancels the others at
   once. When one candle reaches both a stop and a target of one group, the
   stop fills (stops match before limits and take-profits): the worse outcome.
10. **Volume cap.** All our fills within one candle share ``max_participation``
   of its volume (None: no cap), market orders first, then stops, then limits
   in price-time priority; so two orders never fill from the same liquidity.
   What a cap leaves unfilled waits for the next candle (IOC/FOK: cancelled).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tradefabric.execution.sim.state import (
    STOP_KINDS,
    ReportKind,
    SimOrder,
    SimReport,
    cancel_siblings,
    record_fill,
)
from tradefabric.model.data import Candle
from tradefabric.model.orders import LiquiditySide, OrderType, TimeInForce

SlippageBps = Callable[[SimOrder, float, float], float]
"""(order, quantity, reference price) -> slippage in bps against us."""


def reduce_only_cap(o: SimOrder, wanted: float, position: float) -> float:
    """Return how much of ``wanted`` ``o`` may fill given the venue position (signed)."""
    if not o.reduce_only:
        return wanted
    reducible = -position if o.buy else position
    return max(0.0, min(wanted, reducible))


class CandleMatch:
    """Match one candle against one symbol's orders; collect reports, change nothing else."""

    __slots__ = ("_budget", "_positions", "_slippage", "candle", "reports")

    def __init__(
        self,
        candle: Candle,
        participation: float | None,
        slippage: SlippageBps,
        positions: dict[str, float],
    ) -> None:
        """Match ``candle``; ``positions`` (symbol -> signed quantity) moves with each fill."""
        self.candle = candle
        self._budget = math.inf if participation is None else candle.volume * participation
        self._slippage = slippage
        self._positions = positions
        self.reports: list[SimReport] = []

    def run(self, orders: list[SimOrder]) -> None:
        """Match ``orders`` (arrived, not terminal) against the candle, in priority order."""
        c = self.candle
        arriving = [o for o in orders if not o.active]
        for o in sorted(arriving, key=lambda o: (o.arrival_ns, o.seq)):
            o.active = True
            if o.order_type is OrderType.LIMIT and o.post_only and o.marketable(c.open):
                o.leaves = 0.0
                self.reports.append(
                    SimReport(ReportKind.REJECTED, o, c.ts_open, "post-only order would take")
                )
                continue
            self.reports.append(SimReport(ReportKind.ACCEPTED, o, c.ts_open))
            self._on_arrival(o)
        live = [o for o in orders if o.leaves > 0.0 and o.active]
        for o in sorted(live, key=_candle_priority):
            if o.leaves <= 0.0 or (o in arriving and o.takes_at_any_price):
                continue
            self._match_resting(o)

    def _match_resting(self, o: SimOrder) -> None:
        kind = o.order_type
        if kind is OrderType.STOP_MARKET:
            self._stop(o)
        elif kind is OrderType.TRAILING_STOP:
            self._trailing_stop(o)
        elif kind is OrderType.STOP_LIMIT:
            self._stop_limit(o)
        elif kind is OrderType.TAKE_PROFIT:
            self._take_profit(o)
        elif kind is OrderType.LIMIT:
            self._resting_limit(o)
        else:
            self._take(o, self.candle.open)  # a market order the cap left unfilled

    def _on_arrival(self, o: SimOrder) -> None:
        c = self.candle
        kind = o.order_type
        if kind is OrderType.TRAILING_STOP:
            o.start_trailing(c.open)
        if kind is OrderType.MARKET:
            self._take(o, c.open)
        elif kind is OrderType.LIMIT:
            if o.marketable(c.open):
                self._take_limit_at_open(o)
        elif o.trigger_reached(c.open, c.open):
            o.triggered = True  # the open is already at or through the trigger
            if o.takes_at_any_price:
                self._take(o, c.open)
            elif o.marketable(c.open):
                self._take_limit_at_open(o)
        if o.leaves > 0.0 and o.time_in_force is not TimeInForce.GTC:
            self._expire(o, "IOC/FOK rest cancelled")

    def _take_limit_at_open(self, o: SimOrder) -> None:
        c = self.candle
        if o.time_in_force is TimeInForce.FOK and self._fillable(o, o.leaves) < o.leaves:
            return  # FOK: all or nothing; expired by the caller
        self._fill(o, c.open, LiquiditySide.TAKER, 0.0)

    def _stop(self, o: SimOrder) -> None:
        c = self.candle
        if not o.triggered:
            reached = c.high >= o.trigger_price if o.buy else c.low <= o.trigger_price
            if not reached:
                return
            o.triggered = True
            reference = max(c.open, o.trigger_price) if o.buy else min(c.open, o.trigger_price)
        else:
            reference = c.open  # triggered in an earlier candle, left unfilled by the cap
        self._take(o, reference)

    def _trailing_stop(self, o: SimOrder) -> None:
        self._stop(o)
        if not o.triggered:
            c = self.candle
            o.trail(c.low if o.buy else c.high)

    def _stop_limit(self, o: SimOrder) -> None:
        c = self.candle
        if o.triggered:
            self._resting_limit(o)
            return
        if not o.trigger_reached(c.high, c.low):
            return
        o.triggered = True
        reference = max(c.open, o.trigger_price) if o.buy else min(c.open, o.trigger_price)
        if o.marketable(reference):
            self._take(o, reference, o.price)
        elif o.trigger_reached(c.open, c.open):
            self._resting_limit(o)  # gapped through at the open: the whole candle came after
        # else: past the limit when it triggered inside the candle: rests from the next one

    def _take_profit(self, o: SimOrder) -> None:
        c = self.candle
        if o.triggered:
            self._take(o, c.open)  # triggered earlier, left unfilled by the cap
            return
        if not o.trigger_reached(c.high, c.low):
            return
        o.triggered = True
        reference = min(c.open, o.trigger_price) if o.buy else max(c.open, o.trigger_price)
        self._take(o, reference)

    def _resting_limit(self, o: SimOrder) -> None:
        c = self.candle
        through = c.low < o.price if o.buy else c.high > o.price
        if through:
            self._fill(o, o.price, LiquiditySide.MAKER, 0.0)

    def _take(self, o: SimOrder, reference: float, limit: float = math.nan) -> None:
        """Take at ``reference`` moved by slippage, never past ``limit`` (NaN: no limit)."""
        quantity = self._fillable(o, o.leaves)
        if quantity <= 0.0:
            if (
                o.reduce_only
                and reduce_only_cap(o, o.leaves, self._positions.get(o.symbol, 0.0)) <= 0.0
            ):
                self._expire(o, "reduce-only order would increase the position")
            return
        slip = self._slippage(o, quantity, reference)
        factor = 1.0 + slip / 10_000.0 if o.buy else 1.0 - slip / 10_000.0
        price = reference * factor
        if not math.isnan(limit):
            price = min(price, limit) if o.buy else max(price, limit)
        self._fill(o, price, LiquiditySide.TAKER, slip)

    def _fillable(self, o: SimOrder, wanted: float) -> float:
        position = self._positions.get(o.symbol, 0.0)
        return max(0.0, min(reduce_only_cap(o, wanted, position), self._budget))

    def _fill(self, o: SimOrder, price: float, liquidity: LiquiditySide, slip: float) -> None:
        quantity = self._fillable(o, o.leaves)
        if quantity <= 0.0:
            position = self._positions.get(o.symbol, 0.0)
            if o.reduce_only and reduce_only_cap(o, o.leaves, position) <= 0.0:
                self._expire(o, "reduce-only order would increase the position")
            return
        self._budget -= quantity
        self.reports.append(
            record_fill(
                o, self._positions, ts_event=self.candle.ts_open, price=price,
                quantity=quantity, liquidity=liquidity, slippage_bps=slip,
            )
        )  # fmt: skip
        if o.siblings:
            self.reports.extend(cancel_siblings(o, self.candle.ts_open))

    def _expire(self, o: SimOrder, reason: str) -> None:
        if o.leaves > 0.0:
            o.leaves = 0.0
            self.reports.append(SimReport(ReportKind.CANCELLED, o, self.candle.ts_open, reason))


def _candle_priority(o: SimOrder) -> tuple[int, float, int]:
    # Market orders first, then stops (the worse exit of an OCO pair), then the rest.
    kind = o.order_type
    rank = 0 if kind is OrderType.MARKET else 1 if o.triggered or kind in STOP_KINDS else 2
    return (rank, *o.priority())
