"""The integrity layer on the real March 2023 window (six venues, USD/USDT/USDC, USDC de-peg)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import report_figure
from tests.integrity.injection import (
    Injector,
    Score,
    flagged,
    frozen_detected,
    load_rows,
    score,
    write_rows,
)
from tradefabric.core.bus import MessageBus
from tradefabric.core.time import ns_to_iso, parse_utc
from tradefabric.data.topics import CANDLES
from tradefabric.integrity.batch import Selection, candle_symbols, iter_candles, triangulate_catalog
from tradefabric.integrity.collector import Collector, TriangulationResult
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.events import AnomalyKind
from tradefabric.integrity.records import store_result
from tradefabric.integrity.triangulator import Triangulator
from tradefabric.store.catalog import Catalog

pytestmark = pytest.mark.slow

CRISIS_START = parse_utc("2023-03-10T18:00")
CRISIS_END = parse_utc("2023-03-14T00:00")


def test_usdc_depeg_is_one_stablecoin_event_with_start_and_end(
    baseline: TriangulationResult,
) -> None:
    ends = [e for e in baseline.stablecoin_events if e.phase == "end"]
    for e in ends:
        report_figure(
            f"stablecoin event {e.coin}: {ns_to_iso(e.ts_start)} .. {ns_to_iso(e.ts_end)}, "
            f"peak {e.peak_rate:.4f} USD ({e.peak_bps:.0f} bps) at {ns_to_iso(e.ts_peak)}"
        )
    usdc = [e for e in ends if e.coin == "USDC" and e.peak_rate < 0.9]
    assert len(usdc) == 1
    depeg = usdc[0]
    # Circle disclosed its SVB exposure on 10 March; USDC was back near par on 13 March.
    assert parse_utc("2023-03-10T18:00") <= depeg.ts_start <= parse_utc("2023-03-11T06:00")
    assert parse_utc("2023-03-12T18:00") <= depeg.ts_end <= parse_utc("2023-03-13T12:00")
    assert depeg.peak_rate == pytest.approx(0.874, abs=0.005)
    # Every stablecoin event lies in the crisis: nothing outside it is called a de-peg.
    assert all(e.ts_start >= CRISIS_START and e.ts_end <= CRISIS_END for e in ends)


def test_btc_consensus_is_continuous_through_the_depeg(baseline: TriangulationResult) -> None:
    ts = np.asarray(baseline.consensus_ts)
    price = np.asarray(baseline.consensus_price)
    assert len(ts) == 21 * 1440
    assert np.all(np.diff(ts) == 60_000_000_000)
    assert all(baseline.consensus_valid)
    assert min(baseline.consensus_venues) >= 3
    # No consensus jump beyond what the USD-quoted venues themselves moved that minute.
    moves = np.abs(np.diff(np.log(price))) * 1e4
    usd = {(s.venue, s.symbol): s for s in baseline.series if s.symbol == "BTC/USD"}
    venue_max = max(
        float(np.max(np.abs(np.diff(np.log(np.asarray(s.price_usd)))) * 1e4)) for s in usd.values()
    )
    report_figure(
        f"BTC consensus: {len(ts):,} minutes, no gap; largest 1m move {moves.max():.0f} bps "
        f"(largest BTC/USD venue 1m move {venue_max:.0f} bps)"
    )
    assert moves.max() <= venue_max
    # During the de-peg the consensus tracks Coinbase's native BTC/USD book.
    coinbase = usd[("coinbase", "BTC/USD")]
    cb_ts = np.asarray(coinbase.ts)
    inside = (cb_ts >= parse_utc("2023-03-11")) & (cb_ts < parse_utc("2023-03-13"))
    reference = np.interp(cb_ts[inside], ts, price)
    gap = np.abs(np.asarray(coinbase.price_usd)[inside] / reference - 1) * 1e4
    report_figure(
        f"BTC consensus vs Coinbase BTC/USD during the de-peg: median {np.median(gap):.1f} bps, "
        f"p99 {np.percentile(gap, 99):.1f} bps"
    )
    assert np.median(gap) < 5.0
    assert np.percentile(gap, 99) < 40.0


def test_btc_arbitrage_episodes_are_few_and_all_in_the_crisis(
    baseline: TriangulationResult,
) -> None:
    episodes = baseline.arbitrage
    report_figure(f"BTC arbitrage episodes over three weeks: {len(episodes)}")
    for e in episodes:
        report_figure(
            f"  {ns_to_iso(e.ts_start)} .. {ns_to_iso(e.ts_end)} ({e.minutes} min): buy "
            f"{e.buy_venue} {e.buy_symbol}, sell {e.sell_venue} {e.sell_symbol}, peak "
            f"{e.gross_bps_peak:.0f} bps gross / {e.net_bps_peak:.0f} net, ${e.notional_usd:,.0f}"
        )
    assert 0 < len(episodes) <= 30
    # Outside the SVB/USDC weekend no venue pair stayed 0.2% apart net of fees for 5 minutes.
    assert all(e.ts_start >= CRISIS_START and e.ts_end <= CRISIS_END for e in episodes)
    assert all(e.net_bps_peak >= 20.0 and e.minutes >= 5 for e in episodes)
    assert all(e.ts_start <= e.ts_peak < e.ts_end for e in episodes)
    # Quoted in a coin off its peg is the coin's story, never a BTC arbitrage.
    off_peg = [
        (ev.coin, ev.ts_start, ev.ts_end) for ev in baseline.stablecoin_events if ev.phase == "end"
    ]
    for e in episodes:
        quotes = {e.buy_symbol.split("/")[1], e.sell_symbol.split("/")[1]}
        for coin, start, end in off_peg:
            assert not (coin in quotes and start <= e.ts_peak < end)


def test_no_btc_anomaly_is_blamed_on_the_depeg(baseline: TriangulationResult) -> None:
    inside = [
        a
        for a in baseline.anomalies
        if a.symbol.startswith("BTC/")
        and a.kind is AnomalyKind.PRICE_OUTLIER
        and parse_utc("2023-03-11") <= a.ts_event < parse_utc("2023-03-13")
    ]
    total = sum(1 for a in baseline.anomalies if a.kind is AnomalyKind.PRICE_OUTLIER)
    report_figure(
        f"BTC price outliers on real data: {total} (of which {len(inside)} on 11-12 March)"
    )
    # 48 hours of USDC at up to -12.6%: without conversion every USDC minute would be flagged.
    assert len(inside) < 150


def test_streaming_on_the_bus_equals_the_batch_path(
    multi_catalog: Path, baseline: TriangulationResult
) -> None:
    config = IntegrityConfig()
    bus = MessageBus()
    collector = Collector(bus, "BTC")
    triangulator = Triangulator(bus, config)
    triangulator.attach()
    catalog = Catalog(multi_catalog)
    selection = Selection("BTC")
    count = 0
    for batch in iter_candles(catalog, selection, candle_symbols(catalog, selection, config)):
        # A live feed delivers a minute's candles in any order: reverse them per minute.
        by_minute: dict[int, list[object]] = {}
        for candle in batch:
            by_minute.setdefault(candle.ts_open, []).append(candle)
        for minute in sorted(by_minute):
            for candle in reversed(by_minute[minute]):
                bus.publish(CANDLES, candle)  # type: ignore[arg-type]
                count += 1
    triangulator.finish()
    streamed = collector.result(count, triangulator.late_candles)
    assert streamed.late_candles == 0
    assert streamed.consensus_price == baseline.consensus_price
    assert streamed.anomalies == baseline.anomalies
    assert streamed.corrections == baseline.corrections
    assert streamed.arbitrage == baseline.arbitrage
    assert streamed.stablecoin_events == baseline.stablecoin_events
    assert streamed.quality == baseline.quality


def test_findings_are_catalog_rows_and_a_rerun_adds_none(
    multi_catalog: Path, baseline: TriangulationResult, tmp_path: Path
) -> None:
    root = tmp_path / "catalog"
    shutil.copytree(multi_catalog, root)
    first = store_result(root, baseline)
    again = store_result(root, baseline)
    counts = Catalog(root).summary()
    report_figure(
        f"integrity rows on real data: anomalies {counts.anomalies:,}, corrections "
        f"{counts.corrections:,}, arbitrage episodes {counts.arbitrage}"
    )
    assert (again.anomalies, again.corrections, again.arbitrage) == (0, 0, 0)
    assert counts.arbitrage == first.arbitrage == len(baseline.arbitrage)
    assert counts.candles == 382_618  # the originals are untouched
    depeg = Catalog(root).query(
        "SELECT symbol, ts_event, ts_end, value FROM anomalies WHERE kind = 'depeg' "
        "AND symbol = 'USDC/USD' ORDER BY value LIMIT 1"
    )
    assert depeg.rows[0][3] == pytest.approx(0.874, abs=0.005)
    flags = Catalog(root).query("SELECT DISTINCT flags FROM corrections ORDER BY flags").rows
    assert flags == ((1,), (2,))


@pytest.fixture(scope="module")
def injected_run(
    multi_catalog: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Injector, TriangulationResult]:
    injector = Injector(load_rows(multi_catalog))
    injector.spikes(400)
    injector.flatlines(40)
    injector.missing(200)
    injector.shifts(12)
    for venue in ("cryptocom", "kraken", "binanceus", "coinbase", "bybit"):
        injector.frozen_venue(venue)
    root = tmp_path_factory.mktemp("injected") / "catalog"
    write_rows(root, injector.rows())
    return injector, triangulate_catalog(root, Selection("BTC"))


def test_injected_anomalies_are_found(
    injected_run: tuple[Injector, TriangulationResult], baseline: TriangulationResult
) -> None:
    injector, result = injected_run
    truth = injector.injected
    every = injector.all_keys()
    spikes = {AnomalyKind.PRICE_OUTLIER, AnomalyKind.RETURN_OUTLIER}
    scores: list[Score] = [
        score(
            "spikes >= 1%", truth.spikes, flagged(result, spikes), flagged(baseline, spikes), every
        ),
        score(
            "flat-lined candles",
            truth.flatlines,
            flagged(result, {AnomalyKind.FLATLINE}),
            flagged(baseline, {AnomalyKind.FLATLINE}),
            every,
        ),
        score(
            "missing minutes",
            truth.missing,
            flagged(result, {AnomalyKind.MISSING}),
            flagged(baseline, {AnomalyKind.MISSING}),
            every,
        ),
        score(
            "shifted timestamps (+2 min)",
            truth.shifted,
            flagged(result, {AnomalyKind.TIMESTAMP}),
            flagged(baseline, {AnomalyKind.TIMESTAMP}),
            every,
        ),
    ]
    report_figure("injected anomaly detection (precision net of flags the untouched data has):")
    for s in scores:
        report_figure(
            f"  {s.name:28s} injected {s.injected:4d}  found {s.detected:4d}  new false flags "
            f"{s.false_positives:3d}  recall {s.recall:6.1%}  precision {s.precision:6.1%}  "
            f"(flags on untouched data: {s.baseline})"
        )
    frozen = [(v, ts, frozen_detected(result, v, ts)) for v, ts in truth.frozen_hours]
    for venue, ts, found in frozen:
        report_figure(
            f"  frozen hour {venue} from {ns_to_iso(ts)}: {'detected' if found else 'MISSED'}"
        )
    spike_score = scores[0]
    assert spike_score.recall >= 0.95
    assert spike_score.precision >= 0.95
    assert len(frozen) == 5 and all(found for _, _, found in frozen)
    assert scores[2].recall >= 0.95 and scores[2].precision >= 0.95
    assert scores[1].recall >= 0.8 and scores[1].precision >= 0.95
    assert scores[3].precision >= 0.9


def test_corrections_put_injected_spikes_back_near_the_truth(
    injected_run: tuple[Injector, TriangulationResult], multi_catalog: Path
) -> None:
    injector, result = injected_run
    original = {
        (str(r["venue"]), str(r["symbol"]), int(str(r["ts_open"]))): float(str(r["close"]))
        for r in load_rows(multi_catalog)
    }
    errors = []
    for c in result.corrections:
        key = (c.candle.venue, c.candle.symbol, c.candle.ts_open)
        if key in injector.injected.spikes:
            errors.append(abs(math.log(c.candle.close / original[key])) * 1e4)
            assert c.original_close != original[key]  # the spiked value is kept
    report_figure(
        f"spike corrections: {len(errors)}, error vs the true close median "
        f"{np.median(errors):.1f} bps, p95 {np.percentile(errors, 95):.1f} bps"
    )
    assert len(errors) >= 0.95 * len(injector.injected.spikes)
    assert np.median(errors) < 15.0
