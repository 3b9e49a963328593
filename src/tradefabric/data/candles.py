"""Aggregate trades into OHLCV candles per (venue, symbol, interval).

A trade lands in the bucket ``floor(ts_event, interval)``. The open candle of a
series is published on the first trade past its end or on a clock tick once
``ts_open + interval + close_delay_ns`` has passed, whichever comes first; the
delay gives a lagging feed's trades time to land before a tick closes them out.
A published candle is never reopened: a trade for it (or for anything older) is
counted as late, logged and dropped.

The aggregator sees only the trades since its venue's first one: the candle
that first trade opens covers an interval it saw only part of (unless the trade
is at the interval's very start), and so does a candle ``flush`` publishes
before its interval is over (end of a replay, a feed stopped). Both are flagged
``CandleFlag.PARTIAL``; the catalog lets a complete candle replace them.

Intervals with no trades are either left as holes (``EmptyCandlePolicy.SKIP``) or
filled with flat candles at the previous close (``EmptyCandlePolicy.CARRY``).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock, TimerCallback
from tradefabric.core.errors import ConfigError
from tradefabric.core.logging import WarningThrottle
from tradefabric.core.time import floor_ns, interval_to_ns
from tradefabric.data import topics
from tradefabric.model.data import Candle, Trade
from tradefabric.model.enums import AggressorSide, CandleFlag, EmptyCandlePolicy

log = structlog.get_logger(__name__)

_NONE = -1
"""``ts_open`` of a series with no open candle, ``next_open`` of one never closed."""

_BUY = AggressorSide.BUY
_PARTIAL = int(CandleFlag.PARTIAL)
_REPAIRABLE = 64
"""Published candles per series that a backfilled trade can still revise."""


class CandleStats(msgspec.Struct, frozen=True):
    """Counters of a ``CandleAggregator`` since it was built."""

    candles_emitted: int
    """Candles published, flat carried ones included."""
    late_trades: int
    """Trades dropped by at least one series because their candle was already published."""


class _Series:
    """State of one (venue, symbol, interval) series: the open candle and the last close."""

    __slots__ = (
        "buy_volume",
        "close",
        "first_ts",
        "high",
        "interval",
        "interval_ns",
        "last_close",
        "last_ts",
        "low",
        "next_open",
        "notional",
        "open",
        "partial",
        "recent",
        "symbol",
        "trades",
        "ts_open",
        "venue",
        "volume",
    )

    def __init__(self, venue: str, symbol: str, interval: str, interval_ns: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.interval = interval
        self.interval_ns = interval_ns
        # The earliest bucket a trade may open: a candle older than it is either the
        # open one or already published. _NONE until the series' first trade.
        self.next_open = _NONE
        self.last_close = 0.0
        # Recently published candles with their first/last trade times, for repairs.
        self.recent: dict[int, tuple[Candle, int, int]] = {}
        self.start(_NONE, 0.0)

    def start(self, ts_open: int, price: float) -> None:
        """Open an empty candle at ``ts_open`` whose first trade will be at ``price``."""
        self.ts_open = ts_open
        if ts_open != _NONE:
            self.next_open = ts_open + self.interval_ns
        self.open = self.high = self.low = self.close = price
        self.volume = self.buy_volume = self.notional = 0.0
        self.trades = 0
        self.first_ts = self.last_ts = _NONE
        self.partial = False

    def add(self, price: float, size: float, buy: bool, ts: int) -> None:
        """Apply one trade (at venue time ``ts``) to the open candle."""
        if self.first_ts == _NONE:
            self.first_ts = ts
        self.last_ts = ts
        # start() seeded high/low with the first price, so elif is enough here.
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += size
        self.notional += price * size
        self.trades += 1
        if buy:
            self.buy_volume += size

    def seal(self, ts_recv: int, partial: bool = False) -> Candle:
        """Return the open candle as a ``Candle`` and mark it published.

        ``partial`` (or a candle opened before its venue's stream began) flags it PARTIAL.
        """
        end = self.ts_open + self.interval_ns
        vwap = self.close
        if self.volume > 0.0:
            # Rounding can put the ratio a hair outside the traded range; keep it inside.
            vwap = min(max(self.notional / self.volume, self.low), self.high)
        candle = Candle(
            self.venue,
            self.symbol,
            self.interval,
            self.ts_open,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.trades,
            self.buy_volume,
            vwap,
            end,
            ts_recv,
            flags=_PARTIAL if partial or self.partial else 0,
        )
        self.last_close = self.close
        self.ts_open = _NONE
        self.recent[candle.ts_open] = (candle, self.first_ts, self.last_ts)
        if len(self.recent) > _REPAIRABLE:
            del self.recent[next(iter(self.recent))]
        return candle

    def carry(self, ts_recv: int) -> Candle:
        """Return a flat candle at the last close for the empty bucket ``next_open``."""
        ts_open = self.next_open
        price = self.last_close
        end = ts_open + self.interval_ns
        self.next_open = end
        return Candle(
            self.venue,
            self.symbol,
            self.interval,
            ts_open,
            price,
            price,
            price,
            price,
            0.0,
            0,
            0.0,
            price,
            end,
            ts_recv,
        )


class CandleAggregator:
    """Build candles from ``topics.TRADES`` and publish them on ``topics.CANDLES``.

    Every (venue, symbol) seen gets one series per interval. Build the aggregator
    after the clock is set to the data's start: its tick timers are aligned to
    the clock's time at construction.
    """

    def __init__(
        self,
        bus: MessageBus,
        clock: Clock,
        intervals: Sequence[str] = ("1s", "1m"),
        empty: EmptyCandlePolicy = EmptyCandlePolicy.SKIP,
        close_delay_ns: int = 0,
    ) -> None:
        """Subscribe to trades and start one tick timer per distinct interval length.

        Raise ``ConfigError`` for no intervals, a repeated or invalid interval, or a
        negative ``close_delay_ns``.
        """
        self._intervals = _parse_intervals(intervals)
        if close_delay_ns < 0:
            raise ConfigError(f"close_delay_ns must be >= 0, got {close_delay_ns}")
        self._bus = bus
        self._clock = clock
        self._carry = EmptyCandlePolicy(empty) is EmptyCandlePolicy.CARRY
        self._close_delay_ns = close_delay_ns
        self._series: dict[str, dict[str, tuple[_Series, ...]]] = {}
        # Series grouped by interval length, so a tick only scans the series it can close.
        self._by_length: dict[int, list[_Series]] = {}
        self._emitted = 0
        self._late = 0
        self._venue_lead: dict[str, int] = {}
        # When each venue's stream began: candles opened before it are partial. That is
        # when the aggregator was built, on a clock already set (live, or a SimClock set to
        # the data's start), else (a SimClock at 0 moved by a replay) the first trade.
        self._built_ns = clock.timestamp_ns()
        self._stream_start: dict[str, int] = {}
        self._unrepaired = 0
        self._warnings = WarningThrottle(log)
        for interval_ns in sorted(set(self._intervals.values())):
            self._by_length[interval_ns] = []
            self._start_timer(interval_ns)
        bus.subscribe(topics.TRADES, self.on_trade)
        bus.subscribe(topics.TRADES_BACKFILLED, self.on_backfilled_trade)

    @property
    def intervals(self) -> tuple[str, ...]:
        """Return the intervals built for every (venue, symbol), in the order given."""
        return tuple(self._intervals)

    @property
    def late_trades(self) -> int:
        """Return how many trades were dropped as late."""
        return self._late

    @property
    def candles_emitted(self) -> int:
        """Return how many candles were published, flat carried ones included."""
        return self._emitted

    def stats(self) -> CandleStats:
        """Return a snapshot of the counters."""
        return CandleStats(candles_emitted=self._emitted, late_trades=self._late)

    def on_trade(self, trade: Trade) -> None:
        """Apply ``trade`` to each of its series, closing candles it has moved past."""
        try:
            series = self._series[trade.venue][trade.symbol]
        except KeyError:
            series = self._add_market(trade.venue, trade.symbol)
        ts = trade.ts_event
        self._venue_lead[trade.venue] = ts - trade.ts_recv
        start = self._stream_start.get(trade.venue)
        if start is None:
            start = self._stream_start[trade.venue] = self._start_of_stream(ts)
        late = False
        for s in series:
            bucket = ts - ts % s.interval_ns
            if bucket != s.ts_open:
                if bucket < s.next_open:
                    late = True
                    continue
                self._roll(s, bucket, trade.price)
                s.partial = bucket < start
            s.add(trade.price, trade.size, trade.side == _BUY, ts)
        if late:
            self._reject(trade, series)

    def on_backfilled_trade(self, trade: Trade) -> None:
        """Fold a trade recovered after a gap into its candles, revising published ones."""
        series = self._series.get(trade.venue, {}).get(trade.symbol)
        if series is None:
            return
        for s in series:
            bucket = trade.ts_event - trade.ts_event % s.interval_ns
            if bucket == s.ts_open:
                _fold_into_open(s, trade)
            elif bucket in s.recent:
                self._publish(self._revise(s, bucket, trade))
            else:
                self._unrepaired += 1

    def _revise(self, s: _Series, bucket: int, trade: Trade) -> Candle:
        candle, first_ts, last_ts = s.recent[bucket]
        revised = revise_candle(candle, trade, first_ts, last_ts, self._clock.timestamp_ns())
        s.recent[bucket] = (revised, min(first_ts, trade.ts_event), max(last_ts, trade.ts_event))
        return revised

    def flush(self) -> None:
        """Publish every open candle now (end of a replay); empty intervals are not filled.

        A candle whose interval has not ended yet (on the venue's clock) is flagged PARTIAL.
        """
        now = self._clock.timestamp_ns()
        for group in self._by_length.values():
            for s in group:
                if s.ts_open != _NONE:
                    venue_now = now + self._venue_lead.get(s.venue, 0)
                    ended = s.ts_open + s.interval_ns <= venue_now
                    self._publish(s.seal(now, partial=not ended))

    def _start_of_stream(self, first_trade_ns: int) -> int:
        if self._built_ns > 0:
            return min(self._built_ns, first_trade_ns)
        return first_trade_ns

    def _start_timer(self, interval_ns: int) -> None:
        # Phase the ticks by the close delay so a candle closes as soon as its delay
        # is over instead of one whole interval later; with no delay this is the
        # clock's own alignment to multiples of the interval.
        now = self._clock.timestamp_ns()
        first = floor_ns(now, interval_ns) + interval_ns + self._close_delay_ns % interval_ns
        group = self._by_length[interval_ns]

        def tick(_due_ns: int) -> None:
            self._on_tick(group)

        callback: TimerCallback = tick
        self._clock.set_timer(interval_ns, callback, first)

    def _add_market(self, venue: str, symbol: str) -> tuple[_Series, ...]:
        series = tuple(
            _Series(venue, symbol, interval, interval_ns)
            for interval, interval_ns in self._intervals.items()
        )
        self._series.setdefault(venue, {})[symbol] = series
        for s in series:
            self._by_length[s.interval_ns].append(s)
        return series

    def _roll(self, s: _Series, bucket: int, price: float) -> None:
        now = self._clock.timestamp_ns()
        if s.ts_open != _NONE:
            self._publish(s.seal(now))
        if self._carry and s.next_open != _NONE:
            while s.next_open < bucket:
                self._publish(s.carry(now))
        s.start(bucket, price)

    def _on_tick(self, group: list[_Series]) -> None:
        local_now = self._clock.timestamp_ns()
        delay = self._close_delay_ns
        for s in group:
            # Candles are cut on the venue's clock: our time plus how far the venue's
            # latest trade was ahead of our receipt (negative when latency dominates).
            now = local_now + self._venue_lead.get(s.venue, 0)
            span = s.interval_ns + delay
            if s.ts_open != _NONE and s.ts_open + span <= now:
                self._publish(s.seal(local_now))
            if self._carry and s.ts_open == _NONE and s.next_open != _NONE:
                while s.next_open + span <= now:
                    self._publish(s.carry(local_now))

    def _publish(self, candle: Candle) -> None:
        self._emitted += 1
        self._bus.publish(topics.CANDLES, candle)

    def _reject(self, trade: Trade, series: tuple[_Series, ...]) -> None:
        self._late += 1
        ts = trade.ts_event
        missed = [s.interval for s in series if _missed(s, ts)]
        self._warnings.warn(
            "late_trade",
            "late trade dropped",
            venue=trade.venue,
            symbol=trade.symbol,
            trade_id=trade.trade_id,
            ts_event=ts,
            intervals=missed,
            late_trades=self._late,
        )


def _fold_into_open(s: _Series, trade: Trade) -> None:
    # add() assumes time order; a recovered trade may be older than trades already in.
    ts = trade.ts_event
    close, first, last = s.close, s.first_ts, s.last_ts
    s.add(trade.price, trade.size, trade.side == _BUY, ts)
    if ts <= last:
        s.close, s.last_ts = close, last
    if ts < first:
        s.open, s.first_ts = trade.price, ts
    else:
        s.first_ts = first


def revise_candle(candle: Candle, trade: Trade, first_ts: int, last_ts: int, now: int) -> Candle:
    """Return ``candle`` with ``trade`` folded in, as the next revision.

    The open (close) changes when the trade is older (newer) than every trade seen
    in the candle; ``first_ts``/``last_ts`` are those trades' venue times.
    """
    ts, price, size = trade.ts_event, trade.price, trade.size
    volume = candle.volume + size
    vwap = (candle.vwap * candle.volume + price * size) / volume
    return msgspec.structs.replace(
        candle,
        open=price if ts < first_ts else candle.open,
        close=price if ts > last_ts else candle.close,
        high=max(candle.high, price),
        low=min(candle.low, price),
        volume=volume,
        trades=candle.trades + 1,
        buy_volume=candle.buy_volume + (size if trade.side == _BUY else 0.0),
        vwap=vwap,
        ts_recv=now,
        revision=candle.revision + 1,
    )


def _missed(s: _Series, ts: int) -> bool:
    """Return True when a trade at ``ts`` was refused by series ``s``."""
    bucket = ts - ts % s.interval_ns
    return bucket != s.ts_open and bucket < s.next_open


def _parse_intervals(intervals: Sequence[str]) -> dict[str, int]:
    if isinstance(intervals, str):
        # A bare "1m" would otherwise be read as the intervals "1" and "m".
        intervals = (intervals,)
    if not intervals:
        raise ConfigError("CandleAggregator needs at least one interval, e.g. ('1m',)")
    parsed: dict[str, int] = {}
    for interval in intervals:
        if interval in parsed:
            raise ConfigError(f"interval {interval!r} is listed twice in {list(intervals)!r}")
        parsed[interval] = interval_to_ns(interval)
    return parsed
