"""``tradefabric guard``: cancel every open order when the node's heartbeat stops.

A separate process started with the node's own config. It builds a live client for
each ``mode: live`` venue that has no cancel-after of its own (Binance spot,
Coinbase; with ``guard.all_venues`` every live venue), connects it, and watches
``guard.heartbeat_file`` (``execution.live.heartbeat``). When a ``running``
heartbeat is older than ``guard.timeout_s`` it calls ``cancel_all`` on each of
those venues, audits what it did (``guard_fired`` records in its own audit log,
``guard.audit_path``) and prints one line per venue. It fires once per outage and
arms again when a newer heartbeat appears (the node was restarted). A ``stopped``
heartbeat (a clean stop: the orders were left on purpose) stands it down.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import msgspec
import structlog

from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.config import load_credentials
from tradefabric.execution.live.heartbeat import RUNNING, GuardConfig, Heartbeat, read_heartbeat
from tradefabric.execution.live.protocol import LiveExecutionClient
from tradefabric.execution.live.registry import build_live_client
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.node.kernel import TradingConfig
from tradefabric.node.live_venues import venue_instruments
from tradefabric.risk.audit import AuditLog

log = structlog.get_logger(__name__)


class GuardFired(msgspec.Struct, frozen=True, kw_only=True):
    """Audit record: the guard cancelled every open order of ``venue`` (or failed to)."""

    venue: str
    heartbeat_pid: int
    heartbeat_seq: int
    heartbeat_age_s: float
    outcome: str
    """``cancelled`` or the error."""
    ts: int


class _Quiet:
    """The guard's ``LiveReports``: it acts on the heartbeat, not on what venues report."""

    def on_order_status(self, report: OrderStatusReport) -> None:
        """Ignore."""

    def on_trade(self, report: TradeReport) -> None:
        """Ignore."""

    def on_balance(self, report: BalanceReport) -> None:
        """Ignore."""

    def on_position(self, report: PositionReport) -> None:
        """Ignore."""

    def on_stream_reconnected(self, venue: str) -> None:
        """Ignore."""


def guard_config(config: TradingConfig) -> GuardConfig:
    """Return the config's ``guard:`` section; a config without one cannot be guarded."""
    if config.guard is None:
        raise ConfigError("guard: the config has no guard: {heartbeat_file: ...} section")
    if not config.live_venues():
        raise ConfigError("guard: the config has no mode: live venue to guard")
    return config.guard


def build_guard_clients(config: TradingConfig) -> dict[str, LiveExecutionClient]:
    """Return the live clients the guard cancels on (those without cancel-after)."""
    settings = guard_config(config)
    clients: dict[str, LiveExecutionClient] = {}
    for name in sorted(config.live_venues()):
        live = config.execution[name].live
        assert live is not None
        credentials = load_credentials(live.credentials, name)
        client = build_live_client(name, live, credentials, venue_instruments(config, {}, name))
        armed = client.supports_cancel_after and live.cancel_after_s > 0
        if settings.all_venues or not armed:
            clients[name] = client
    return clients


class Guard:
    """Watch one heartbeat file and cancel on ``clients`` when it goes stale."""

    def __init__(
        self,
        settings: GuardConfig,
        clients: dict[str, LiveExecutionClient],
        *,
        say: Callable[[str], None] = print,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self._say = say
        self.audit = AuditLog(settings.audit_path)
        self.fired: list[GuardFired] = []
        self._armed_after = (-1, -1)
        """(pid, seq) of the heartbeat the last firing followed: fire again only after a newer."""

    async def run(self, stop: asyncio.Event) -> None:
        """Connect the clients, then watch until ``stop``; close the clients at the end."""
        for client in self.clients.values():
            await client.connect(_Quiet())
        names = ", ".join(self.clients) or "none"
        self._say(
            f"guard: watching {self.settings.heartbeat_file} (timeout "
            f"{self.settings.timeout_s:g} s); cancels on {names}"
        )
        poll = min(0.2, self.settings.timeout_s / 10)
        try:
            while not stop.is_set():
                await self._check()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)
        finally:
            for client in self.clients.values():
                await client.close()
            self.audit.close()

    async def _check(self) -> None:
        beat = read_heartbeat(self.settings.heartbeat_file)
        if beat is None or beat.state != RUNNING:
            return
        age = (time.time_ns() - beat.ts_ns) / 1e9
        if age <= self.settings.timeout_s or (beat.pid, beat.seq) == self._armed_after:
            return
        self._armed_after = (beat.pid, beat.seq)
        await self.fire(beat, age)

    async def fire(self, beat: Heartbeat, age: float) -> None:
        """Cancel every open order on every guarded venue; audit and print each outcome."""
        log.warning("guard_fired", heartbeat_pid=beat.pid, age_s=round(age, 3))
        results = await asyncio.gather(
            *(client.cancel_all(None) for client in self.clients.values()), return_exceptions=True
        )
        for venue, result in zip(self.clients, results, strict=True):
            outcome = "cancelled" if result is None else f"{type(result).__name__}: {result}"
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            record = GuardFired(
                venue=venue, heartbeat_pid=beat.pid, heartbeat_seq=beat.seq,
                heartbeat_age_s=age, outcome=outcome, ts=time.time_ns(),
            )  # fmt: skip
            self.audit.write("guard_fired", record.ts, record)
            self.fired.append(record)
            self._say(
                f"guard: heartbeat of pid {beat.pid} stale for {age:.1f} s: {venue}: {outcome}"
            )


async def run_guard(config: TradingConfig, stop: asyncio.Event) -> list[GuardFired]:
    """Build the guard from ``config`` and run it until ``stop``; return what it did."""
    guard = Guard(guard_config(config), build_guard_clients(config))
    await guard.run(stop)
    return guard.fired
