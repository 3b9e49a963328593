"""Auto-backtest on regime change through the node's scheduler: the analytics pipeline's
regime detector, fed the real month's hourly BTC candles on the node's bus, changes regime;
the change starts one ``regime_backtest`` run in a worker process whose report names each
strategy of the config with its verdict; the next change, within ``min_interval``, starts
none."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
import yaml

from tests.feed_waits import until
from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.frame import FrameQuery, frame_from_catalog, resample
from tradefabric.analytics.pipeline import AnalyticsPipeline
from tradefabric.analytics.regime import RegimeChange
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock, SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import parse_utc
from tradefabric.data import topics
from tradefabric.model.data import Candle
from tradefabric.node.kernel import load_config
from tradefabric.node.schedule import ScheduledJob, Scheduler
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.alerts import ALERTS, Alert
from tradefabric.store.catalog import Catalog

STRATEGIES = [
    {"kind": "ema_cross", "id": "ema_fast", "symbol": "BTC/USDT", "fast": 12, "slow": 26},
    {"kind": "ema_cross", "id": "ema_slow", "symbol": "BTC/USDT", "fast": 50, "slow": 200},
    # not checked on a BTC/USDT change (the catalog has no ETH/USDT: it would fail)
    {"kind": "ema_cross", "id": "ema_eth", "symbol": "ETH/USDT", "fast": 12, "slow": 26},
]
MAX_DRAWDOWN = 0.0005


def _entry(tmp_path: Path, catalog: Path) -> ScheduledJob:
    base = tmp_path / "trading.yaml"
    base.write_text(yaml.safe_dump({"seed": 1, "strategies": STRATEGIES}))
    return msgspec.convert({
        "job": "regime_backtest", "event": "regime_change", "min_interval": "1d",
        "args": {"base": str(base), "catalog": str(catalog), "catalog_version": 1,
                 "recent": "2d", "hold": {"max_drawdown": MAX_DRAWDOWN, "min_sharpe": None}},
    }, ScheduledJob)  # fmt: skip


def _hours(catalog: Path) -> list[Candle]:
    """Return the real BTC/USDT hourly candles of the month's first days."""
    frame = frame_from_catalog(
        Catalog(catalog, version=1),
        FrameQuery(venue="binance", symbol="BTC/USDT", end_ns=parse_utc("2024-08-01")),
    )
    return list(resample(frame, "1h").candles())


async def test_a_regime_change_starts_one_backtest_job_and_a_flap_starts_none(
    research_catalog: Path, tmp_path: Path
) -> None:
    hours = _hours(research_catalog)
    bus, clock = MessageBus(), SimClock(hours[0].ts_event)
    alerts: list[Alert] = []
    changes: list[RegimeChange] = []
    bus.subscribe(ALERTS, alerts.append)
    bus.subscribe(analytics_topics.REGIME_CHANGES, changes.append)
    AnalyticsPipeline(bus, clock, AnalyticsConfig(base_interval="1h", resample=(), signals=()))
    run_dir = tmp_path / "run"
    scheduler = Scheduler(bus, clock, [_entry(tmp_path, research_catalog)],
                          run_dir / "jobs", run_dir=run_dir)  # fmt: skip
    scheduler.start()
    candles = iter(hours)

    def feed_until_change(count: int) -> None:
        while len(changes) < count:
            candle = next(candles)
            clock.advance_to(candle.ts_event)
            bus.publish(topics.CANDLES, candle)

    feed_until_change(1)  # the node's loop goes on: the job runs in a worker
    assert scheduler.stats()[0].running
    await until(lambda: [a.kind for a in alerts] == ["job_finished"], timeout_s=60)
    first = changes[0]
    assert (first.previous, first.regime) == ("range", "bull")
    stats = scheduler.stats()[0]
    assert (stats.runs, stats.failures, stats.skipped, stats.event) == (1, 0, 0, "regime_change")
    summary = stats.last_summary
    assert summary["change"] == "range->bull" and summary["at"] == "2024-07-29T05:00:00.000Z"
    assert summary["asset"] == "BTC/USDT"
    assert summary["verdicts"] == {"ema_fast": "fails", "ema_slow": "holds"}
    assert "ema_fast" in alerts[0].message and alerts[0].component == "job:regime_backtest"
    report = json.loads(Path(summary["json"]).read_text())
    assert Path(summary["json"]).parent == run_dir / "research"
    assert report["window"] == ["2024-07-27T05:00:00.000Z", "2024-07-29T05:00:00.000Z"]
    for check in report["strategies"]:
        assert check["closing_trades"] > 0
        assert check["holds"] == (check["max_drawdown"] <= MAX_DRAWDOWN)
        assert check["holds"] == (not check["violations"])
        assert summary["verdicts"][check["strategy"]] == ("holds" if check["holds"] else "fails")

    feed_until_change(2)  # bull -> range 13 h later: within min_interval (1d)
    assert (changes[1].previous, changes[1].regime) == ("bull", "range")
    stats = scheduler.stats()[0]
    assert (stats.runs, stats.skipped, stats.running) == (1, 1, False)
    assert [a.kind for a in alerts] == ["job_finished"]
    await scheduler.stop()


def test_an_event_entry_loads_from_yaml_and_refuses_bad_triggers(tmp_path: Path) -> None:
    config = tmp_path / "node.yaml"
    config.write_text(
        "schedule:\n  - {job: regime_backtest, event: regime_change, args: {recent: 1d}}\n"
    )
    (loaded,) = load_config(config).schedule
    assert (loaded.event, loaded.min_interval, loaded.cron) == ("regime_change", "6h", "")
    assert loaded.target == "tradefabric.research.jobs:regime_backtest_job"
    bad = {
        "{job: regime_backtest}": "give either cron: or event:",
        "{job: regime_backtest, event: regime_change, cron: '* * * * *'}": "not both or none",
        "{job: regime_backtest, event: regim_change}": "unknown event 'regim_change'",
        "{job: regime_backtest, event: regime_change, min_interval: soon}": "soon",
        "{job: regime_backtest, event: regime_change, args: {hold: {max_dd: 1}}}": "max_dd",
    }
    for line, message in bad.items():
        config.write_text(f"schedule:\n  - {line}\n")
        with pytest.raises(ConfigError) as info:
            load_config(config)
        assert str(config) in str(info.value) and message in str(info.value), info.value


async def test_a_paper_nodes_regime_change_backtests_its_own_config_file(
    research_catalog: Path, tmp_path: Path
) -> None:
    file = tmp_path / "node.yaml"
    file.write_text(yaml.safe_dump({
        "seed": 1,
        "feeds": {"binance": {"symbols": ["BTC/USDT"], "ws_url": "ws://127.0.0.1:9",
                              "rest_url": "http://127.0.0.1:9"}},
        "execution": {"binance": {"mode": "paper"}},
        "strategies": STRATEGIES,
        "data": {"catalog": str(research_catalog), "catalog_version": 1},
        "analytics": {"base_interval": "1h", "resample": [], "signals": []},
        "schedule": [{"job": "regime_backtest", "event": "regime_change",
                      "args": {"catalog_version": 1, "recent": "2d",
                               "hold": {"max_drawdown": MAX_DRAWDOWN, "min_sharpe": None}}}],
    }))  # fmt: skip
    config = load_config(file)
    node = TradingNode(config, RunMode.PAPER, LiveClock(), tmp_path / "run")
    node.enable_reload(file, config)
    node.update_schedule(config.schedule)  # what run_live starts, without the feeds
    hours = _hours(research_catalog)
    try:
        changes = 0
        for candle in hours:  # the node's analytics pipeline sees them on the node's bus
            node.bus.publish(topics.CANDLES, candle)
            changes = len(node.analytics.core.regime_changes) if node.analytics else 0
            if changes == 2:  # two changes seconds apart on the node's clock: one run
                break
        await until(lambda: any(a.kind == "job_finished" for a in node.alerts), timeout_s=60)
        (stats,) = node.job_stats()
        assert (stats.runs, stats.skipped, stats.failures) == (1, 1, 0)
        assert stats.last_summary["verdicts"] == {"ema_fast": "fails", "ema_slow": "holds"}
        assert Path(stats.last_summary["json"]).parent == tmp_path / "run" / "research"
    finally:
        node.clock.cancel_timers()  # type: ignore[attr-defined]
        if node.scheduler is not None:
            await node.scheduler.stop()
        node.finish("test", 0.0)
