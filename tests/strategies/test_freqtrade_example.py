"""The freqtrade-style example strategy, loaded as a plugin from its file in a backtest of
real candles: it trades, and both its stop-loss and its ROI table make exits."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec

from tests.conftest import REPO_ROOT, report_figure
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import load_config
from tradefabric.strategies.plugin import PluginStrategyConfig

EXAMPLE = REPO_ROOT / "examples" / "backtest_freqtrade_style.yaml"


def test_example_trades_with_stop_loss_and_roi_exits(month_catalog: Path, tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("catalog: cat", f"catalog: {month_catalog}")
    text = text.replace(
        "examples/freqtrade_style.py", str(REPO_ROOT / "examples/freqtrade_style.py")
    )
    path = tmp_path / "ft.yaml"
    path.write_text(text)
    config = load_config(path)
    (spec,) = config.strategies
    assert isinstance(spec, PluginStrategyConfig) and spec.id == "ft"
    result = BacktestRunner(config, "2024-08-01", "2024-08-15").run(tmp_path / "run")
    orders = [
        msgspec.json.decode(line)
        for line in (tmp_path / "run" / "orders.jsonl").read_bytes().splitlines()
    ]
    filled = Counter(o["tag"] for o in orders if o["status"] == "filled")
    assert filled["entry"] > 0
    assert filled["stop_loss"] > 0 and filled["roi"] > 0
    exits = filled["stop_loss"] + filled["roi"] + filled["exit_signal"]
    assert filled["entry"] - exits in (0, 1)  # every entry is exited, but maybe the last
    # A stop is cancelled whenever another exit went first, never left resting flat.
    cancelled_stops = sum(
        1 for o in orders if o["tag"] == "stop_loss" and o["status"] == "cancelled"
    )
    assert cancelled_stops == filled["roi"] + filled["exit_signal"]
    report_figure(
        f"freqtrade-style example (plugin from file), 2 real weeks BTC/USDT 1m: "
        f"{filled['entry']} entries, exits roi {filled['roi']}, stop-loss {filled['stop_loss']}, "
        f"signal {filled['exit_signal']}; return {result.metrics.total_return:+.3%}"
    )
