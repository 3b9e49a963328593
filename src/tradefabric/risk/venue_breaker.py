"""A circuit breaker per venue: too many failures and that venue's trading stops.

Failures are ``VenueFault`` events on ``VENUE_FAULTS``: a feed that crashed and
was restarted by the node's supervisor, a live execution client's unknown
outcomes or refused credentials. ``failures`` of them within ``window_s`` trip
the venue's breaker: the risk engine then rejects every new order on it (rule
``venue_tripped``; the reduce-only orders of FLAT ALL and halts still pass), while
its market data keeps flowing. A person re-arms it (``ControlService.rearm``), or
it re-arms itself ``cooldown_s`` after it tripped (0: only a person). Trips and
re-arms are audited and published on ``BREAKER_EVENTS``.
"""

from __future__ import annotations

from collections import deque

import msgspec

from tradefabric.core.bus import MessageBus, Topic
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_SECOND
from tradefabric.risk.audit import AuditLog


class BreakerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When a venue's breaker trips and when it re-arms by itself."""

    failures: int = 3
    """Failures within ``window_s`` that trip the breaker (0: never trips)."""
    window_s: float = 600.0
    cooldown_s: float = 900.0
    """Re-arm this long after the trip; 0: only a person re-arms."""

    def __post_init__(self) -> None:
        if self.failures < 0:
            raise ConfigError(f"risk.venue_breaker.failures: must be >= 0, got {self.failures}")
        if not self.window_s > 0:
            raise ConfigError(f"risk.venue_breaker.window_s: must be > 0, got {self.window_s}")
        if not self.cooldown_s >= 0:
            raise ConfigError(f"risk.venue_breaker.cooldown_s: must be >= 0, got {self.cooldown_s}")


class VenueFault(msgspec.Struct, frozen=True, kw_only=True):
    """One failure of something a venue's trading depends on."""

    venue: str
    kind: str
    """``feed_failed``, ``unknown_outcome``, ``auth_refused``..."""
    detail: str
    ts: int


class BreakerEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A venue's breaker tripped (``tripped`` True) or was re-armed."""

    venue: str
    tripped: bool
    reason: str
    operator: str
    """Who re-armed it: a person's name, ``cooldown``; ``breaker`` for a trip."""
    ts: int


class TrippedVenue(msgspec.Struct, frozen=True, kw_only=True):
    """An open breaker as a restart takes it back."""

    reason: str
    since: int
    """When it tripped (ns): the cooldown counts from here, across restarts."""


VENUE_FAULTS: Topic[VenueFault] = Topic("risk.venue_faults", VenueFault)
BREAKER_EVENTS: Topic[BreakerEvent] = Topic("risk.breaker_events", BreakerEvent)


class VenueBreakers:
    """Count each venue's faults; trip, report and re-arm its breaker."""

    def __init__(
        self, config: BreakerConfig, bus: MessageBus, clock: Clock, audit: AuditLog
    ) -> None:
        self.config = config
        self._bus = bus
        self._clock = clock
        self._audit = audit
        self._window_ns = round(config.window_s * NS_PER_SECOND)
        self._cooldown_ns = round(config.cooldown_s * NS_PER_SECOND)
        self._recent: dict[str, deque[int]] = {}
        self._tripped: dict[str, TrippedVenue] = {}
        """venue -> why and since when, while its breaker is open."""
        self.trips = 0
        bus.subscribe(VENUE_FAULTS, self.on_fault)

    def on_fault(self, fault: VenueFault) -> None:
        """Count one fault; trip the venue's breaker at ``failures`` within the window."""
        if self.config.failures == 0 or fault.venue in self._tripped:
            return
        recent = self._recent.setdefault(fault.venue, deque())
        recent.append(fault.ts)
        while recent and recent[0] <= fault.ts - self._window_ns:
            recent.popleft()
        if len(recent) >= self.config.failures:
            reason = (
                f"{len(recent)} failures within {self.config.window_s:g} s, "
                f"the last {fault.kind}: {fault.detail}"
            )
            self._trip(fault.venue, reason)

    def tripped(self, venue: str) -> str:
        """Return why ``venue``'s breaker is open, "" when it is closed (re-arms on cooldown)."""
        state = self._tripped.get(venue)
        if state is None:
            return ""
        if self._cooldown_ns and self._clock.timestamp_ns() - state.since >= self._cooldown_ns:
            self.rearm(venue, "cooldown", f"{self.config.cooldown_s:g} s after the trip")
            return ""
        return state.reason

    def open_venues(self) -> dict[str, str]:
        """Return every venue whose breaker is open, with why."""
        return {venue: reason for venue in list(self._tripped) if (reason := self.tripped(venue))}

    def tripped_venues(self) -> dict[str, TrippedVenue]:
        """Return every open breaker with its trip time (what a restart restores)."""
        return dict(self._tripped)

    def restore(self, tripped: dict[str, TrippedVenue]) -> None:
        """Take back the breakers open before a restart (audited when they tripped)."""
        self._tripped = dict(tripped)

    def rearm(self, venue: str, operator: str, reason: str) -> bool:
        """Close ``venue``'s breaker (audited); return False when it was not open."""
        if venue not in self._tripped:
            return False
        event = BreakerEvent(venue=venue, tripped=False, reason=reason, operator=operator,
                             ts=self._clock.timestamp_ns())  # fmt: skip
        self._audit.write("venue_breaker", event.ts, event)
        del self._tripped[venue]
        self._recent.pop(venue, None)
        self._bus.publish(BREAKER_EVENTS, event)
        return True

    def _trip(self, venue: str, reason: str) -> None:
        now = self._clock.timestamp_ns()
        event = BreakerEvent(venue=venue, tripped=True, reason=reason, operator="breaker",
                             ts=now)  # fmt: skip
        # Audited before the state changes (a trip nobody can trace never happened),
        # published after (the state recorder saves the state as it is then).
        self._audit.write("venue_breaker", now, event)
        self._tripped[venue] = TrippedVenue(reason=reason, since=now)
        self.trips += 1
        self._bus.publish(BREAKER_EVENTS, event)
