"""SimClock and LiveClock: time, aligned timers, start-up and cancellation."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from tradefabric.core.clock import LiveClock, SimClock
from tradefabric.core.errors import ConfigError

SEC = 1_000_000_000
MS = 1_000_000
T0 = 1_723_161_600 * SEC  # 2024-08-09 00:00:00 UTC


class Recorder:
    """A timer callback that records (due time, clock time at the call)."""

    def __init__(
        self, clock: SimClock, name: str = "", log: list[tuple[str, int]] | None = None
    ) -> None:
        self.clock = clock
        self.name = name
        self.calls: list[tuple[int, int]] = []
        self.log = log

    def __call__(self, due_ns: int) -> None:
        self.calls.append((due_ns, self.clock.timestamp_ns()))
        if self.log is not None:
            self.log.append((self.name, due_ns))

    @property
    def dues(self) -> list[int]:
        return [due for due, _ in self.calls]


# --- SimClock ---------------------------------------------------------------


def test_unstarted_clock_reads_zero_then_jumps_to_first_advance() -> None:
    clock = SimClock()
    assert clock.timestamp_ns() == 0
    clock.advance_to(T0 + 123)
    assert clock.timestamp_ns() == T0 + 123


def test_unstarted_clock_aligns_timers_at_first_advance_without_ticking_from_epoch() -> None:
    clock = SimClock()
    timer = Recorder(clock)
    clock.set_timer(SEC, timer)
    clock.advance_to(T0 + 500 * MS)
    assert timer.calls == []  # nothing between the epoch and the first event
    clock.advance_to(T0 + 3 * SEC)
    assert timer.dues == [T0 + SEC, T0 + 2 * SEC, T0 + 3 * SEC]


def test_first_advance_exactly_on_a_boundary_fires_from_the_next_one() -> None:
    clock = SimClock()
    timer = Recorder(clock)
    clock.set_timer(SEC, timer)
    clock.advance_to(T0)
    assert timer.calls == []
    clock.advance_to(T0 + SEC)
    assert timer.dues == [T0 + SEC]


def test_timer_sees_the_clock_set_to_its_due_time() -> None:
    clock = SimClock(start_ns=T0)
    timer = Recorder(clock)
    clock.set_timer(SEC, timer)
    clock.advance_to(T0 + 3 * SEC + 700 * MS)
    assert timer.calls == [(T0 + k * SEC, T0 + k * SEC) for k in (1, 2, 3)]
    assert clock.timestamp_ns() == T0 + 3 * SEC + 700 * MS


def test_timers_with_different_intervals_fire_in_time_order() -> None:
    clock = SimClock(start_ns=T0)
    log: list[tuple[str, int]] = []
    fast = Recorder(clock, "fast", log)
    slow = Recorder(clock, "slow", log)
    clock.set_timer(2 * SEC, slow)
    clock.set_timer(SEC, fast)
    clock.advance_to(T0 + 4 * SEC)
    assert fast.dues == [T0 + k * SEC for k in (1, 2, 3, 4)]
    assert slow.dues == [T0 + 2 * SEC, T0 + 4 * SEC]
    assert [due for _, due in log] == sorted(due for _, due in log)
    # Ties fire in the order the timers were set: slow was set first.
    assert log == [
        ("fast", T0 + SEC),
        ("slow", T0 + 2 * SEC),
        ("fast", T0 + 2 * SEC),
        ("fast", T0 + 3 * SEC),
        ("slow", T0 + 4 * SEC),
        ("fast", T0 + 4 * SEC),
    ]


def test_timers_are_aligned_to_multiples_of_their_interval() -> None:
    clock = SimClock(start_ns=T0 + 1234 * MS)
    timer = Recorder(clock)
    clock.set_timer(500 * MS, timer)
    clock.advance_to(T0 + 2 * SEC)
    assert timer.dues == [T0 + 1500 * MS, T0 + 2000 * MS]


def test_one_large_advance_fires_every_missed_due_time() -> None:
    clock = SimClock(start_ns=T0)
    timer = Recorder(clock)
    clock.set_timer(60 * SEC, timer)
    clock.advance_to(T0 + 3600 * SEC)
    assert len(timer.calls) == 60
    assert timer.dues[-1] == T0 + 3600 * SEC
    assert all(b - a == 60 * SEC for a, b in itertools.pairwise(timer.dues))


def test_start_ns_in_the_future_delays_the_first_fire() -> None:
    clock = SimClock(start_ns=T0)
    timer = Recorder(clock)
    clock.set_timer(SEC, timer, start_ns=T0 + 5 * SEC)
    clock.advance_to(T0 + 4 * SEC)
    assert timer.calls == []
    clock.advance_to(T0 + 7 * SEC)
    assert timer.dues == [T0 + 5 * SEC, T0 + 6 * SEC, T0 + 7 * SEC]


def test_start_ns_is_kept_for_timers_set_before_the_clock_started() -> None:
    clock = SimClock()
    timer = Recorder(clock)
    clock.set_timer(SEC, timer, start_ns=T0 + 10 * SEC)
    clock.advance_to(T0)
    clock.advance_to(T0 + 11 * SEC)
    assert timer.dues == [T0 + 10 * SEC, T0 + 11 * SEC]


def test_start_ns_in_the_past_is_ignored() -> None:
    clock = SimClock(start_ns=T0)
    timer = Recorder(clock)
    clock.set_timer(SEC, timer, start_ns=T0 - 100 * SEC)
    clock.advance_to(T0 + 2 * SEC)
    assert timer.dues == [T0 + SEC, T0 + 2 * SEC]


def test_advancing_backwards_is_ignored() -> None:
    clock = SimClock(start_ns=T0)
    timer = Recorder(clock)
    clock.set_timer(SEC, timer)
    clock.advance_to(T0 + 2 * SEC)
    clock.advance_to(T0 + SEC)
    assert clock.timestamp_ns() == T0 + 2 * SEC
    assert timer.dues == [T0 + SEC, T0 + 2 * SEC]
    clock.advance_to(T0 + 3 * SEC)
    assert timer.dues == [T0 + SEC, T0 + 2 * SEC, T0 + 3 * SEC]


def test_timer_set_inside_a_callback_starts_after_that_due_time() -> None:
    clock = SimClock(start_ns=T0)
    late = Recorder(clock)

    def arm(due_ns: int) -> None:
        if due_ns == T0 + SEC:
            clock.set_timer(SEC, late)

    clock.set_timer(SEC, arm)
    clock.advance_to(T0 + 3 * SEC)
    assert late.dues == [T0 + 2 * SEC, T0 + 3 * SEC]


@pytest.mark.parametrize("interval", [0, -1, -SEC])
@pytest.mark.parametrize("started", [True, False])
def test_non_positive_interval_is_a_config_error(interval: int, started: bool) -> None:
    clock = SimClock(start_ns=T0 if started else None)
    with pytest.raises(ConfigError, match=f"got {interval} ns"):
        clock.set_timer(interval, lambda _: None)
    clock.advance_to(T0 + 10 * SEC)  # nothing was registered


# --- LiveClock --------------------------------------------------------------


def test_live_clock_reads_wall_time() -> None:
    clock = LiveClock()
    before = time.time_ns()
    now = clock.timestamp_ns()
    after = time.time_ns()
    assert before <= now <= after


async def test_live_timer_fires_repeatedly_on_aligned_due_times_until_cancelled() -> None:
    clock = LiveClock()
    interval = 50 * MS
    fired: list[tuple[int, int]] = []
    clock.set_timer(interval, lambda due: fired.append((due, time.time_ns())))
    await asyncio.sleep(0.3)
    clock.cancel_timers()
    count = len(fired)
    assert count >= 2
    dues = [due for due, _ in fired]
    assert all(due % interval == 0 for due in dues)
    assert all(b - a == interval for a, b in itertools.pairwise(dues))
    assert all(called >= due for due, called in fired)  # never early
    await asyncio.sleep(0.15)
    assert len(fired) == count


async def test_live_timer_start_ns_delays_first_fire() -> None:
    clock = LiveClock()
    start = time.time_ns() + 150 * MS
    fired: list[int] = []
    clock.set_timer(50 * MS, fired.append, start_ns=start)
    await asyncio.sleep(0.1)
    assert fired == []
    await asyncio.sleep(0.15)
    clock.cancel_timers()
    assert fired[0] == start
    assert len(fired) >= 1


async def test_live_clock_invalid_interval_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        LiveClock().set_timer(0, lambda _: None)


def test_live_timer_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        LiveClock().set_timer(SEC, lambda _: None)


async def test_cancel_timers_stops_a_slow_timer_after_a_fast_one_fired_many_times() -> None:
    """A fast timer's many reschedules must not make the clock forget another timer's handle."""
    clock = LiveClock()
    slow: list[int] = []
    fast: list[int] = []
    clock.set_timer(SEC, slow.append, start_ns=time.time_ns() + 250 * MS)
    clock.set_timer(MS, fast.append)
    await asyncio.sleep(0.12)  # the fast timer reschedules ~100 times
    clock.cancel_timers()
    assert len(fast) > 64
    fast_count = len(fast)
    await asyncio.sleep(0.25)  # past the slow timer's first due time
    assert len(fast) == fast_count
    assert slow == []
