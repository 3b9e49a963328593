"""The vectorized prefilters on the real month: the EMA-cross scores come from exactly the
vectorized trades (equal to the kernel's), the EMA-volume alpha fires where the plugin does."""

from __future__ import annotations

import time
from itertools import product
from pathlib import Path

import numpy as np
import pytest

from tests.analytics.conftest import read_month
from tests.conftest import report_figure
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.signals.base import BatchInputs
from tradefabric.analytics.signals.ema_volume import EmaVolumeCrossover, EmaVolumeParams
from tradefabric.research.prefilter import (
    ema_cross_prefilter,
    ema_volume_prefilter,
    ema_volume_signals,
)
from tradefabric.strategies.vectorized import ema_cross_trades

LOT = "0.00001"


@pytest.fixture(scope="module")
def btc_month(shared_data: Path) -> CandleFrame:
    """The real BTC/USDT month of 1m candles."""
    return read_month(shared_data, "BTC/USDT")


def _pnl_of_trades(open_: np.ndarray, close: np.ndarray, fast: int, slow: int) -> tuple[int, float]:
    t = ema_cross_trades(open_, close, (fast, slow, 1000.0), LOT, 2.0)
    cash = float(np.sum(np.where(t.side > 0, -1.0, 1.0) * t.quantity * t.price))
    position = float(np.sum(t.quantity * t.side))
    return len(t), cash + position * float(close[-1])


def test_ema_cross_prefilter_values_the_kernel_trades(btc_month: CandleFrame) -> None:
    o, c = btc_month.open, btc_month.close
    combos = [(f, s) for f, s in product(range(2, 60), range(5, 200, 3)) if f < s]
    assert len(combos) > 3000
    started = time.perf_counter()
    scores = ema_cross_prefilter(o, c, combos, notional=1000.0, lot_increment=LOT, slippage_bps=2.0)
    rate = len(combos) / (time.perf_counter() - started)
    for s in scores[:: len(scores) // 25]:
        fills, pnl = _pnl_of_trades(o, c, s.fast, s.slow)
        assert s.fills == fills and s.pnl == pytest.approx(pnl, rel=1e-12, abs=1e-9)
    best = max(scores, key=lambda s: s.pnl)
    report_figure(
        f"EMA-cross prefilter, BTC 1m month: {len(combos)} combos at {rate:,.0f}/s; best "
        f"fast {best.fast} slow {best.slow}: {best.fills} fills, {best.ret:+.2%} on the notional"
    )
    assert rate > 200
    fee = ema_cross_prefilter(o, c, [(best.fast, best.slow)], notional=1000.0,
                              lot_increment=LOT, slippage_bps=2.0, fee_bps=10.0)[0]  # fmt: skip
    assert fee.pnl < best.pnl and fee.fills == best.fills


@pytest.mark.parametrize("params", [(9, 21, 20, 1.5), (5, 30, 10, 2.0), (12, 26, 50, 1.2)])
def test_ema_volume_signals_are_the_plugins(btc_month: CandleFrame, params: tuple) -> None:
    fast, slow, window, factor = params
    plugin = EmaVolumeCrossover(
        name="ev", interval="1m",
        params=EmaVolumeParams(fast=fast, slow=slow, volume_window=window, volume_factor=factor),
    )  # fmt: skip
    expected = plugin.batch(BatchInputs(btc_month))
    index, direction = ema_volume_signals(btc_month.close, btc_month.volume, params)
    assert len(expected) > 50
    assert btc_month.ts_event[index].tolist() == [s.data_ts for s in expected]
    assert direction.tolist() == [int(s.direction) for s in expected]


def test_ema_volume_prefilter_grid(btc_month: CandleFrame) -> None:
    grid = (range(3, 20, 2), range(15, 60, 5), (10, 20, 50), (1.2, 1.5, 2.0, 3.0))
    scores = ema_volume_prefilter(btc_month.close, btc_month.volume, grid, horizon=15)
    assert len(scores) == sum(1 for f, s, _, _ in product(grid[0], grid[1], [0], [0]) if f < s) * 12
    one = next(s for s in scores if (s.fast, s.slow, s.volume_window, s.volume_factor)
               == (9, 20, 20, 1.5))  # fmt: skip
    index, _ = ema_volume_signals(btc_month.close, btc_month.volume, (9, 20, 20, 1.5))
    assert one.signals == len(index) and 0.3 < one.hit_rate < 0.7
    # A stricter volume confirmation never fires more often.
    loose = next(s for s in scores if (s.fast, s.slow, s.volume_window, s.volume_factor)
                 == (9, 20, 20, 1.2))  # fmt: skip
    assert loose.signals >= one.signals


def test_sweep_prefilter_runs_only_the_best_points(research_catalog: Path, tmp_path: Path) -> None:
    import yaml

    from tradefabric.research.config import SweepConfig, load, resolve
    from tradefabric.research.sweep import sweep_records

    strategy = {"kind": "ema_cross", "id": "ema", "symbol": "BTC/USDT"}
    cfg = {
        "base": {"seed": 1, "strategies": [strategy]},
        "catalog": str(research_catalog), "catalog_version": 1,
        "start": "2024-07-27", "end": "2024-08-03",
        "params": {"ema.fast": {"low": 3, "high": 40, "step": 1},
                   "ema.slow": {"low": 20, "high": 200, "step": 5}},
        "prefilter": {"top": 6},
    }  # fmt: skip
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(cfg))
    sweep = load(path, SweepConfig)
    started = time.perf_counter()
    records = sweep_records(sweep, resolve(path, sweep))
    seconds = time.perf_counter() - started
    assert len(records) == 6
    frame_open, frame_close = _window(research_catalog)
    for r in records:
        assert r.result is not None
        fast, slow = int(r.params.get("ema.fast")), int(r.params.get("ema.slow"))
        vec = ema_cross_prefilter(frame_open, frame_close, [(fast, slow)], notional=1000.0,
                                  lot_increment=LOT)[0]  # fmt: skip
        assert r.result.fills == vec.fills  # the kernel made exactly the vectorized fills
    grid = [(f, s) for f in range(3, 41) for s in range(20, 201, 5) if f < s]
    every = ema_cross_prefilter(frame_open, frame_close, grid, notional=1000.0, lot_increment=LOT)
    top = sorted(every, key=lambda x: -x.ret)[:6]
    ran = [(int(r.params.get("ema.fast")), int(r.params.get("ema.slow"))) for r in records]
    assert sorted(ran) == sorted((x.fast, x.slow) for x in top)
    points = len(grid)
    report_figure(
        f"sweep prefilter: {points} EMA-cross grid points ranked vectorized, the best 6 run "
        f"event-driven, {seconds:.1f} s in all; fills equal the vectorized trades"
    )


def _window(catalog: Path) -> tuple[np.ndarray, np.ndarray]:
    from tradefabric.analytics.frame import FrameQuery, frame_from_catalog
    from tradefabric.core.time import parse_utc
    from tradefabric.store.catalog import Catalog

    query = FrameQuery(venue="binance", symbol="BTC/USDT", start_ns=parse_utc("2024-07-27"),
                       end_ns=parse_utc("2024-08-03"))  # fmt: skip
    frame = frame_from_catalog(Catalog(catalog, version=1), query)
    return frame.open, frame.close
