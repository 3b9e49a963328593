"""A restarted node hands each strategy what it saved and what the portfolio holds: an EMA
cross that was long when the node stopped is long again (it does not buy a second time),
and a plugin strategy gets back the bytes it saved."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from tradefabric.core.clock import SimClock
from tradefabric.model.data import Candle
from tradefabric.model.identifiers import InstrumentId
from tradefabric.node.kernel import DataConfig, TradingConfig
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.state.config import StateConfig, open_store
from tradefabric.strategies.base import PluginStrategy
from tradefabric.strategies.ema_cross import EmaCross, EmaCrossConfig
from tradefabric.strategies.plugin import PluginStrategyConfig

RECORDING = "spot_btcusdt_20240808.gz"


class CountingStrategy(PluginStrategy):
    """Counts its 1s candles across restarts through save_state / on_restore."""

    wants_candles: ClassVar[bool] = True
    restored: ClassVar[list[bytes | None]] = []

    def on_restore(self, saved: bytes | None) -> None:
        CountingStrategy.restored.append(saved)
        self.candles = int(saved) if saved else 0

    def on_candle(self, candle: Candle) -> None:
        if self.is_mine(candle):
            self.candles = getattr(self, "candles", 0) + 1
            self.ctx.save_state(str(self.candles).encode())


def _config(shared_data: Path, db: Path) -> TradingConfig:
    return TradingConfig(
        seed=7,
        data=DataConfig(
            recording=shared_data / "binance_ws" / RECORDING, recording_intervals=("1s", "1m")
        ),
        strategies=(
            EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12),
            PluginStrategyConfig(
                class_path="tests.state.test_strategy_restore.CountingStrategy",
                id="counter",
                interval="1s",
            ),
        ),
        state=StateConfig(path=db),
        equity_interval="1m",
    )


def test_a_restarted_strategy_gets_its_saved_state_and_the_portfolios_position(
    shared_data: Path, tmp_path: Path
) -> None:
    db = tmp_path / "state.db"
    CountingStrategy.restored.clear()
    first = TradingNode(_config(shared_data, db), RunMode.BACKTEST, SimClock(), None)
    first.replay_recording(shared_data / "binance_ws" / RECORDING)
    held = first.kernel.portfolio.quantity(InstrumentId("binance", "BTC/USDT"))
    ema = first.kernel.strategies[0]
    assert isinstance(ema, EmaCross)
    first.finish("", 0.0)
    store = open_store(StateConfig(path=db))
    saved = store.strategy_state("counter")
    store.close()
    assert saved is not None and int(saved.data) > 300  # one per 1s candle

    second = TradingNode(_config(shared_data, db), RunMode.BACKTEST, SimClock(), None)
    restored = second.kernel.strategies[0]
    assert isinstance(restored, EmaCross)
    assert second.kernel.portfolio.quantity(InstrumentId("binance", "BTC/USDT")) == held
    assert held > 0  # the run ends long: the restart must not forget it
    assert restored.held == ema.held == held
    assert CountingStrategy.restored == [None, saved.data]
    second.finish("", 0.0)
