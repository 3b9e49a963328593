"""Reloading a running node's config file: risk limits, the schedule and the alert throttles
change at once, audited before they apply; a file that changes venues, symbols or anything
else wired at start is refused naming each key, and nothing of it is applied."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.conftest import REPO_ROOT
from tradefabric.core.clock import LiveClock, SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import load_config
from tradefabric.node.reload import ReloadPlan, plan_reload
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.risk.audit import read_audit

EXAMPLE = (REPO_ROOT / "examples" / "paper_ema_cross.yaml").read_text()
TELEGRAM = "telegram: {token_env: TF_BOT, chats: [1], throttle: {max_per_window: 5}}\n"
CONTROL = "control: {port: 0, token: test-control-token}\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _kinds(run_dir: Path) -> list[str]:
    return [r.kind for r in read_audit(run_dir / "audit.jsonl") if r.kind.startswith("config")]


async def test_reload_applies_risk_and_schedule_and_refuses_what_is_wired(
    tmp_path: Path,
) -> None:
    file = _write(tmp_path / "node.yaml", EXAMPLE)
    run_dir = tmp_path / "run"
    node = TradingNode(load_config(file), RunMode.PAPER, LiveClock(), run_dir)
    node.enable_reload(file, load_config(file))
    try:
        assert node.reload_config() == f"{file}: nothing changed"
        _write(file, EXAMPLE.replace("max_order_notional: 20000", "max_order_notional: 500")
               + "schedule:\n  - {job: daily_report, cron: '5 0 * * *'}\n")  # fmt: skip
        message = node.reload_config()
        assert "risk.max_order_notional: 20000.0 -> 500.0" in message
        assert "schedule: added daily_report (5 0 * * *)" in message
        assert node.kernel.risk.config.max_order_notional == 500.0
        assert node.config.risk.max_order_notional == 500.0
        assert node.scheduler is not None
        assert [s.name for s in node.scheduler.stats()] == ["daily_report"]

        wired = file.read_text().replace("symbols: [BTC/USDT]\n    ws_url",
                                         "symbols: [BTC/USDT, ETH/USDT]\n    ws_url")  # fmt: skip
        wired = wired.replace("max_order_notional: 500", "max_order_notional: 900")
        _write(file, wired.replace("  daily_drawdown_pct: 5\n",
                                   "  daily_drawdown_pct: 5\n  audit_fsync: true\n"))  # fmt: skip
        with pytest.raises(ConfigError) as info:
            node.reload_config()
        text = str(info.value)
        assert "refused, nothing applied" in text
        assert "feeds: the venues and symbols the feeds subscribe to, set at start" in text
        assert "risk.audit_fsync: the audit log and venue breakers are built at start" in text
        assert node.kernel.risk.config.max_order_notional == 500.0  # nothing of it applied

        _write(file, "risk: {max_order_notional: 5\n")
        with pytest.raises(ConfigError, match="not valid YAML"):
            node.reload_config()
        assert node.kernel.risk.config.max_order_notional == 500.0
    finally:
        node.clock.cancel_timers()  # type: ignore[attr-defined]
        if node.scheduler is not None:
            await node.scheduler.stop()
        node.finish("test", 0.0)
    assert _kinds(run_dir) == ["config_reload", "config_reload_refused"]
    applied, refused = [
        msgspec.json.decode(r.data, type=ReloadPlan)
        for r in read_audit(run_dir / "audit.jsonl") if r.kind.startswith("config")
    ]  # fmt: skip
    assert applied.changes == [
        "risk.max_order_notional: 20000.0 -> 500.0",
        "schedule: 0 -> 1 entries",
    ]
    assert applied.file == str(file) and applied.refused == []
    assert [r.split(":")[0] for r in refused.refused] == ["risk.audit_fsync", "feeds"]


def test_a_node_started_without_a_file_has_nothing_to_reload() -> None:
    config = load_config(REPO_ROOT / "examples" / "paper_ema_cross.yaml")
    node = TradingNode(config, RunMode.BACKTEST, SimClock(), None)
    with pytest.raises(ConfigError, match="not started from a config file"):
        node.reload_config()


def test_alert_throttles_reload_but_the_bots_chats_do_not(tmp_path: Path) -> None:
    base = load_config(_write(tmp_path / "a.yaml", EXAMPLE + CONTROL + TELEGRAM))
    throttled = TELEGRAM.replace("max_per_window: 5}", "max_per_window: 2}, alert_kinds: [halt]")
    new = load_config(_write(tmp_path / "b.yaml", EXAMPLE + CONTROL + throttled))
    plan = plan_reload(tmp_path / "b.yaml", base, new, 0)
    assert plan.changes == ["telegram.throttle", "telegram.alert_kinds"] and plan.refused == []
    chats = load_config(_write(tmp_path / "c.yaml", EXAMPLE + CONTROL
                               + TELEGRAM.replace("chats: [1]", "chats: [1, 2]")))  # fmt: skip
    assert plan_reload(tmp_path / "c.yaml", base, chats, 0).refused == [
        "telegram.chats: the bot's connection and chats are set at start"
    ]
    off = load_config(_write(tmp_path / "d.yaml", EXAMPLE + CONTROL))
    assert plan_reload(tmp_path / "d.yaml", base, off, 0).refused == [
        "telegram: turning the bot on or off needs a restart"
    ]
