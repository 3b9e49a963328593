"""Keep a node's long-running components running: restart what fails, with backoff.

A feed's own loop already survives dropped sockets, stalls and REST errors; what
reaches the supervisor is a component that *crashed* (a bug, an unexpected
error). It is logged, published as a critical alert and as a ``VenueFault`` (so the
venue's circuit breaker counts it: too many and that venue's trading stops while
its data keeps flowing), and started again after an exponential backoff with
jitter. A component that then ran for ``stable_s`` is healthy again: the next
failure starts the backoff from the beginning. Nothing is restarted once
``stop`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.data.feed.backoff import Backoff
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.risk.venue_breaker import BREAKER_EVENTS, VENUE_FAULTS, BreakerEvent, VenueFault

log = structlog.get_logger(__name__)

Run = Callable[[asyncio.Event], Awaitable[None]]
"""A component's main loop: runs until the event is set (or fails)."""


class RestartPolicy(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a crashed component is started again (``market_data.restart``)."""

    initial_s: float = 1.0
    maximum_s: float = 60.0
    stable_s: float = 60.0
    """A run this long resets the backoff."""

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.maximum_s:
            raise ConfigError("market_data.restart: need 0 < initial_s <= maximum_s")
        if not self.stable_s > 0:
            raise ConfigError("market_data.restart.stable_s: must be > 0")


class SupervisedStats(msgspec.Struct, frozen=True):
    """What the supervisor did for one component."""

    name: str
    restarts: int
    last_error: str


class Supervisor:
    """Run one venue's component under ``policy``; report each crash."""

    def __init__(
        self,
        name: str,
        venue: str,
        bus: MessageBus,
        clock: Clock,
        policy: RestartPolicy,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self.venue = venue
        self._bus = bus
        self._clock = clock
        self._policy = policy
        self._backoff = backoff or Backoff(policy.initial_s, policy.maximum_s)
        self.restarts = 0
        self.last_error = ""

    def stats(self) -> SupervisedStats:
        """Return the restarts so far and the last error."""
        return SupervisedStats(self.name, self.restarts, self.last_error)

    async def run(self, component: Run, stop: asyncio.Event) -> None:
        """Run ``component`` until ``stop``; restart it after each crash."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            started = loop.time()
            try:
                await component(stop)
            except Exception as exc:  # a crash of one component must not end the node
                if loop.time() - started >= self._policy.stable_s:
                    self._backoff.reset()
                self._crashed(exc)
            else:
                return  # it ended by itself (stop, or nothing left to do)
            delay = self._backoff.next_delay()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            if not stop.is_set():
                self.restarts += 1
                log.warning("component_restarted", component=self.name, restarts=self.restarts)

    def _crashed(self, error: Exception) -> None:
        now = self._clock.timestamp_ns()
        detail = f"{type(error).__name__}: {error}"
        self.last_error = detail
        log.error("component_crashed", component=self.name, error=repr(error))
        self._bus.publish(ALERTS, Alert(
            kind="component_crashed", level=AlertLevel.CRITICAL, component=self.name,
            message=f"{self.name} crashed ({detail}); restarting with backoff", ts=now,
        ))  # fmt: skip
        self._bus.publish(
            VENUE_FAULTS, VenueFault(venue=self.venue, kind="feed_failed", detail=detail, ts=now)
        )


def alert_on_breaker_events(bus: MessageBus) -> None:
    """Publish each circuit-breaker trip and re-arm as an alert (operators see them)."""

    def on_event(event: BreakerEvent) -> None:
        if event.tripped:
            kind, level = "venue_tripped", AlertLevel.CRITICAL
            message = f"{event.venue} trading stopped, data keeps flowing: {event.reason}"
        else:
            kind, level = "venue_rearmed", AlertLevel.WARNING
            message = f"{event.venue} trading re-armed by {event.operator}: {event.reason}"
        bus.publish(ALERTS, Alert(kind=kind, level=level, component=f"venue:{event.venue}",
                                  message=message, ts=event.ts))  # fmt: skip

    bus.subscribe(BREAKER_EVENTS, on_event)
