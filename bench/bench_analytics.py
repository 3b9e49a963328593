"""Analytics cost: streaming update per candle and batch throughput, next to TA-Lib's own time.

Run from the repository root:

    .venv/bin/python bench/bench_analytics.py [--repeat 3] [--json]

On the real month of Binance BTC/USDT 1m candles (``../shared/data/candles_1m``,
43,209 candles), printed in the same run:

- streaming: µs per candle to update the full feature set (``default_features()``:
  EMA 9/21, SMA, RSI, MACD, Bollinger, ATR, OBV, stochastic, session and rolling
  VWAP, TWAP, delta pressure, four candle patterns, fractals), candle by candle as
  live; and the same for the TA-Lib-backed indicators alone;
- batch: candles/s of ``FeatureSet.batch`` over the whole month, next to the time
  TA-Lib itself takes for the same TA-Lib indicators (EMA x2, SMA, RSI, MACD,
  BBANDS, ATR, OBV, STOCH; then those plus the 4 CDL patterns of the full set)
  called directly on the same arrays: the floor our batch form can approach (the
  full set adds our own VWAP, TWAP, delta and fractals on top);
- the whole pipeline (three alphas, regime, confidence, ensemble): batch and
  streaming through the bus, candles/s.

Best of ``--repeat`` for each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import talib
from pyarrow import feather

from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.features.base import FeatureSet
from tradefabric.analytics.features.builtin import (
    AtrFeature,
    BollingerFeature,
    EmaFeature,
    MacdFeature,
    ObvFeature,
    RsiFeature,
    SmaFeature,
    StochFeature,
    default_features,
)
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.pipeline import AnalyticsPipeline, BatchRun, replay_candles, run_batch
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock

REPO = Path(__file__).resolve().parents[1]
MONTH = "candles_1m/binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"


def _data_dir() -> Path:
    override = os.environ.get("TRADEFABRIC_SHARED_DATA")
    return Path(override) if override else REPO.parent / "shared" / "data"


def load_month() -> CandleFrame:
    """Read the real BTC/USDT month."""
    table = feather.read_table(_data_dir() / MONTH)
    ts_open = table.column("date").cast("int64").to_numpy().astype(np.int64)
    n = len(ts_open)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(table.column(name).to_numpy(), dtype=np.float64)

    return CandleFrame(
        venue="binance", symbol="BTC/USDT", interval="1m", ts_open=ts_open,
        ts_event=ts_open + 60_000_000_000, open=col("open"), high=col("high"), low=col("low"),
        close=col("close"), volume=col("volume"), buy_volume=np.full(n, np.nan),
        vwap=np.full(n, np.nan),
    )  # fmt: skip


def talib_only() -> FeatureSet:
    """Return the features whose batch form is TA-Lib."""
    return FeatureSet([
        EmaFeature(period=9), EmaFeature(period=21), SmaFeature(period=20), RsiFeature(),
        MacdFeature(), BollingerFeature(), AtrFeature(), ObvFeature(), StochFeature(),
    ])  # fmt: skip


def talib_direct(f: CandleFrame, *, patterns: bool) -> list[object]:
    """Call TA-Lib for the TA-Lib indicators (and patterns) of the full set; keep the outputs.

    The outputs are kept, as any consumer keeps them (a feature table does): arrays
    dropped at once hand their memory straight to the next call, while kept ones
    make every call fault in fresh pages, which costs as much as the cheaper
    indicators themselves. A floor that drops them is not reachable by any use.
    """
    o, h, low, c, v = f.open, f.high, f.low, f.close, f.volume
    out: list[object] = [
        talib.EMA(c, 9), talib.EMA(c, 21), talib.SMA(c, 20), talib.RSI(c, 14),
        *talib.MACD(c, 12, 26, 9), *talib.BBANDS(c, 20, 2.0, 2.0, 0), talib.ATR(h, low, c, 14),
        talib.OBV(c, v), *talib.STOCH(h, low, c, 5, 3, 0, 3, 0),
    ]  # fmt: skip
    if patterns:
        for pattern in (talib.CDLDOJI, talib.CDLENGULFING, talib.CDLHAMMER, talib.CDLSHOOTINGSTAR):
            out.append(pattern(o, h, low, c))
    return out


def best(repeat: int, work: Callable[[], object]) -> float:
    """Return the best wall time of ``repeat`` runs of ``work``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def streaming_cost(frame: CandleFrame, make: Callable[[], FeatureSet], repeat: int) -> float:
    """Return µs per candle to update a fresh feature set with every candle."""
    candles = list(frame.candles())

    def run() -> None:
        feature_set = make()
        update = feature_set.update
        for candle in candles:
            update(candle)

    return best(repeat, run) / len(candles) * 1e6


def pipeline_stream(frame: CandleFrame) -> None:
    """Run the default pipeline candle by candle through the bus."""
    bus, clock = MessageBus(), SimClock()
    pipeline = AnalyticsPipeline(bus, clock, AnalyticsConfig())
    replay_candles(pipeline, bus, BatchRun(frame=frame), clock.advance_to)


def main() -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    frame = load_month()
    n = len(frame)
    full = FeatureSet(default_features())
    figures = {
        "candles": n,
        "feature_columns": len(full.columns),
        "stream_full_us_per_candle": streaming_cost(
            frame, lambda: FeatureSet(default_features()), args.repeat
        ),
        "stream_talib_set_us_per_candle": streaming_cost(frame, talib_only, args.repeat),
        "batch_full_s": best(args.repeat, lambda: FeatureSet(default_features()).batch(frame)),
        "batch_talib_set_s": best(args.repeat, lambda: talib_only().batch(frame)),
        "talib_indicators_s": best(args.repeat, lambda: talib_direct(frame, patterns=False)),
        "talib_all_s": best(args.repeat, lambda: talib_direct(frame, patterns=True)),
        "pipeline_batch_s": best(1, lambda: run_batch(AnalyticsConfig(), BatchRun(frame=frame))),
        "pipeline_stream_s": best(1, lambda: pipeline_stream(frame)),
    }
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"real BTC/USDT 1m month: {n:,} candles; full feature set: {len(full.columns)} columns")
    print(
        f"streaming, full feature set:      {figures['stream_full_us_per_candle']:8.1f} µs/candle"
    )
    talib_us = figures["stream_talib_set_us_per_candle"]
    print(f"streaming, TA-Lib indicators:     {talib_us:8.1f} µs/candle")
    for key, label in (
        ("batch_talib_set_s", "batch, TA-Lib indicators"),
        ("talib_indicators_s", "  TA-Lib itself, same indicators"),
        ("batch_full_s", "batch, full feature set"),
        ("talib_all_s", "  TA-Lib itself, its part of it"),
    ):
        seconds = figures[key]
        print(f"{label + ':':34s}{seconds * 1e3:8.2f} ms  {n / seconds:14,.0f} candles/s")
    ratio = figures["talib_indicators_s"] / figures["batch_talib_set_s"]
    verdict = "PASS" if ratio >= 0.8 else "FAIL"
    print(f"batch TA-Lib indicators at {ratio:.2f}x TA-Lib's own speed (target >= 0.8x): {verdict}")
    print(
        f"pipeline (3 alphas, regime, confidence, ensemble): batch "
        f"{n / figures['pipeline_batch_s']:,.0f} candles/s, streaming through the bus "
        f"{n / figures['pipeline_stream_s']:,.0f} candles/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
