"""Features on real data: patterns vs TA-Lib, fractals, delta pressure, whales, zones, labels."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import talib

from tests.analytics.conftest import assert_same_series
from tests.conftest import report_figure
from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.features.base import FeatureRow, FeatureSet
from tradefabric.analytics.features.builtin import default_features
from tradefabric.analytics.features.labels import BarrierParams, triple_barrier_labels
from tradefabric.analytics.features.microstructure import (
    DeltaBar,
    DeltaPressure,
    VolumeProfile,
    WhaleAlert,
    WhaleKind,
    ZoneParams,
    ZoneSource,
    liquidity_zones,
)
from tradefabric.analytics.features.multires import MultiResolutionFeatures
from tradefabric.analytics.features.patterns import (
    PATTERNS,
    FractalDetector,
    PatternDetector,
    fractals_batch,
)
from tradefabric.analytics.frame import CandleFrame, frame_from_candles
from tradefabric.analytics.microstructure_feed import MicrostructureFeed
from tradefabric.data import topics
from tradefabric.model.data import Candle, Trade
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode

RECORDING = "spot_btcusdt_20240808.gz"
_TALIB_NAMES = {
    "doji": talib.CDLDOJI,
    "engulfing": talib.CDLENGULFING,
    "hammer": talib.CDLHAMMER,
    "shooting_star": talib.CDLSHOOTINGSTAR,
}


def test_candle_patterns_match_talib(month: CandleFrame) -> None:
    o, h, low, c = month.open, month.high, month.low, month.close
    for pattern in PATTERNS:
        detector = PatternDetector(pattern)
        streamed = np.array([detector.update(o[i], h[i], low[i], c[i]) for i in range(len(c))])
        reference = _TALIB_NAMES[pattern](o, h, low, c)
        np.testing.assert_array_equal(streamed, reference)
        hits = int(np.count_nonzero(reference))
        assert hits > 100, f"{pattern}: too few hits on a real month to mean anything"
        report_figure(
            f"analytics {month.symbol} {pattern}: streaming == TA-Lib on all "
            f"{len(c):,} candles ({hits:,} flagged)"
        )


def test_fractals_confirm_two_candles_later(btc_month: CandleFrame) -> None:
    h, low = btc_month.high, btc_month.low
    up, down = fractals_batch(h, low)
    detector = FractalDetector()
    streamed = np.array([detector.update(h[i], low[i]) for i in range(len(h))])
    # Independent: a fractal at j is reported at j + 2 with the price of j.
    ref_up = np.full(len(h), np.nan)
    ref_down = np.full(len(h), np.nan)
    for j in range(2, len(h) - 2):
        neighbours = [j - 2, j - 1, j + 1, j + 2]
        if all(h[j] > h[k] for k in neighbours):
            ref_up[j + 2] = h[j]
        if all(low[j] < low[k] for k in neighbours):
            ref_down[j + 2] = low[j]
    for got, ref in ((up, ref_up), (down, ref_down), (streamed[:, 0], ref_up),
                     (streamed[:, 1], ref_down)):  # fmt: skip
        assert_same_series(got, ref, rtol=0.0)
    count = int(np.count_nonzero(~np.isnan(ref_up)) + np.count_nonzero(~np.isnan(ref_down)))
    report_figure(f"analytics fractals BTC month: {count:,} confirmed, batch == stream == direct")


def _raw_trades(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt") as handle:
        return [json.loads(line.split(" ", 1)[1])["data"] for line in handle if '@trade"' in line]


def _replay(path: Path, intervals: tuple[str, ...] = ("1m",)) -> MarketDataNode:
    return MarketDataNode(MarketDataConfig(venue="binance", candle_intervals=intervals))


def test_delta_pressure_equals_raw_buy_minus_sell(shared_data: Path) -> None:
    path = shared_data / "binance_ws" / RECORDING
    node = _replay(path)
    pressure = DeltaPressure("binance", "BTC/USDT", "1m")
    bars: list[DeltaBar] = []
    candles: list[Candle] = []

    def on_trade(trade: Trade) -> None:
        bar = pressure.on_trade(trade)
        if bar is not None:
            bars.append(bar)

    node.bus.subscribe(topics.TRADES, on_trade)
    node.bus.subscribe(topics.CANDLES, candles.append)
    node.replay(path)
    last = pressure.flush()
    assert last is not None
    bars.append(last)
    # Independent count from the raw JSON: "m" (buyer is maker) means a sell aggressor.
    buy: dict[int, float] = defaultdict(float)
    sell: dict[int, float] = defaultdict(float)
    for t in _raw_trades(path):
        minute = int(t["T"]) // 60_000 * 60_000_000_000  # type: ignore[call-overload]
        (sell if t["m"] else buy)[minute] += float(t["q"])  # type: ignore[arg-type]
    assert [bar.ts_open for bar in bars] == sorted(set(buy) | set(sell))
    for bar in bars:
        assert bar.buy_volume == pytest.approx(buy[bar.ts_open], rel=1e-12)
        assert bar.sell_volume == pytest.approx(sell[bar.ts_open], rel=1e-12)
    # The candle feature reads the same quantity from the candles' buy volume.
    feature = FeatureSet(default_features())
    table = feature.batch(frame_from_candles(candles))
    expected = [buy[c.ts_open] - sell[c.ts_open] for c in candles]
    assert_same_series(table.column("delta"), np.array(expected), rtol=1e-9)
    total = sum(b.delta for b in bars)
    report_figure(
        f"analytics delta pressure {RECORDING}: {len(bars)} minutes, net delta {total:+.5f} BTC, "
        "equal to buy - sell counted from the raw JSON"
    )


def test_whale_alerts_and_delta_bars_published_live_on_real_trades_and_book(
    shared_data: Path,
) -> None:
    path = shared_data / "binance_ws" / RECORDING
    threshold = 50_000.0  # USDT notional
    node = _replay(path)
    feed = MicrostructureFeed(node.bus, whale_notional=threshold, delta_interval="1m")
    alerts: list[WhaleAlert] = []
    bars: list[DeltaBar] = []
    node.bus.subscribe(analytics_topics.WHALE_ALERTS, alerts.append)
    node.bus.subscribe(analytics_topics.DELTA_BARS, bars.append)
    node.replay(path)
    feed.flush()
    trade_alerts = [a for a in alerts if a.kind is WhaleKind.TRADE]
    book_alerts = [a for a in alerts if a.kind is WhaleKind.BOOK]
    raw_trades = _raw_trades(path)
    raw = [float(t["p"]) * float(t["q"]) for t in raw_trades]  # type: ignore[arg-type]
    expected = sum(1 for n in raw if n >= threshold)
    assert len(trade_alerts) == expected > 0
    assert all(a.notional >= threshold for a in alerts)
    assert len(book_alerts) > 0
    raw_buy = sum(float(t["q"]) for t in raw_trades if not t["m"])  # type: ignore[arg-type]
    assert sum(b.buy_volume for b in bars) == pytest.approx(raw_buy, rel=1e-12)
    assert sum(b.trades for b in bars) == len(raw_trades)
    report_figure(
        f"analytics whales {RECORDING} (>= {threshold:,.0f} USDT): {len(trade_alerts)} trades "
        f"(raw JSON count {expected}), {len(book_alerts)} book changes; {len(bars)} delta bars "
        f"published live"
    )


def test_liquidity_zones_on_the_rebuilt_book(shared_data: Path) -> None:
    path = shared_data / "binance_ws" / RECORDING
    node = _replay(path)
    profile = VolumeProfile("binance", "BTC/USDT", band=10.0)
    node.bus.subscribe(topics.TRADES, profile.on_trade)
    node.replay(path)
    book = node.books.book("binance", "BTC/USDT")
    assert book is not None and book.valid
    params = ZoneParams(levels=500, band=1.0, factor=5.0)
    zones = liquidity_zones(book, params)
    # Independent: bucket the top 500 levels of each side by hand.
    depth = book.depth(500)
    for source, levels in ((ZoneSource.BIDS, depth.bids), (ZoneSource.ASKS, depth.asks)):
        bands: dict[float, float] = defaultdict(float)
        for price, size in levels:
            bands[float(np.floor(price / 1.0) * 1.0)] += size
        median = float(np.median(list(bands.values())))
        heavy = sorted(low for low, size in bands.items() if size >= 5.0 * median)
        got = [z.price_low for z in zones if z.source is source]
        assert got == heavy
    assert zones, "no heavy band in a real book"
    traded = profile.zones(factor=3.0)
    assert traded and all(z.strength >= 3.0 for z in traded)
    report_figure(
        f"analytics liquidity zones {RECORDING}: {len(zones)} one-dollar depth bands >= 5x median, "
        f"{len(traded)} traded bands >= 3x median"
    )


def test_same_features_on_1s_1m_5m_1h_from_one_trade_stream(shared_data: Path) -> None:
    path = shared_data / "binance_ws" / RECORDING
    intervals = ("1s", "1m", "5m", "1h")
    node = _replay(path, intervals)
    MultiResolutionFeatures(node.bus, intervals, lambda: FeatureSet(default_features()))
    rows: list[FeatureRow] = []
    candles: list[Candle] = []
    node.bus.subscribe(analytics_topics.FEATURES, rows.append)
    node.bus.subscribe(topics.CANDLES, candles.append)
    node.replay(path)
    counts = {i: sum(1 for r in rows if r.interval == i) for i in intervals}
    assert all(counts[i] > 0 for i in intervals), counts
    assert counts["1s"] > counts["1m"] >= counts["5m"] >= counts["1h"]
    for interval in ("1s", "1m"):
        series = [c for c in candles if c.interval == interval]
        table = FeatureSet(default_features()).batch(frame_from_candles(series))
        streamed = np.array([r.values for r in rows if r.interval == interval])
        for k, name in enumerate(table.columns):
            assert_same_series(streamed[:, k], table.column(name))
    report_figure(f"analytics multi-resolution features from one trade stream: rows {counts}")


def test_triple_barrier_labels_match_a_direct_scan(btc_month: CandleFrame) -> None:
    frame = btc_month.head(4000)
    params = BarrierParams(up=2.0, down=2.0, horizon=30, vol_window=60)
    labels = triple_barrier_labels(frame, params)
    close = frame.close
    logret = np.diff(np.log(close))
    for i in range(params.vol_window, len(close) - params.horizon):
        vol = float(np.std(logret[i - params.vol_window : i]))
        up, down = close[i] * np.exp(2.0 * vol), close[i] * np.exp(-2.0 * vol)
        expected, touch = 0, i + params.horizon
        for j in range(i + 1, i + params.horizon + 1):
            if close[j] >= up:
                expected, touch = 1, j
                break
            if close[j] <= down:
                expected, touch = -1, j
                break
        assert labels.label[i] == expected, i
        assert labels.touch[i] == touch
        assert labels.known_at[i] == frame.ts_event[touch] > frame.ts_event[i]
    assert (labels.known_at[-params.horizon :] == -1).all()
    share = {v: float(np.mean(labels.label == v)) for v in (-1, 0, 1)}
    report_figure(f"analytics triple-barrier labels BTC 4000 candles: shares {share}")
