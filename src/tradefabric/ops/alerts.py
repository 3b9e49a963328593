"""Alerts: what a person must hear about, published on one bus topic.

Components publish an ``Alert`` (a component stopped after a fault, a halt, data
lost at a full queue...); operations (Telegram, dashboard, the run record)
subscribe. An alert is a fact with a kind, never an instruction.
"""

from __future__ import annotations

import enum

import msgspec

from tradefabric.core.bus import Topic


class AlertLevel(enum.StrEnum):
    """How urgently a person should look."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One alert: its kind (``component_stopped``, ``halt``, ``data_dropped``...), the
    component it concerns, a readable message and the node's time."""

    kind: str
    level: AlertLevel
    component: str
    message: str
    ts: int


ALERTS: Topic[Alert] = Topic("ops.alerts", Alert)
