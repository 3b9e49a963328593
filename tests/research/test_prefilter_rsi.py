"""The RSI-divergence + VWAP prefilter on the real month: its whole-array rule fires on exactly
the candles, in exactly the directions, of the plugin run candle by candle (the event-driven
path the node runs) and of its batch form, for several parameter sets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.analytics.conftest import read_month
from tests.conftest import report_figure
from tradefabric.analytics.frame import CandleFrame, resample
from tradefabric.analytics.signals.base import BatchInputs
from tradefabric.analytics.signals.rsi_vwap import RsiDivergenceVwap, RsiVwapParams
from tradefabric.research.prefilter_rsi import RsiVwapInputs, rsi_vwap_prefilter, rsi_vwap_signals

PARAMS = [
    RsiVwapParams(),
    RsiVwapParams(rsi_period=9, pivot=3, lookback=20, max_wait=3, tolerance_bps=2.0),
    RsiVwapParams(rsi_period=21, pivot=1, lookback=60, max_wait=12, tolerance_bps=15.0),
    RsiVwapParams(rsi_period=14, pivot=2, lookback=40, max_wait=6, tolerance_bps=5.0,
                  vwap="rolling", vwap_window=24),
]  # fmt: skip


@pytest.fixture(scope="module")
def btc_5m(shared_data: Path) -> CandleFrame:
    """The real BTC/USDT month as 5m candles (the plugin's default interval)."""
    return resample(read_month(shared_data, "BTC/USDT"), "5m")


def _key(p: RsiVwapParams) -> tuple[int, int, int, int, float]:
    return (p.rsi_period, p.pivot, p.lookback, p.max_wait, p.tolerance_bps)


@pytest.mark.parametrize("params", PARAMS, ids=lambda p: "-".join(map(str, _key(p))) + p.vwap)
def test_rsi_vwap_signals_are_the_plugins_streaming_and_batch(
    btc_5m: CandleFrame, params: RsiVwapParams
) -> None:
    plugin = RsiDivergenceVwap(name="rv", interval="5m", params=params)
    stream = plugin.stream()
    streamed = [
        s for s in (stream.on_candle(btc_5m.candle(i), 0) for i in range(len(btc_5m)))
        if s is not None
    ]  # fmt: skip
    batch = plugin.batch(BatchInputs(btc_5m))
    index, direction = rsi_vwap_signals(RsiVwapInputs(btc_5m, params), _key(params))
    assert len(streamed) > 10
    fired = list(zip(btc_5m.ts_event[index].tolist(), direction.tolist(), strict=True))
    assert fired == [(s.data_ts, int(s.direction)) for s in streamed]
    assert fired == [(s.data_ts, int(s.direction)) for s in batch]


def test_rsi_vwap_prefilter_grid(btc_5m: CandleFrame) -> None:
    grid = ((9, 14, 21), (1, 2, 3), (20, 30, 60), (3, 6, 12), (2.0, 5.0, 15.0))
    inputs = RsiVwapInputs(btc_5m)
    started = time.perf_counter()
    scores = rsi_vwap_prefilter(inputs, grid, horizon=12)
    rate = len(scores) / (time.perf_counter() - started)
    assert len(scores) == 3**5
    default = next(s for s in scores if (s.rsi_period, s.pivot, s.lookback, s.max_wait,
                                         s.tolerance_bps) == (14, 2, 30, 6, 5.0))  # fmt: skip
    plugin = RsiDivergenceVwap(name="rv", interval="5m", params=RsiVwapParams())
    expected = plugin.batch(BatchInputs(btc_5m))
    assert default.signals == len(expected) and 0.2 < default.hit_rate < 0.8
    # Waiting longer for the bounce never fires less often (one firing per arming at most).
    longer = next(s for s in scores if (s.rsi_period, s.pivot, s.lookback, s.max_wait,
                                        s.tolerance_bps) == (14, 2, 30, 12, 5.0))  # fmt: skip
    assert longer.signals >= default.signals
    best = max((s for s in scores if s.signals >= 20), key=lambda s: s.mean_return)
    report_figure(
        f"RSI-VWAP prefilter, BTC 5m month: {len(scores)} combos at {rate:,.0f}/s; best "
        f"(rsi {best.rsi_period}, pivot {best.pivot}, lookback {best.lookback}, wait "
        f"{best.max_wait}, tol {best.tolerance_bps}): {best.signals} signals, "
        f"{best.mean_return:+.3%} mean 1h return"
    )
