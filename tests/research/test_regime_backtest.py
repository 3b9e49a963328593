"""Auto-backtest on regime change on the real month: the pipeline's regime changes, each
strategy backtested alone on the window up to the change, and the verdict per strategy."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import yaml

from tests.conftest import report_figure
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.frame import FrameQuery, frame_from_catalog
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.core.time import parse_utc
from tradefabric.node.kernel import load_config
from tradefabric.research.objective import Constraints
from tradefabric.research.regime_backtest import run_regime_backtest
from tradefabric.research.trial import run_trial
from tradefabric.store.catalog import Catalog

STRATEGIES = [
    {"kind": "ema_cross", "id": "ema_fast", "symbol": "BTC/USDT", "fast": 12, "slow": 26},
    {"kind": "ema_cross", "id": "ema_slow", "symbol": "BTC/USDT", "fast": 50, "slow": 200},
]


def _write(tmp_path: Path, catalog: Path) -> Path:
    (tmp_path / "trading.yaml").write_text(yaml.safe_dump({"seed": 1, "strategies": STRATEGIES}))
    path = tmp_path / "regime.yaml"
    path.write_text(yaml.safe_dump({
        "base": "trading.yaml", "catalog": str(catalog), "catalog_version": 1,
        "symbol": "BTC/USDT", "start": "2024-08-18", "end": "2024-08-21", "recent": "2d",
        "hold": {"max_drawdown": 0.001, "min_trades": 10}, "out": "out",
    }))  # fmt: skip
    return path


@pytest.mark.slow
def test_regime_changes_trigger_backtests_of_each_strategy(
    research_catalog: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path, research_catalog)
    report = run_regime_backtest(path)
    # The same detector, fed the same hourly candles, as the analytics pipeline.
    frame = frame_from_catalog(
        Catalog(research_catalog, version=1),
        FrameQuery(venue="binance", symbol="BTC/USDT", end_ns=parse_utc("2024-08-21")),
    )
    pipeline = run_batch(AnalyticsConfig(signals=()), BatchRun(frame=frame))
    expected = [c for c in pipeline.regime_changes if c.ts_event >= parse_utc("2024-08-18")]
    assert report.changes == len(expected) >= 3
    assert [(c.previous, c.regime) for c in report.checks] == [
        (str(c.previous), str(c.regime)) for c in expected
    ]
    hold = Constraints(max_drawdown=0.001, min_trades=10)
    for check in report.checks:
        assert [s.strategy for s in check.strategies] == ["ema_fast", "ema_slow"]
        for s in check.strategies:
            assert s.holds == (not s.violations) and s.closing_trades > 0
    first = report.checks[0]
    config = load_config(tmp_path / "trading.yaml")
    alone = msgspec.structs.replace(config, strategies=config.strategies[1:])
    m = run_trial(alone, research_catalog, 1, *first.window).metrics
    assert first.strategies[1].total_return == m.total_return
    assert first.strategies[1].holds == (not hold.violations(m))
    saved = json.loads((tmp_path / "out" / "regime_backtest.json").read_text())
    assert saved["changes"] == report.changes
    held = sum(s.holds for c in report.checks for s in c.strategies)
    report_figure(
        f"regime backtest BTC 2024-08-18..21: {report.changes} regime changes, "
        f"{held}/{2 * report.changes} strategy checks hold (2d window, max DD 0.1%, 10 trades)"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tradefabric", "research", "regime-backtest", "-c", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert f"{report.changes} regime changes" in proc.stdout and "ema_slow: return" in proc.stdout
