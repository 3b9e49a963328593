"""The live venues of a ``tradefabric run`` node: clients built from config, safety first.

For every ``execution.VENUE`` with ``mode: live``: refuse a production endpoint
unless ``--confirm-live`` was given (``registry.needs_confirmation``), read the
keys (environment or an owner-only file), build the client from the venue
registry, and wrap it in a ``LiveVenue`` the execution engine sends orders to
after the same risk checks as in simulation. ``LIVE_EVENTS`` become alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.config import load_credentials
from tradefabric.execution.live.engine import LiveVenue
from tradefabric.execution.live.events import LIVE_EVENTS, LiveEvent
from tradefabric.execution.live.registry import build_live_client, needs_confirmation
from tradefabric.execution.portfolio import split_symbol
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.node.kernel import TradingConfig
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.risk.venue_breaker import VENUE_FAULTS, VenueFault


def build_live_venues(
    config: TradingConfig,
    instruments: Mapping[InstrumentId, Instrument],
    *,
    confirm_live: bool,
) -> dict[str, LiveVenue]:
    """Return a ``LiveVenue`` per ``mode: live`` venue; refuse what is not safe."""
    venues: dict[str, LiveVenue] = {}
    for name in sorted(config.live_venues()):
        live = config.execution[name].live
        assert live is not None  # ExecutionConfig refuses mode: live without it
        reason = needs_confirmation(name, live)
        if reason and not confirm_live:
            raise ConfigError(
                f"{reason}; mode: live there trades real funds: pass --confirm-live to "
                "`tradefabric run` if that is meant"
            )
        credentials = load_credentials(live.credentials, name)
        symbols = venue_instruments(config, instruments, name)
        client = build_live_client(name, live, credentials, symbols)
        traded = {
            getattr(s, "symbol", None) for s in config.strategies if getattr(s, "venue", "") == name
        }
        wanted = tuple(sorted({*live.symbols, *(t for t in traded if isinstance(t, str))}))
        venues[name] = LiveVenue(client, live.settings(), symbols=wanted)
    return venues


def venue_instruments(
    config: TradingConfig, instruments: Mapping[InstrumentId, Instrument], venue: str
) -> dict[str, Instrument]:
    """Return symbol -> instrument of ``venue``: the fetched ones, else the config's."""
    found = {i.symbol: inst for i, inst in instruments.items() if i.venue == venue}
    for entry in config.instruments:
        if entry.venue != venue or entry.symbol in found:
            continue
        base, quote = split_symbol(entry.symbol)
        found[entry.symbol] = Instrument(
            venue=venue, symbol=entry.symbol, raw_symbol=f"{base}{quote}", base=base,
            quote=quote,
            kind=InstrumentKind.PERPETUAL if ":" in entry.symbol else InstrumentKind.SPOT,
            price_increment=entry.price_increment, size_increment=entry.size_increment,
            min_size=entry.min_size or "0", min_notional=entry.min_notional or "0",
            contract_size=entry.contract_size or "1",
        )  # fmt: skip
    return found


BREAKER_KINDS: Final = frozenset({"auth_failed", "order_unknown", "live_task_failed",
                                   "reconcile_failed"})  # fmt: skip
"""Live events that count as a failure of their venue for its circuit breaker."""


def alert_live_events(bus: MessageBus, clock: Clock) -> None:
    """Publish every live execution event as an alert (``ops.alerts``); the failures among
    them (``BREAKER_KINDS``) also as ``VenueFault``s for the venue's circuit breaker."""

    def forward(event: LiveEvent) -> None:
        if event.kind in BREAKER_KINDS:
            fault = VenueFault(venue=event.venue, kind=event.kind, detail=event.message,
                               ts=clock.timestamp_ns())  # fmt: skip
            bus.publish(VENUE_FAULTS, fault)
        bus.publish(
            ALERTS,
            Alert(
                kind=event.kind,
                level=AlertLevel(event.level),
                component=f"live:{event.venue}",
                message=event.message,
                ts=clock.timestamp_ns(),
            ),
        )

    with bus.owned_by("record"):
        bus.subscribe(LIVE_EVENTS, forward)
