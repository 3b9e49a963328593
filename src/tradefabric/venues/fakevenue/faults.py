"""Faults a fake venue can inject on command, to test how feeds survive them."""

from __future__ import annotations

import time

import msgspec


class HttpFault(msgspec.Struct, frozen=True):
    """Answer the next ``count`` REST requests with ``status`` (429 carries Retry-After)."""

    status: int
    count: int
    retry_after_s: float = 1.0


class FaultCounters(msgspec.Struct, frozen=True):
    """What the fake venue has injected so far."""

    drops: int
    stalled_frames: int
    lagged_frames: int
    malformed_sent: int
    skipped_sequenced: int
    http_errors: int


class Faults:
    """Pending faults; the server consults them on every frame and request."""

    def __init__(self) -> None:
        self._stall_until = 0.0
        self._lag_s = 0.0
        self._lag_start = 0.0
        self._lag_ramp_s = 0.0
        self._lag_until = 0.0
        self._skip = 0
        self._malformed = 0
        self._http: list[HttpFault] = []
        self.drop_requests = 0
        kinds = ("drops", "stalled", "lagged", "malformed", "skipped", "http")
        self._counts = dict.fromkeys(kinds, 0)

    def stall(self, seconds: float) -> None:
        """Send no frames for ``seconds`` (the market moves on; connections just go quiet)."""
        self._stall_until = time.monotonic() + seconds

    def lag(self, seconds: float, duration_s: float, ramp_s: float = 0.0) -> None:
        """For ``duration_s``, deliver frames late: the socket stays busy but behind the
        market, while REST answers with the venue's current state. The delay grows
        linearly to ``seconds`` over ``ramp_s`` (as congestion builds; a ramp slower than
        the clock keeps frames flowing, so the stream never goes silent)."""
        now = time.monotonic()
        self._lag_s = seconds
        self._lag_start = now
        self._lag_ramp_s = ramp_s
        self._lag_until = now + duration_s

    def lag_s(self) -> float:
        """Return how late frames sent now are delivered (0 outside a lag), counting them."""
        now = time.monotonic()
        if now >= self._lag_until:
            return 0.0
        self._counts["lagged"] += 1
        if self._lag_ramp_s <= 0:
            return self._lag_s
        return self._lag_s * min(1.0, (now - self._lag_start) / self._lag_ramp_s)

    def skip_sequenced(self, count: int) -> None:
        """Withhold the next ``count`` sequenced frames (book diffs) from every client."""
        self._skip += count

    def send_malformed(self, count: int) -> None:
        """Send ``count`` malformed frames before the next real one."""
        self._malformed += count

    def fail_http(self, fault: HttpFault) -> None:
        """Fail the next REST requests as described."""
        self._http.append(fault)

    def drop(self) -> None:
        """Ask the server to drop every connection now."""
        self.drop_requests += 1
        self._counts["drops"] += 1

    def stalled(self) -> bool:
        """Return True (and count it) while a stall is in force."""
        if time.monotonic() < self._stall_until:
            self._counts["stalled"] += 1
            return True
        return False

    def take_skip(self) -> bool:
        """Return True when this sequenced frame must be withheld."""
        if self._skip > 0:
            self._skip -= 1
            self._counts["skipped"] += 1
            return True
        return False

    def take_malformed(self) -> int:
        """Return how many malformed frames to send now."""
        count, self._malformed = self._malformed, 0
        self._counts["malformed"] += count
        return count

    def take_http(self) -> HttpFault | None:
        """Return the fault for this REST request, if one is pending."""
        if not self._http:
            return None
        fault = self._http[0]
        remaining = fault.count - 1
        if remaining <= 0:
            self._http.pop(0)
        else:
            self._http[0] = HttpFault(fault.status, remaining, fault.retry_after_s)
        self._counts["http"] += 1
        return fault

    def counters(self) -> FaultCounters:
        """Return what was injected so far."""
        c = self._counts
        return FaultCounters(
            c["drops"], c["stalled"], c["lagged"], c["malformed"], c["skipped"], c["http"]
        )
