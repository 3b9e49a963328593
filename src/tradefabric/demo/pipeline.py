"""The Phase 1 demo pipeline, offline: every layer on the real Binance traffic bundled with
the package.

A local fake venue replays the bundled BTC/USDT spot recording over real sockets
at full speed; a live feed rebuilds books, trades and candles from it; the
analytics pipeline turns 1s candles into signals, which the strategy router
sends to its HFT or swing book (next to an EMA-cross strategy on the same
candles); the risk engine checks every order; the simulated venue fills them
(paper trading, exactly as a backtest would); a daily report is written at the
end. ``run_phase1_demo`` returns the counts of each stage and where the report is.

Not wired here: cross-venue integrity (triangulation needs several venues; the
bundled data is one venue), so ``integrity`` in the summary says so.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import msgspec

from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.config import AnalyticsConfig, PluginSpec
from tradefabric.analytics.signals.base import Signal
from tradefabric.data import topics
from tradefabric.demo.fake_venue import paper_on_fake_venue
from tradefabric.execution.sim.venue import SimVenueConfig
from tradefabric.model.data import Trade
from tradefabric.node.kernel import (
    ExecutionConfig,
    FeedConfig,
    MarketDataSettings,
    TradingConfig,
)
from tradefabric.node.trading_node import TradingNode
from tradefabric.risk.config import RiskConfig
from tradefabric.strategies.ema_cross import EmaCrossConfig
from tradefabric.strategies.router import RouterConfig

DEMO_RECORDING = "spot_btcusdt_20240808.gz"


class Phase1Summary(msgspec.Struct, frozen=True, kw_only=True):
    """What each stage of the demo did, and where its report is."""

    recording: str
    trades: int
    candles: int
    signals: int
    """Signals the analytics pipeline published."""
    signals_taken: int
    signals_skipped: int
    orders: int
    fills: int
    risk_rejections: int
    data_anomalies: int
    final_equity: float
    total_return: float
    integrity: str
    run_dir: str
    report_html: str
    report_json: str
    seconds: float


def demo_config() -> TradingConfig:
    """Return the demo's trading config: EMA cross and the router on BTC/USDT 1s candles."""
    return TradingConfig(
        seed=7,
        execution={"binance": ExecutionConfig(sim=SimVenueConfig(slippage_bps=1.0))},
        risk=RiskConfig(max_order_notional=20_000.0, max_position_notional=50_000.0),
        strategies=(
            EmaCrossConfig(id="ema_btc_1s", interval="1s", fast=3, slow=12, notional=1_000.0),
            RouterConfig(id="router", hft_min_per_minute=5.0),
        ),
        equity_interval="1m",
        feeds={"binance": FeedConfig(symbols=("BTC/USDT",))},
        market_data=MarketDataSettings(candle_intervals=("1s", "1m")),
        analytics=demo_analytics(),
    )


def demo_analytics() -> AnalyticsConfig:
    """Return the demo's analytics: an EMA/volume crossover on 1s candles (6 minutes of data)."""
    return AnalyticsConfig(
        base_interval="1s",
        resample=(),
        signals=(
            PluginSpec(
                class_path="tradefabric.analytics.signals.ema_volume.EmaVolumeCrossover",
                name="ema_volume_1s",
                interval="1s",
                params={
                    "fast": 5,
                    "slow": 13,
                    "volume_window": 20,
                    "volume_factor": 0.8,
                    "horizon": "1m",
                },
            ),
        ),
    )


class _Published:
    """Trades and signals the node published (the demo's summary counts them)."""

    def __init__(self) -> None:
        self.signals = 0
        self.trades = 0

    def attach(self, node: TradingNode) -> None:
        node.bus.subscribe(topics.TRADES, self._on_trade)
        node.bus.subscribe(analytics_topics.SIGNALS, self._on_signal)

    def _on_trade(self, _trade: Trade) -> None:
        self.trades += 1

    def _on_signal(self, _signal: Signal) -> None:
        self.signals += 1


def run_phase1_demo(progress: bool, out_dir: Path | None = None) -> Phase1Summary:
    """Run the whole pipeline on the bundled recording; write the run folder and its report.

    ``out_dir`` keeps the run folder (default: a new temporary folder, left in place so
    the report can be opened). ``progress`` prints one line per stage on stderr.
    """
    run_dir = out_dir or Path(tempfile.mkdtemp(prefix="tradefabric-phase1-")) / "run"
    analytics = _Published()
    started = time.perf_counter()
    with resources.as_file(resources.files("tradefabric.demo_data") / DEMO_RECORDING) as path:
        if progress:
            _say(f"fake venue replaying {DEMO_RECORDING} at full speed; paper trading on it")
        result = asyncio.run(
            paper_on_fake_venue(demo_config(), path, run_dir, on_node=analytics.attach)
        )
    counts = _counts(run_dir)
    # Paper time is today's; the recording's day is the one with the fills.
    recorded = [r for r in result.reports if r.day == "2024-08-08"]
    report = recorded[0] if recorded else (result.reports[-1] if result.reports else None)
    summary = Phase1Summary(
        recording=DEMO_RECORDING,
        trades=analytics.trades,
        candles=result.info.candles,
        signals=analytics.signals,
        signals_taken=counts.taken,
        signals_skipped=counts.skipped,
        orders=result.orders,
        fills=result.fills,
        risk_rejections=counts.rejections,
        data_anomalies=counts.anomalies,
        final_equity=result.metrics.final_equity,
        total_return=result.metrics.total_return,
        integrity="not run: cross-venue checks need more than the one bundled venue",
        run_dir=str(run_dir),
        report_html=str(report.html) if report else "",
        report_json=str(report.json) if report else "",
        seconds=time.perf_counter() - started,
    )
    if progress:
        _say(
            f"{summary.candles} candles, {summary.signals} signals ({summary.signals_taken} "
            f"taken, {summary.signals_skipped} skipped), {summary.orders} orders, "
            f"{summary.fills} fills, report {summary.report_html}"
        )
    return summary


class _Counts(msgspec.Struct, frozen=True):
    taken: int
    skipped: int
    rejections: int
    anomalies: int


def _counts(run_dir: Path) -> _Counts:
    def lines(name: str) -> list[bytes]:
        path = run_dir / name
        return path.read_bytes().splitlines() if path.exists() else []

    routed = [msgspec.json.decode(x) for x in lines("signals.jsonl")]
    return _Counts(
        taken=sum(1 for r in routed if r["taken"]),
        skipped=sum(1 for r in routed if not r["taken"]),
        rejections=len(lines("risk_rejections.jsonl")),
        anomalies=len(lines("anomalies.jsonl")),
    )


def _say(text: str) -> None:
    sys.stderr.write(f"[phase1] {text}\n")
