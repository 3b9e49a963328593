"""Estimate a venue's clock offset from its server-time endpoint (NTP-style)."""

from __future__ import annotations

from collections import deque

import msgspec


class OffsetSample(msgspec.Struct, frozen=True):
    """One measurement: local send/receive times and the venue's time, all ns."""

    local_sent: int
    venue_time: int
    local_received: int

    @property
    def round_trip(self) -> int:
        """Return the request's round-trip time in ns."""
        return self.local_received - self.local_sent

    @property
    def offset(self) -> int:
        """Return venue time minus local time, assuming a symmetric path."""
        return self.venue_time - (self.local_sent + self.local_received) // 2


class ClockOffsetEstimator:
    """Keep recent samples; trust the one with the shortest round trip (least queueing)."""

    def __init__(self, window: int = 16) -> None:
        self._samples: deque[OffsetSample] = deque(maxlen=window)

    def add(self, sample: OffsetSample) -> None:
        """Record one measurement."""
        self._samples.append(sample)

    @property
    def samples(self) -> int:
        """Return how many samples are in the window."""
        return len(self._samples)

    def offset_ns(self) -> int:
        """Return venue time minus local time in ns (0 before any sample)."""
        if not self._samples:
            return 0
        return min(self._samples, key=lambda s: s.round_trip).offset

    def uncertainty_ns(self) -> int:
        """Return half the best round trip: the offset is known to within this."""
        if not self._samples:
            return 0
        return min(s.round_trip for s in self._samples) // 2

    def to_venue_time(self, local_ns: int) -> int:
        """Express a local timestamp on the venue's clock."""
        return local_ns + self.offset_ns()
