"""Resampling and gap detection on candles and trades built from real Binance traffic."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import report_figure
from tests.integration.recordings import read_lines, write_lines
from tradefabric.model.enums import CandleFlag
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.gaps import SeriesFilter, interpolated_candles, scan_gaps
from tradefabric.store.resample import resample
from tradefabric.store.schema import CandleSeries

RECORDING = "spot_btcusdt_20240808.gz"
SECOND = 1_000_000_000
BTC_1S = CandleSeries("binance", "BTC/USDT", "1s")


def _replay(recording: Path, catalog: Path) -> None:
    config = MarketDataConfig(venue="binance", catalog=catalog, candle_intervals=("1s", "1m"))
    MarketDataNode(config).replay(recording)


@pytest.fixture(scope="module")
def btc_catalog(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("btc_catalog")
    _replay(shared_data / "binance_ws" / RECORDING, root)
    return root


def test_resampled_1s_candles_equal_1m_candles_built_from_the_trades(btc_catalog: Path) -> None:
    catalog = Catalog(btc_catalog)
    resampled = resample(catalog, BTC_1S, "1m").to_pylist()
    built = catalog.query(
        "SELECT ts_open, open, high, low, close, trades, volume, buy_volume, vwap, ts_event "
        "FROM candles WHERE interval = '1m' ORDER BY ts_open"
    ).rows
    assert len(resampled) == len(built) >= 5
    worst = 0.0
    for ours, (ts_open, o, h, low, c, n, volume, buy, vwap, ts_event) in zip(
        resampled, built, strict=True
    ):
        exact = (ours["ts_open"], ours["open"], ours["high"], ours["low"], ours["close"])
        assert exact == (ts_open, o, h, low, c)
        assert (ours["trades"], ours["ts_event"], ours["interval"]) == (n, ts_event, "1m")
        # Sums of float sizes depend on the order of addition: equal to within rounding.
        sums = ((ours["volume"], volume), (ours["buy_volume"], buy), (ours["vwap"], vwap))
        for got, want in sums:
            assert isinstance(want, float)
            assert math.isclose(got, want, rel_tol=1e-12)
            worst = max(worst, abs(got - want) / abs(want) if want else 0.0)
    report_figure(
        f"resample 1s->1m ({len(built)} minutes of real BTC trades): OHLC, trade counts equal "
        f"exactly; volume/buy volume/vwap worst relative difference {worst:.1e}"
    )


def test_resample_chain_to_hour_and_day_keeps_totals(btc_catalog: Path) -> None:
    catalog = Catalog(btc_catalog)
    minutes = resample(catalog, BTC_1S, "1m")
    root = btc_catalog.parent / "chain"
    writer = CatalogWriter(root)
    writer.write_table("candles", minutes, "resample", "resample")
    hour = resample(Catalog(root), CandleSeries("binance", "BTC/USDT", "1m"), "1h").to_pylist()
    day = resample(Catalog(root), CandleSeries("binance", "BTC/USDT", "1m"), "1d").to_pylist()
    trades = catalog.query("SELECT count(*), min(price), max(price) FROM trades").rows[0]
    # The recording runs from 23:54 to just past midnight: two hours, two days.
    for rows in (hour, day):
        assert len(rows) == 2
        summary = (
            sum(r["trades"] for r in rows),
            min(r["low"] for r in rows),
            max(r["high"] for r in rows),
        )
        assert summary == trades


def test_trade_id_gaps_are_exactly_the_trades_removed(shared_data: Path, tmp_path: Path) -> None:
    lines = read_lines(shared_data / "binance_ws" / RECORDING)
    trade_lines = [i for i, line in enumerate(lines) if b"@trade" in line]
    removed_at = set(trade_lines[1000:1005]) | {trade_lines[3000]}
    removed_ids = sorted(
        json.loads(lines[i].split(b" ", 1)[1])["data"]["t"] for i in sorted(removed_at)
    )
    kept = [line for i, line in enumerate(lines) if i not in removed_at]
    _replay(write_lines(tmp_path / "cut.gz", kept), tmp_path / "catalog")

    scan = scan_gaps(Catalog(tmp_path / "catalog"), SeriesFilter(venue="binance"))
    assert [(g.first_missing_id, g.last_missing_id) for g in scan.trade_gaps] == [
        (removed_ids[0], removed_ids[4]),
        (removed_ids[5], removed_ids[5]),
    ]
    assert scan.missing_trades == 6
    assert scan.unchecked_trade_series == ()


def test_real_recording_has_no_trade_gaps_and_its_quiet_seconds_are_candle_gaps(
    btc_catalog: Path,
) -> None:
    catalog = Catalog(btc_catalog)
    scan = scan_gaps(catalog, SeriesFilter(venue="binance", interval="1s"))
    assert scan.trade_gaps == ()
    first, last, stored = catalog.query(
        "SELECT min(ts_open), max(ts_open), count(*) FROM candles WHERE interval = '1s'"
    ).rows[0]
    assert isinstance(first, int) and isinstance(last, int) and isinstance(stored, int)
    quiet_seconds = (last - first) // SECOND + 1 - stored
    assert quiet_seconds > 0
    assert scan.missing_candles == quiet_seconds
    report_figure(
        f"gaps: {RECORDING} 1s candles: {quiet_seconds} seconds without a trade in "
        f"{len(scan.candle_gaps)} gaps; trade id gaps: 0"
    )


def test_interpolation_fills_gaps_flagged_and_real_data_replaces_it(
    btc_catalog: Path, tmp_path: Path
) -> None:
    root = tmp_path / "copy"
    source = Catalog(btc_catalog)
    writer = CatalogWriter(root)
    real = source.connect().sql("SELECT * FROM candles WHERE interval = '1s'").to_arrow_table()
    # Drop 30 real seconds so a gap with real data behind it exists.
    assert real is not None
    hole = real.slice(100, 30)
    writer.write_table("candles", pa.concat_tables([real.slice(0, 100), real.slice(130)]), "t")
    catalog = Catalog(root)
    before = scan_gaps(catalog, SeriesFilter(interval="1s"))

    fills = pa.concat_tables([interpolated_candles(catalog, g) for g in before.candle_gaps])
    report = writer.write_table("candles", fills, "interpolate", "repair")
    assert report.rows_added == before.missing_candles
    after = scan_gaps(Catalog(root), SeriesFilter(interval="1s"))
    assert after.candle_gaps == ()
    assert after.interpolated_candles == before.missing_candles
    flagged = (
        Catalog(root)
        .query(
            f"SELECT count(*), sum(volume), sum(trades) FROM candles "
            f"WHERE (flags & {int(CandleFlag.INTERPOLATED)}) <> 0"
        )
        .rows[0]
    )
    assert flagged == (before.missing_candles, 0.0, 0)

    restored = writer.write_table("candles", hole, "download", "repair")
    assert (restored.rows_added, restored.replaced) == (0, 30)
    final = scan_gaps(Catalog(root), SeriesFilter(interval="1s"))
    assert final.interpolated_candles == before.missing_candles - 30
