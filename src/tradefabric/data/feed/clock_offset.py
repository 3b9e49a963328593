"""Estimate a venue's clock offset from its server-time endpoint (NTP-style)."""

from __future__ import annotations

from collections import deque

import msgspec


class OffsetSample(msgspec.Struct, frozen=True):
    """One measurement: local send/receive times and the venue's time, all ns."""

    local_sent: int
    venue_time: int
    local_received: int
    venue_resolution: int = 1_000_000
    """Granularity of the venue's reported time in ns (Binance: 1 ms; Kraken: 1 s)."""

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
        """Return how far the offset may be off: half the best round trip plus half the
        venue's time resolution (a venue telling whole seconds is known to +-0.5 s at best).
        """
        if not self._samples:
            return 0
        best = min(self._samples, key=lambda s: s.round_trip)
        return best.round_trip // 2 + best.venue_resolution // 2

    def to_venue_time(self, local_ns: int) -> int:
        """Express a local timestamp on the venue's clock."""
        return local_ns + self.offset_ns()
