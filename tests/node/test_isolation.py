"""Fault isolation in the TradingNode: a raising strategy, plugin or handler is stopped at
its boundary; the feeds and the other strategies keep running; a full disk under the
audit log halts trading and is never taken for a lost connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import msgspec
import pytest

from tradefabric.analytics.config import AnalyticsConfig, PluginSpec
from tradefabric.analytics.signals.base import Signal, SignalPlugin, SignalStream
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.model.data import Candle
from tradefabric.model.orders import OrderRequest, OrderSide, OrderType
from tradefabric.node.kernel import DataConfig, TradingConfig
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.alerts import AlertLevel
from tradefabric.risk.audit import AuditLog
from tradefabric.strategies.base import Strategy
from tradefabric.strategies.ema_cross import EmaCrossConfig

RECORDING = "spot_btcusdt_20240808.gz"


def _buy(strategy: Strategy, **fields: Any) -> None:
    request = OrderRequest(strategy_id=strategy.strategy_id, venue="binance", symbol="BTC/USDT",
                           side=OrderSide.BUY, quantity=0.01, **fields)  # fmt: skip
    strategy.ctx.submit(request)


class RestThenRaise(Strategy):
    """Rests one far-away limit buy on its 5th 1s candle, raises on its 20th."""

    wants_candles: ClassVar[bool] = True

    def __init__(self, strategy_id: str) -> None:
        super().__init__(strategy_id)
        self.seen = 0

    def on_candle(self, candle: Candle) -> None:
        if candle.interval != "1s":
            return
        self.seen += 1
        if self.seen == 5:
            _buy(self, order_type=OrderType.LIMIT, price=round(candle.close * 0.5, 2))
        if self.seen == 20:
            raise ZeroDivisionError("strategy bug")


class BuyOnFirstCandle(Strategy):
    """Sends one market buy on its first 1s candle (to hit the audit log)."""

    def on_candle(self, candle: Candle) -> None:
        if candle.interval == "1s" and not self.ctx.position("binance", "BTC/USDT"):
            _buy(self)


class _RaisingStream(SignalStream):
    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        raise RuntimeError("plugin bug")


class BrokenSignal(SignalPlugin):
    """An analytics signal plugin whose stream raises on its first candle."""

    class Params(msgspec.Struct, frozen=True):
        pass

    def stream(self) -> SignalStream:
        return _RaisingStream()


def _config(shared_data: Path, **changes: object) -> TradingConfig:
    config = TradingConfig(
        seed=7,
        data=DataConfig(
            recording=shared_data / "binance_ws" / RECORDING, recording_intervals=("1s", "1m")
        ),
        strategies=(EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12, notional=1_000.0),),
        equity_interval="1m",
    )
    return msgspec.structs.replace(config, **changes)


def test_a_raising_strategy_is_stopped_and_the_others_keep_trading(
    shared_data: Path, tmp_path: Path
) -> None:
    clean = TradingNode(_config(shared_data), RunMode.BACKTEST, SimClock(), None)
    clean.replay_recording(shared_data / "binance_ws" / RECORDING)
    baseline = clean.finish("", 0.0)

    node = TradingNode(_config(shared_data), RunMode.BACKTEST, SimClock(), tmp_path)
    broken = RestThenRaise("broken")
    node.kernel.add_strategy(broken)
    node.replay_recording(shared_data / "binance_ws" / RECORDING)
    result = node.finish("", 0.0)

    assert broken.seen == 20  # no candle reached it after the fault
    assert [(f.component, f.error_type, f.action) for f in result.faults] == [
        ("strategy:broken", "ZeroDivisionError", "strategy stopped, its orders cancelled")
    ]
    assert [(a.kind, a.level, a.component) for a in node.alerts] == [
        ("component_stopped", AlertLevel.WARNING, "strategy:broken")
    ]
    orders = [o for o in node.kernel.execution.orders() if o.strategy_id == "broken"]
    assert [o.status for o in orders] == ["cancelled"]
    assert not node.kernel.risk.halted
    # The other strategy traded exactly as it does alone (its fills are all there).
    assert result.fills == baseline.fills > 10  # the broken strategy's order never filled
    assert result.info.candles == baseline.info.candles
    audit = (tmp_path / "audit.jsonl").read_text()
    assert '"kind":"strategy_stopped"' in audit and "ZeroDivisionError" in audit


def test_a_raising_analytics_plugin_stops_analytics_only(shared_data: Path) -> None:
    analytics = AnalyticsConfig(
        base_interval="1s",
        resample=(),
        signals=(
            PluginSpec(
                class_path="tests.node.test_isolation.BrokenSignal", name="broken", interval="1s"
            ),
        ),
    )
    node = TradingNode(
        _config(shared_data, analytics=analytics), RunMode.BACKTEST, SimClock(), None
    )
    node.replay_recording(shared_data / "binance_ws" / RECORDING)
    result = node.finish("", 0.0)
    assert [(f.component, f.action) for f in result.faults] == [("analytics", "component stopped")]
    assert "analytics" in node.isolation.stopped
    assert result.fills > 10 and result.info.candles == 352  # trading and data went on


def test_a_full_disk_under_the_audit_log_halts_trading_without_sending(
    shared_data: Path,
) -> None:
    audit = AuditLog(Path("/dev/full"))  # every flush fails with ENOSPC
    node = TradingNode(
        _config(shared_data, strategies=()), RunMode.BACKTEST, SimClock(), None, audit=audit
    )
    node.kernel.add_strategy(BuyOnFirstCandle("buyer"))
    node.replay_recording(shared_data / "binance_ws" / RECORDING)
    result = node.finish("", 0.0)
    assert result.halted.startswith("audit log unwritable")
    assert "No space left on device" in result.halted
    assert result.fills == 0 and result.orders == 0  # audited before it acts: nothing sent
    assert [a.kind for a in node.alerts] == ["halt"]
    assert node.alerts[0].level is AlertLevel.CRITICAL
    assert result.info.candles == 352  # the data kept flowing: not a reconnect


@pytest.mark.parametrize("owner", [None, "core"])
def test_a_fault_in_the_core_halts_trading(shared_data: Path, owner: str | None) -> None:
    node = TradingNode(_config(shared_data), RunMode.BACKTEST, SimClock(), None)

    def broken_core(_candle: Candle) -> None:
        raise KeyError("inconsistent state")

    node.bus.subscribe(topics.CANDLES, broken_core, owner=owner)
    node.replay_recording(shared_data / "binance_ws" / RECORDING)
    result = node.finish("", 0.0)
    assert result.halted.startswith("core component raised KeyError")
    assert result.faults[0].component == "core"
