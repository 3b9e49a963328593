"""Clocks: the one thing besides venue clients that differs between backtest and live.

Components ask the clock for the time and for periodic timers; they never call
``time.time()`` themselves, so the same code runs on simulated and wall time.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Protocol

from tradefabric.core.errors import ConfigError

TimerCallback = Callable[[int], None]
"""A timer callback receives the time (ns) the timer was due."""


class Clock(Protocol):
    """What every component may ask of time."""

    def timestamp_ns(self) -> int:
        """Return the current time in ns since the epoch (UTC)."""
        ...

    def set_timer(self, interval_ns: int, callback: TimerCallback, start_ns: int = 0) -> None:
        """Call ``callback`` every ``interval_ns``, aligned to multiples of the interval."""
        ...


def _first_due(now_ns: int, interval_ns: int, start_ns: int) -> int:
    if interval_ns <= 0:
        raise ConfigError(f"timer interval must be positive, got {interval_ns} ns")
    if start_ns > now_ns:
        return start_ns
    return now_ns - now_ns % interval_ns + interval_ns


class SimClock:
    """Simulated time, moved forward by whoever replays data (backtest, replay).

    Timers fire in time order while the clock advances; each callback sees the
    clock set to the timer's due time, exactly as a wall clock would have been.
    A clock made without ``start_ns`` starts at the first time it is advanced to,
    so timers set up before the data's start do not tick through the years
    between the epoch and the first event.
    """

    def __init__(self, start_ns: int | None = None) -> None:
        self._now = start_ns if start_ns is not None else 0
        self._started = start_ns is not None
        self._seq = 0
        self._timers: list[tuple[int, int, int, TimerCallback]] = []
        self._unstarted_timers: list[tuple[int, TimerCallback, int]] = []

    def timestamp_ns(self) -> int:
        """Return the simulated time."""
        return self._now

    def set_timer(self, interval_ns: int, callback: TimerCallback, start_ns: int = 0) -> None:
        """Fire ``callback`` at every multiple of ``interval_ns`` the clock passes."""
        if not self._started:
            _first_due(self._now, interval_ns, start_ns)  # validates the interval now
            self._unstarted_timers.append((interval_ns, callback, start_ns))
            return
        due = _first_due(self._now, interval_ns, start_ns)
        self._seq += 1
        heapq.heappush(self._timers, (due, self._seq, interval_ns, callback))

    def advance_to(self, ts_ns: int) -> None:
        """Move time forward to ``ts_ns``, firing due timers; earlier times are ignored."""
        if not self._started:
            self._start(ts_ns)
        timers = self._timers
        # Fast path (almost every replayed message): no timer is due.
        if not timers or timers[0][0] > ts_ns:
            # A comparison, not max(): this line runs once per replayed message.
            if ts_ns > self._now:  # noqa: PLR1730
                self._now = ts_ns
            return
        while timers and timers[0][0] <= ts_ns:
            due, seq, interval, callback = timers[0]
            self._now = max(self._now, due)
            # One sift instead of a pop and a push: a 1m timer fires on every 1m candle.
            heapq.heapreplace(timers, (due + interval, seq, interval, callback))
            callback(due)
        self._now = max(self._now, ts_ns)

    def _start(self, ts_ns: int) -> None:
        self._now = ts_ns
        self._started = True
        for interval_ns, callback, start_ns in self._unstarted_timers:
            self.set_timer(interval_ns, callback, start_ns)
        self._unstarted_timers.clear()


class LiveClock:
    """Wall-clock time; timers run on the asyncio event loop."""

    def __init__(self) -> None:
        # One pending handle per timer, replaced at every reschedule, so all can be cancelled.
        self._handles: dict[int, asyncio.TimerHandle] = {}
        self._next_timer = 0

    def timestamp_ns(self) -> int:
        """Return the wall-clock time."""
        return time.time_ns()

    def set_timer(self, interval_ns: int, callback: TimerCallback, start_ns: int = 0) -> None:
        """Schedule ``callback`` on the running loop at each multiple of ``interval_ns``."""
        loop = asyncio.get_running_loop()
        due = _first_due(self.timestamp_ns(), interval_ns, start_ns)
        self._next_timer += 1
        timer_id = self._next_timer

        def fire(due_ns: int) -> None:
            # Reschedule first: a callback that raises must not stop its timer.
            schedule(due_ns + interval_ns)
            callback(due_ns)

        def schedule(due_ns: int) -> None:
            delay = max(0.0, (due_ns - self.timestamp_ns()) / 1e9)
            self._handles[timer_id] = loop.call_later(delay, fire, due_ns)

        schedule(due)

    def cancel_timers(self) -> None:
        """Cancel every timer this clock scheduled."""
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()


class OffsetClock:
    """A clock that reads ``base`` time plus an offset measured elsewhere (a venue's clock).

    ``offset_ns`` is asked on every reading, so a continuously re-estimated offset
    (``ClockOffsetEstimator.offset_ns``) applies from the next timestamp on. Timers
    run on the base clock: only the timestamps move.
    """

    def __init__(self, base: Clock, offset_ns: Callable[[], int]) -> None:
        self._base = base
        self._offset_ns = offset_ns

    def timestamp_ns(self) -> int:
        """Return the base time shifted by the current offset."""
        return self._base.timestamp_ns() + self._offset_ns()

    def set_timer(self, interval_ns: int, callback: TimerCallback, start_ns: int = 0) -> None:
        """Set the timer on the base clock."""
        self._base.set_timer(interval_ns, callback, start_ns)

    def local_timestamp_ns(self) -> int:
        """Return the base clock's time, without the offset."""
        return self._base.timestamp_ns()


def local_timestamp_ns(clock: Clock) -> int:
    """Return ``clock``'s time before any venue offset: what measuring that offset must use.

    Sampling a venue's server time on an ``OffsetClock`` would measure the offset
    against itself and drift to zero.
    """
    return clock.local_timestamp_ns() if isinstance(clock, OffsetClock) else clock.timestamp_ns()
