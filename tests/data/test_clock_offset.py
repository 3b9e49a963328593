"""Clock offset estimation and the venue-time clock built on it."""

from __future__ import annotations

from tradefabric.core.clock import OffsetClock, SimClock, local_timestamp_ns
from tradefabric.data.feed.clock_offset import ClockOffsetEstimator, OffsetSample

MS = 1_000_000


def test_estimate_trusts_the_sample_with_the_shortest_round_trip() -> None:
    estimator = ClockOffsetEstimator()
    assert (estimator.offset_ns(), estimator.uncertainty_ns()) == (0, 0)
    # Venue 100 ms ahead; the slow sample's asymmetric queueing would say 140 ms.
    estimator.add(OffsetSample(0, 100 * MS + 100 * MS, 120 * MS))
    estimator.add(OffsetSample(1_000 * MS, 1_100 * MS + 4 * MS, 1_008 * MS))
    assert estimator.offset_ns() == 100 * MS
    assert estimator.uncertainty_ns() == 4 * MS + MS // 2  # half the RTT + half a millisecond


def test_a_venue_telling_whole_seconds_is_uncertain_by_half_a_second() -> None:
    estimator = ClockOffsetEstimator()
    estimator.add(OffsetSample(0, 500 * MS + 1 * MS, 2 * MS, venue_resolution=1_000 * MS))
    assert estimator.uncertainty_ns() == 1 * MS + 500 * MS


def test_offset_clock_applies_the_current_offset_and_keeps_local_time_reachable() -> None:
    base = SimClock(start_ns=1_000 * MS)
    offset = [0]
    clock = OffsetClock(base, lambda: offset[0])
    assert clock.timestamp_ns() == 1_000 * MS
    offset[0] = 2_500 * MS
    assert clock.timestamp_ns() == 3_500 * MS
    assert local_timestamp_ns(clock) == local_timestamp_ns(base) == 1_000 * MS
    fired: list[int] = []
    clock.set_timer(100 * MS, fired.append)
    base.advance_to(1_250 * MS)
    assert fired == [1_100 * MS, 1_200 * MS]  # timers run on the base clock
