"""Vectorized prefilter throughput: parameter combinations scored per second.

On the real BTC/USDT month of 1m candles (``../shared/data/candles_1m``, 43k
candles) it scores a grid of EMA-cross (fast, slow) combinations with
``research.prefilter.ema_cross_prefilter`` (the exact trades of the vectorized
path, which equal the kernel's fills) and a grid of ``EmaVolumeCrossover``
(fast, slow, volume window, volume factor) combinations with
``ema_volume_prefilter``, checks a sample of the EMA-cross scores against
``ema_cross_trades``, and prints combinations/s of each. On the same month as 5m
candles it scores a grid of ``RsiDivergenceVwap`` (rsi period, pivot, lookback,
max wait, tolerance) combinations with ``prefilter_rsi.rsi_vwap_prefilter``, and
runs a sample of them through the plugin candle by candle (the event-driven path,
the floor measured in the same run): the firings must be equal, and the speed-up
is printed.

    .venv/bin/python bench/bench_prefilter.py [--fast-max 120] [--slow-max 300]
"""

from __future__ import annotations

import argparse
import os
import time
from itertools import product
from pathlib import Path

import numpy as np
from pyarrow import feather

from tradefabric.analytics.frame import CandleFrame, resample
from tradefabric.analytics.signals.rsi_vwap import RsiDivergenceVwap, RsiVwapParams
from tradefabric.research.prefilter import ema_cross_prefilter, ema_volume_prefilter
from tradefabric.research.prefilter_rsi import RsiVwapInputs, rsi_vwap_prefilter, rsi_vwap_signals
from tradefabric.strategies.vectorized import ema_cross_trades

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRADEFABRIC_SHARED_DATA", ROOT.parent / "shared" / "data"))
MONTH = DATA / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
LOT = "0.00001"
MINUTE_NS = 60_000_000_000


def _columns() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = feather.read_table(MONTH)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(table.column(name).to_numpy(), dtype=np.float64)

    return col("open"), col("close"), col("volume")


def _check(open_: np.ndarray, close: np.ndarray, fast: int, slow: int, pnl: float) -> None:
    t = ema_cross_trades(open_, close, (fast, slow, 1000.0), LOT, 2.0)
    cash = float(np.sum(np.where(t.side > 0, -1.0, 1.0) * t.quantity * t.price))
    expected = cash + float(np.sum(t.quantity * t.side)) * float(close[-1])
    if abs(expected - pnl) > 1e-6:
        raise SystemExit(f"prefilter {fast}/{slow}: pnl {pnl} vs vectorized trades {expected}")


def main() -> None:
    """Run both prefilters and print combinations/s."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--fast-max", type=int, default=120)
    parser.add_argument("--slow-max", type=int, default=300)
    args = parser.parse_args()
    open_, close, volume = _columns()
    combos = [(f, s) for f, s in product(range(2, args.fast_max), range(3, args.slow_max, 2))
              if f < s]  # fmt: skip
    started = time.perf_counter()
    scores = ema_cross_prefilter(open_, close, combos, notional=1000.0, lot_increment=LOT,
                                 slippage_bps=2.0, fee_bps=10.0)  # fmt: skip
    cross_s = time.perf_counter() - started
    for s in scores[:: max(len(scores) // 20, 1)]:
        nofee = ema_cross_prefilter(open_, close, [(s.fast, s.slow)], notional=1000.0,
                                    lot_increment=LOT, slippage_bps=2.0)[0]  # fmt: skip
        _check(open_, close, s.fast, s.slow, nofee.pnl)
    best = max(scores, key=lambda s: s.pnl)
    print(f"candles: {len(close):,} (BTC/USDT 1m month)")
    print(
        f"ema_cross prefilter: {len(combos):,} combinations in {cross_s:.2f} s = "
        f"{len(combos) / cross_s:,.0f} combinations/s; best {best.fast}/{best.slow}: "
        f"{best.fills} fills, {best.ret:+.2%} after 10 bps fees (sample of 20 == vectorized trades)"
    )
    grid = (range(3, 30), range(10, 80, 3), (10, 20, 30, 50, 100), (1.2, 1.5, 2.0, 2.5, 3.0, 4.0))
    started = time.perf_counter()
    alphas = ema_volume_prefilter(close, volume, grid, horizon=15)
    alpha_s = time.perf_counter() - started
    top = max((a for a in alphas if a.signals >= 30), key=lambda a: a.mean_return)
    print(
        f"ema_volume prefilter: {len(alphas):,} combinations in {alpha_s:.2f} s = "
        f"{len(alphas) / alpha_s:,.0f} combinations/s; best ({top.fast}, {top.slow}, "
        f"{top.volume_window}, {top.volume_factor}): {top.signals} signals, mean 15m return "
        f"{top.mean_return:+.4%}, hit rate {top.hit_rate:.3f}"
    )
    _rsi_vwap()


def _frame_5m() -> CandleFrame:
    table = feather.read_table(MONTH)
    ts_open = table.column("date").cast("int64").to_numpy().astype(np.int64)
    n = len(ts_open)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(table.column(name).to_numpy(), dtype=np.float64)

    frame = CandleFrame(
        venue="binance", symbol="BTC/USDT", interval="1m", ts_open=ts_open,
        ts_event=ts_open + MINUTE_NS, open=col("open"), high=col("high"), low=col("low"),
        close=col("close"), volume=col("volume"), buy_volume=np.full(n, np.nan),
        vwap=np.full(n, np.nan),
    )  # fmt: skip
    return resample(frame, "5m")


def _streamed(frame: CandleFrame, key: tuple[int, int, int, int, float]) -> list[tuple[int, int]]:
    period, pivot, lookback, wait, tolerance = key
    params = RsiVwapParams(rsi_period=period, pivot=pivot, lookback=lookback, max_wait=wait,
                           tolerance_bps=tolerance)  # fmt: skip
    stream = RsiDivergenceVwap(name="rv", interval="5m", params=params).stream()
    fired = (stream.on_candle(frame.candle(i), 0) for i in range(len(frame)))
    return [(s.data_ts, int(s.direction)) for s in fired if s is not None]


def _rsi_vwap() -> None:
    frame = _frame_5m()
    grid = ((7, 9, 14, 21, 28), (1, 2, 3, 4), (15, 20, 30, 45, 60, 90), (2, 3, 6, 9, 12),
            (1.0, 2.0, 5.0, 10.0, 15.0, 25.0))  # fmt: skip
    started = time.perf_counter()
    inputs = RsiVwapInputs(frame)
    scores = rsi_vwap_prefilter(inputs, grid, horizon=12)
    vector_s = time.perf_counter() - started
    sample = scores[:: max(len(scores) // 10, 1)]
    started = time.perf_counter()
    for s in sample:
        key = (s.rsi_period, s.pivot, s.lookback, s.max_wait, s.tolerance_bps)
        expected = _streamed(frame, key)
        index, direction = rsi_vwap_signals(inputs, key)
        got = list(zip(frame.ts_event[index].tolist(), direction.tolist(), strict=True))
        if got != expected:
            raise SystemExit(f"rsi_vwap prefilter {key}: {len(got)} firings vs {len(expected)}")
    stream_s = time.perf_counter() - started
    vector_rate, stream_rate = len(scores) / vector_s, len(sample) / stream_s
    top = max((a for a in scores if a.signals >= 20), key=lambda a: a.mean_return)
    print(
        f"rsi_vwap prefilter ({len(frame):,} 5m candles): {len(scores):,} combinations in "
        f"{vector_s:.2f} s = {vector_rate:,.0f} combinations/s; the plugin candle by candle: "
        f"{stream_rate:,.1f} combinations/s ({vector_rate / stream_rate:,.0f}x; sample of "
        f"{len(sample)} == streamed firings); best ({top.rsi_period}, {top.pivot}, "
        f"{top.lookback}, {top.max_wait}, {top.tolerance_bps}): {top.signals} signals, mean 1h "
        f"return {top.mean_return:+.4%}, hit rate {top.hit_rate:.3f}"
    )


if __name__ == "__main__":
    main()
