"""The three alphas: batch == streaming through the bus on the real month, and no look-ahead."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.conftest import read_month
from tests.analytics.liquidation_stream import build_stream
from tests.conftest import report_figure
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.pipeline import (
    AnalyticsPipeline,
    BatchRun,
    PipelineResult,
    replay_candles,
    run_batch,
)
from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock

LIQ = "liquidation_hunt_1h"


def _stream(config: AnalyticsConfig, run: BatchRun) -> PipelineResult:
    bus = MessageBus()
    clock = SimClock()
    pipeline = AnalyticsPipeline(bus, clock, config)
    return replay_candles(pipeline, bus, run, clock.advance_to)


def _assert_same_signal(a: Signal, b: Signal) -> None:
    assert (a.source, a.asset, a.interval, a.direction, a.horizon, a.data_ts, a.ts) == (
        b.source, b.asset, b.interval, b.direction, b.horizon, b.data_ts, b.ts,
    )  # fmt: skip
    assert [(e.name, e.ts_event) for e in a.evidence] == [(e.name, e.ts_event) for e in b.evidence]
    floats_a = [
        a.strength,
        a.confidence,
        a.price,
        *(x for e in a.evidence for x in (e.value, e.threshold)),
    ]
    floats_b = [
        b.strength,
        b.confidence,
        b.price,
        *(x for e in b.evidence for x in (e.value, e.threshold)),
    ]
    assert floats_a == pytest.approx(floats_b, rel=1e-9, nan_ok=True)
    assert [(f.name, f.available) for f in a.factors] == [(f.name, f.available) for f in b.factors]
    assert [f.value for f in a.factors] == pytest.approx([f.value for f in b.factors], rel=1e-9)


def _assert_same(batch: PipelineResult, streamed: PipelineResult) -> None:
    assert len(batch.signals) == len(streamed.signals)
    for a, b in zip(batch.signals, streamed.signals, strict=True):
        _assert_same_signal(a, b)
    assert [(d.ts, d.direction, d.regime) for d in batch.decisions] == [
        (d.ts, d.direction, d.regime) for d in streamed.decisions
    ]
    assert batch.regime_changes == streamed.regime_changes


@pytest.mark.slow
def test_batch_equals_streaming_through_the_bus(month: CandleFrame) -> None:
    config = AnalyticsConfig()
    run = BatchRun(frame=month)
    batch = run_batch(config, run)
    streamed = _stream(config, run)
    _assert_same(batch, streamed)
    counts = Counter(s.source for s in batch.signals)
    assert counts["ema_volume_1m"] > 50 and counts["rsi_vwap_5m"] > 10
    report_figure(
        f"analytics signals {month.symbol} month: batch == streaming through the bus, "
        f"{dict(counts)}, {len(batch.decisions)} decisions, "
        f"{len(batch.regime_changes)} regime changes"
    )


@pytest.fixture(scope="module")
def liquidation_run(shared_data: Path) -> BatchRun:
    frame = read_month(shared_data, "BTC/USDT")
    liquidations, open_interest = build_stream(shared_data, frame)
    return BatchRun(
        frame=frame, liquidations=tuple(liquidations), open_interest=tuple(open_interest)
    )


@pytest.mark.slow
def test_liquidation_hunt_on_a_stream_in_real_formats(liquidation_run: BatchRun) -> None:
    """Constructed stream (no real liquidation history here), real wire formats and parsers."""
    run = liquidation_run
    venues = Counter(e.venue for e in run.liquidations)
    assert set(venues) == {"binance-usdm", "bybit-linear"}
    assert {e.venue for e in run.open_interest} == {"binance-usdm", "bybit-linear"}
    assert {e.symbol for e in run.liquidations} == {"BTC/USDT:USDT"}
    config = AnalyticsConfig()
    batch = run_batch(config, run)
    streamed = _stream(config, run)
    _assert_same(batch, streamed)
    hunts = [s for s in batch.signals if s.source == LIQ]
    assert hunts, "no liquidation cluster found"
    for sig in hunts:
        ev = {e.name: e.value for e in sig.evidence}
        longs_flushed = ev["long_liquidations"] >= ev["short_liquidations"]
        # reversal mode: longs flushed -> long, shorts flushed -> short
        assert sig.direction is (Direction.LONG if longs_flushed else Direction.SHORT)
        assert ev["cluster_score"] >= 3.0
        assert max(ev["long_liquidations"], ev["short_liquidations"]) >= 1_000_000
    whale = [f for s in hunts for f in s.factors if f.name == "whale"]
    assert all(f.available for f in whale)  # open interest feeds the whale factor
    report_figure(
        f"analytics liquidation hunt (constructed stream in real Binance/Bybit formats over the "
        f"real BTC month): {len(run.liquidations)} liquidations {dict(venues)}, "
        f"{len(run.open_interest)} OI readings, {len(hunts)} signals, batch == streaming"
    )


def _check_no_look_ahead(result: PipelineResult) -> None:
    for sig in result.signals:
        assert sig.data_ts < sig.ts
        assert all(e.ts_event <= sig.data_ts for e in sig.evidence)


@pytest.mark.slow
def test_no_signal_uses_data_from_its_future(liquidation_run: BatchRun) -> None:
    """Cut the data at a signal's time: everything up to then must come out the same.

    A rule that peeked at later candles or events (a centred window, an unconfirmed
    fractal, a resampled bucket closed early) would change when its future is removed.
    """
    config = AnalyticsConfig()
    run = liquidation_run
    full = run_batch(config, run)
    _check_no_look_ahead(full)
    picks: list[Signal] = []
    for source in ("ema_volume_1m", "rsi_vwap_5m", LIQ):
        mine = [s for s in full.signals if s.source == source]
        picks += [mine[k] for k in np.linspace(0, len(mine) - 1, 4).astype(int)]
    for sig in picks:
        cut = sig.ts
        truncated = BatchRun(
            frame=run.frame.until(cut),
            liquidations=tuple(e for e in run.liquidations if e.ts_event < cut),
            open_interest=tuple(e for e in run.open_interest if e.ts_event < cut),
        )
        assert int(truncated.frame.ts_event[-1]) < cut
        partial = run_batch(config, truncated)
        expected = [s for s in full.signals if s.ts <= cut]
        assert len(partial.signals) == len(expected)
        for a, b in zip(partial.signals, expected, strict=True):
            _assert_same_signal(a, b)
    report_figure(
        f"analytics no look-ahead: all {len(full.signals)} signals have data_ts < ts; "
        f"re-running on data cut at {len(picks)} signal times reproduces every earlier signal"
    )


def test_signal_timestamps_follow_their_data(btc_month: CandleFrame) -> None:
    result = run_batch(AnalyticsConfig(), BatchRun(frame=btc_month.head(5000)))
    assert result.signals
    _check_no_look_ahead(result)
    assert all(math.isfinite(s.confidence) for s in result.signals)
