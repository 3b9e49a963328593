"""Reload a running node's config file: apply what may change at runtime, refuse the rest.

What may change while the node trades: the risk limits (``risk:``, but not its audit
settings or the venue breakers, wired at start), the ``schedule:`` of batch jobs, and
the Telegram alert limits (``telegram.throttle``, ``quiet_hours``, ``alert_kinds``).
Anything else (venues, feeds and their symbols, strategies, balances, instruments,
state, servers...) is built into the running components: a file that changes any of
it is refused as a whole, naming each key, and nothing is applied.

The file is compared with what it said when the node started (or last reloaded),
not with the running config, so command-line overrides (``--ws-url``) are not taken
for changes. The plan is audited (``config_reload``, or ``config_reload_refused``)
before anything is applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import TradingConfig, load_config
from tradefabric.ops.telegram.config import TelegramConfig
from tradefabric.risk.config import RiskConfig

if TYPE_CHECKING:
    from tradefabric.node.trading_node import TradingNode

RELOADABLE = ("risk", "schedule", "telegram")
RISK_WIRED = ("audit_fsync", "audit_rotate_daily", "audit_copy_to", "venue_breaker")
"""``risk:`` keys the audit log and the breakers were built with."""
TELEGRAM_RELOADABLE = ("throttle", "quiet_hours", "alert_kinds")
WHY_WIRED = {
    "execution": "the venues and how each is executed",
    "feeds": "the venues and symbols the feeds subscribe to",
    "instruments": "the instruments traded",
    "strategies": "the strategies",
    "balances": "the starting balances",
}


class ReloadPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What a reload would change, and what it refuses (audited before it acts)."""

    file: str
    changes: list[str]
    refused: list[str]
    ts: int


def _value(value: Any) -> str:
    text = msgspec.json.encode(value, enc_hook=str).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _field_changes(old: msgspec.Struct, new: msgspec.Struct, prefix: str) -> list[str]:
    return [
        f"{prefix}.{name}"
        for name in old.__struct_fields__
        if getattr(old, name) != getattr(new, name)
    ]


def _risk(old: RiskConfig, new: RiskConfig) -> tuple[list[str], list[str]]:
    keys = _field_changes(old, new, "risk")
    wired = [k for k in keys if k.removeprefix("risk.") in RISK_WIRED]
    changes = [
        f"{k}: {_value(getattr(old, k[5:]))} -> {_value(getattr(new, k[5:]))}"
        for k in keys
        if k not in wired
    ]
    return changes, [f"{k}: the audit log and venue breakers are built at start" for k in wired]


def _telegram(
    old: TelegramConfig | None, new: TelegramConfig | None
) -> tuple[list[str], list[str]]:
    if old is None or new is None:
        refused = ["telegram: turning the bot on or off needs a restart"] if old != new else []
        return [], refused
    keys = _field_changes(old, new, "telegram")
    fixed = [k for k in keys if k.removeprefix("telegram.") not in TELEGRAM_RELOADABLE]
    refused = [f"{k}: the bot's connection and chats are set at start" for k in fixed]
    return [k for k in keys if k not in fixed], refused


def plan_reload(file: Path, started: TradingConfig, new: TradingConfig, now: int) -> ReloadPlan:
    """Compare the file's new config with what it said before; see the module docstring."""
    changes: list[str] = []
    refused: list[str] = []
    for name in TradingConfig.__struct_fields__:
        before, after = getattr(started, name), getattr(new, name)
        if before == after:
            continue
        if name == "risk":
            more, no = _risk(before, after)
        elif name == "telegram":
            more, no = _telegram(before, after)
        elif name == "schedule":
            more, no = [f"schedule: {len(before)} -> {len(after)} entries"], []
        else:
            why = WHY_WIRED.get(name, "what the running components were built with")
            more, no = [], [f"{name}: {why}, set at start"]
        changes += more
        refused += no
    return ReloadPlan(file=str(file), changes=changes, refused=refused, ts=now)


class ConfigReloader:
    """Reload ``node``'s config file on request (``ControlService.reload_config``)."""

    def __init__(self, node: TradingNode, file: Path, loaded: TradingConfig) -> None:
        """``loaded`` is what ``file`` said when the node was built from it."""
        self._node = node
        self.file = file
        self._loaded = loaded

    def reload(self) -> str:
        """Re-read the file, audit the plan, apply it or refuse it; return what was done."""
        node = self._node
        new = load_config(self.file)  # a file that does not load changes nothing
        now = node.clock.timestamp_ns()
        plan = plan_reload(self.file, self._loaded, new, now)
        audit = node.kernel.audit
        if plan.refused:
            audit.write("config_reload_refused", now, plan)
            raise ConfigError(
                f"reload of {self.file} refused, nothing applied: "
                + "; ".join(plan.refused)
                + " (restart the node to change these)"
            )
        if not plan.changes:
            return f"{self.file}: nothing changed"
        audit.write("config_reload", now, plan)  # audited before it acts
        applied = self._apply(new)
        self._loaded = new
        return f"{self.file} reloaded: " + "; ".join(applied)

    def _apply(self, new: TradingConfig) -> list[str]:
        node = self._node
        old = node.config
        applied: list[str] = []
        if new.risk != old.risk:
            node.kernel.risk.set_limits(new.risk)
            applied += _risk(old.risk, new.risk)[0]
        node.config = msgspec.structs.replace(
            old, risk=new.risk, schedule=new.schedule, telegram=new.telegram
        )
        if new.schedule != old.schedule:
            applied += node.update_schedule(new.schedule)
        if new.telegram != old.telegram and new.telegram is not None:
            limits = new.telegram
            if node.telegram is not None:
                node.telegram.set_alert_limits(
                    limits.throttle, limits.quiet_hours, limits.alert_kinds
                )
            applied += _telegram(old.telegram, new.telegram)[0]
        return applied
