"""Fault isolation: what the node does when one of its components raises.

The bus catches every exception a subscriber raises and hands it here with the
name of the component the handler belongs to (``core.bus.HandlerFault``). The
decision is by exception type and owner, never by message text:

- ``AuditWriteError`` from anyone: the node can no longer record what it does, so
  trading halts (without writing the halt to the log that just failed) and a
  critical alert names the open orders left resting. Never treated as a lost
  connection: nothing reconnects or retries.
- a strategy (``strategy:<id>``): that strategy is stopped (unsubscribed, its open
  orders cancelled, audited), an alert is published; the feeds and the other
  strategies keep running.
- another named component (``analytics``, ``integrity``, ``record``...): it is
  unsubscribed and an alert published; trading goes on without it.
- the node's own core (``core``: execution, risk, portfolio, price tracking) or a
  handler with no owner: the node's state may be inconsistent, so trading halts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec
import structlog

from tradefabric.core.bus import HandlerFault, MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import AuditWriteError
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel

log = structlog.get_logger(__name__)

STRATEGY_PREFIX = "strategy:"
CORE = "core"


class Halter(Protocol):
    """What isolation needs of the risk engine: halt, with or without auditing it."""

    def halt(
        self, reason: str, equity: float = ..., operator: str = ..., audited: bool = ...
    ) -> None:
        """Halt trading."""
        ...


class FaultRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One isolated fault: which component, what it raised, what the node did."""

    component: str
    topic: str
    error_type: str
    error: str
    action: str
    ts: int


StopStrategy = Callable[[str, str], None]
"""(strategy id, reason) -> None: stop one strategy and cancel its orders."""


class FaultPolicy:
    """Decide and carry out what happens after a component raised; see the module docstring."""

    def __init__(self, bus: MessageBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._risk: Halter | None = None
        self._stop_strategy: StopStrategy | None = None
        self.faults: list[FaultRecord] = []
        self.stopped: set[str] = set()
        """Components stopped after a fault."""
        self._handling = False

    def attach(self, risk: Halter, stop_strategy: StopStrategy) -> None:
        """Give the policy the risk engine to halt and the kernel's way to stop a strategy."""
        self._risk = risk
        self._stop_strategy = stop_strategy

    def on_fault(self, fault: HandlerFault) -> None:
        """Handle one subscriber exception (the bus's ``on_fault``)."""
        component = fault.owner or CORE
        if self._handling:
            # A fault while handling a fault (an alert subscriber raising): log, never recurse.
            log.error("fault_while_isolating", component=component, error=repr(fault.error))
            return
        self._handling = True
        try:
            action = self._act(component, fault.error)
            self._record(component, fault, action)
        finally:
            self._handling = False

    def _act(self, component: str, error: BaseException) -> str:
        if isinstance(error, AuditWriteError):
            self._halt(f"audit log unwritable ({error}); {component} was writing", audited=False)
            if component == CORE:
                return "halted: audit log unwritable"
            # Stopping it the usual way would audit; just cut it off the bus.
            self._bus.unsubscribe_owner(component)
            self.stopped.add(component)
            return f"halted: audit log unwritable; {component} unsubscribed"
        if component.startswith(STRATEGY_PREFIX):
            return self._stop_strategy_component(component, error)
        if component == CORE:
            self._halt(f"core component raised {type(error).__name__}: {error}", audited=True)
            return "halted: core component fault"
        self._bus.unsubscribe_owner(component)
        self.stopped.add(component)
        return "component stopped"

    def _stop_strategy_component(self, component: str, error: BaseException) -> str:
        self._bus.unsubscribe_owner(component)
        self.stopped.add(component)
        if self._stop_strategy is not None:
            strategy_id = component.removeprefix(STRATEGY_PREFIX)
            try:
                self._stop_strategy(strategy_id, f"{type(error).__name__}: {error}")
            except AuditWriteError as exc:
                self._halt(f"audit log unwritable ({exc}) while stopping {component}", False)
                return "halted: audit log unwritable"
        return "strategy stopped, its orders cancelled"

    def _halt(self, reason: str, audited: bool) -> None:
        if self._risk is None:
            return
        try:
            self._risk.halt(reason, operator="isolation", audited=audited)
        except AuditWriteError as exc:
            self._risk.halt(f"{reason}; audit log unwritable ({exc})", audited=False)

    def _record(self, component: str, fault: HandlerFault, action: str) -> None:
        now = self._clock.timestamp_ns()
        record = FaultRecord(
            component=component,
            topic=fault.topic,
            error_type=type(fault.error).__name__,
            error=str(fault.error),
            action=action,
            ts=now,
        )
        self.faults.append(record)
        log.error(
            "component_fault",
            component=component,
            topic=fault.topic,
            error=repr(fault.error),
            action=action,
        )
        halted = action.startswith("halted")
        self._bus.publish(
            ALERTS,
            Alert(
                kind="halt" if halted else "component_stopped",
                level=AlertLevel.CRITICAL if halted else AlertLevel.WARNING,
                component=component,
                message=f"{component} raised {record.error_type} on {fault.topic}: "
                f"{record.error} -> {action}",
                ts=now,
            ),
        )
