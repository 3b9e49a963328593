"""Node events a person hears about on Telegram, as ``Notice``s with a kind and a level.

The node's handlers only append the raw event (frozen, safe to hand to another
thread) to a bounded ``Inbox``; the bot's thread turns it into text. Which event
becomes which kind is one table (``FORMATTERS``), not a chain of branches.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.data import topics as data_topics
from tradefabric.execution import topics as exec_topics
from tradefabric.integrity import topics as integrity_topics
from tradefabric.integrity.events import Anomaly, ArbitrageEpisode, StablecoinEvent
from tradefabric.model.data import OrderBookStatus, TradeGap
from tradefabric.model.orders import Fill, OrderEvent, OrderStatus
from tradefabric.ops.alerts import ALERTS, Alert, AlertLevel
from tradefabric.risk.engine import RISK_EVENTS, RiskStateEvent

OWNER = "telegram"
ALWAYS = frozenset({"halt", "halt_reset", "control_halt", "control_reset", "control_flat_all"})
"""Kinds that go out during quiet hours and are never throttled away."""
SAID_BY_RISK = frozenset({"halt", "control_halt", "control_reset"})
"""Alerts not sent: the risk engine's ``RISK_EVENTS`` reports every halt and reset once
(with its operator and reason), whoever asked for it."""


class Notice(msgspec.Struct, frozen=True, kw_only=True):
    """One message for the allow-listed chats."""

    kind: str
    level: AlertLevel
    text: str

    @property
    def always(self) -> bool:
        """Return True when quiet hours and throttling must let it through."""
        return self.kind in ALWAYS or self.level is AlertLevel.CRITICAL


def _alert(event: Alert) -> Notice:
    return Notice(kind=event.kind, level=event.level, text=f"{event.message} [{event.component}]")


def _fill(event: Fill) -> Notice:
    text = (
        f"fill {event.strategy_id}: {event.side} {event.quantity:g} {event.symbol} "
        f"@ {event.price:g} on {event.venue} (fee {event.fee:.4g} {event.fee_currency})"
    )
    return Notice(kind="fill", level=AlertLevel.INFO, text=text)


def _rejected(event: OrderEvent) -> Notice:
    text = f"order rejected {event.strategy_id} {event.symbol} on {event.venue}: {event.reason}"
    return Notice(kind="order_rejected", level=AlertLevel.WARNING, text=text)


def _risk(event: RiskStateEvent) -> Notice:
    if event.halted:
        text = f"HALT by {event.operator or 'risk'}: {event.reason} (equity {event.equity:,.2f})"
        return Notice(kind="halt", level=AlertLevel.CRITICAL, text=text)
    text = f"halt reset by {event.operator}: {event.reason}"
    return Notice(kind="halt_reset", level=AlertLevel.WARNING, text=text)


def _anomaly(event: Anomaly) -> Notice:
    text = f"anomaly {event.kind} {event.venue} {event.symbol}: {event.detail}"
    return Notice(kind="anomaly", level=AlertLevel.WARNING, text=text)


def _depeg(event: StablecoinEvent) -> Notice:
    text = f"de-peg {event.coin} {event.phase}: peak {event.peak_bps:.1f} bps"
    return Notice(kind="depeg", level=AlertLevel.CRITICAL, text=text)


def _arbitrage(event: ArbitrageEpisode) -> Notice:
    text = (
        f"arbitrage {event.asset} {event.phase}: buy {event.buy_venue} sell "
        f"{event.sell_venue}, net {event.net_bps_peak:.1f} bps peak"
    )
    return Notice(kind="arbitrage", level=AlertLevel.INFO, text=text)


def _book(event: OrderBookStatus) -> Notice:
    if event.valid:
        text = f"{event.venue} {event.symbol} book synced again"
        return Notice(kind="book_valid", level=AlertLevel.INFO, text=text)
    text = f"{event.venue} {event.symbol} book invalid: {event.reason}"
    return Notice(kind="book_invalid", level=AlertLevel.WARNING, text=text)


def _gap(event: TradeGap) -> Notice:
    text = (
        f"{event.venue} {event.symbol}: trades {event.first_missing}..{event.last_missing} "
        "missing (backfill asked)"
    )
    return Notice(kind="trade_gap", level=AlertLevel.WARNING, text=text)


FORMATTERS: dict[type[Any], Callable[[Any], Notice]] = {
    Alert: _alert,
    Fill: _fill,
    OrderEvent: _rejected,
    RiskStateEvent: _risk,
    Anomaly: _anomaly,
    StablecoinEvent: _depeg,
    ArbitrageEpisode: _arbitrage,
    OrderBookStatus: _book,
    TradeGap: _gap,
}


def notice_of(event: object) -> Notice:
    """Return the notice of one node event (a type of ``FORMATTERS``)."""
    return FORMATTERS[type(event)](event)


class Inbox:
    """Events waiting for the bot's thread: bounded, never blocks the node.

    ``put`` runs on the node's loop; past ``capacity`` an event is dropped and
    counted (``dropped``), so a Telegram outage costs memory up to a bound only.
    """

    def __init__(self, capacity: int, wake: Callable[[], None] = lambda: None) -> None:
        """Hold up to ``capacity`` events; call ``wake`` (thread-safe) after each put."""
        self._events: deque[object] = deque()
        self._capacity = capacity
        self._lock = threading.Lock()
        self.wake = wake
        self.dropped = 0
        self.received = 0

    def put(self, event: object) -> None:
        """Queue ``event`` (or count it dropped when full) and wake the sender."""
        with self._lock:
            self.received += 1
            if len(self._events) >= self._capacity:
                self.dropped += 1
                return
            self._events.append(event)
        self.wake()

    def take(self) -> list[object]:
        """Return and forget every queued event, oldest first."""
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    def __len__(self) -> int:
        with self._lock:
            return len(self._events)


class BookWatch:
    """Pass on a book going invalid (a disconnect, a gap: feed down, resync storms) and
    its coming back; not the first sync of each book at start."""

    def __init__(self, inbox: Inbox) -> None:
        """Put what matters into ``inbox``."""
        self._inbox = inbox
        self._invalid: set[tuple[str, str]] = set()

    def on_status(self, status: OrderBookStatus) -> None:
        """Handle one book status (on the node's loop)."""
        key = (status.venue, status.symbol)
        if status.valid:
            if key in self._invalid:
                self._invalid.discard(key)
                self._inbox.put(status)
        elif status.ts_event > 0:  # a book made before any data is a start, not a problem
            self._invalid.add(key)
            self._inbox.put(status)


def subscribe(bus: MessageBus, inbox: Inbox) -> None:
    """Put every alert, fill, rejected order, halt/reset, book loss and recovery, trade gap
    and integrity event of ``bus`` into ``inbox``; call on the bus's loop."""

    def on_alert(alert: Alert) -> None:
        if alert.kind not in SAID_BY_RISK:
            inbox.put(alert)

    def on_order(event: OrderEvent) -> None:
        if event.status is OrderStatus.REJECTED:
            inbox.put(event)

    bus.subscribe(ALERTS, on_alert, owner=OWNER)
    bus.subscribe(data_topics.BOOK_STATUS, BookWatch(inbox).on_status, owner=OWNER)
    bus.subscribe(data_topics.TRADE_GAPS, inbox.put, owner=OWNER)
    bus.subscribe(exec_topics.FILLS, inbox.put, owner=OWNER)
    bus.subscribe(exec_topics.ORDER_EVENTS, on_order, owner=OWNER)
    bus.subscribe(RISK_EVENTS, inbox.put, owner=OWNER)
    bus.subscribe(integrity_topics.ANOMALIES, inbox.put, owner=OWNER)
    bus.subscribe(integrity_topics.STABLECOINS, inbox.put, owner=OWNER)
    bus.subscribe(integrity_topics.ARBITRAGE, inbox.put, owner=OWNER)
