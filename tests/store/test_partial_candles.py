"""Partial candles (from part of their interval) are flagged and give way to complete ones.

Real Binance traffic: a truncated recording is replayed first, then the whole one,
then Binance's own 1m klines are imported; each time the complete rows must win.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import feather

from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog, as_float, as_int
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.resample import resample
from tradefabric.store.schema import CandleSeries

from .factories import MIDNIGHT
from .test_versions_and_dedupe import candles

RECORDING = "binance_ws/spot_btcusdt_20240808.gz"
KLINES = "candles_1m/binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
PARTIAL = int(CandleFlag.PARTIAL)
MIN = 60 * 10**9


def _cli(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _minutes(root: Path) -> dict[int, tuple[float | int, ...]]:
    """Return the stored 1m candles: ts_open -> (open, high, low, close, volume, flags)."""
    rows = (
        Catalog(root)
        .query(
            "SELECT ts_open, open, high, low, close, volume, flags FROM candles "
            "WHERE interval = '1m' ORDER BY ts_open"
        )
        .rows
    )
    return {
        as_int(r[0]): (*(as_float(v) for v in r[1:5]), as_float(r[5]), as_int(r[6])) for r in rows
    }


def _truncate(source: Path, target: Path, lines: int) -> None:
    with gzip.open(source, "rt") as src, gzip.open(target, "wt") as dst:
        for _, line in zip(range(lines), src, strict=False):
            dst.write(line)


@pytest.mark.slow
def test_complete_replay_and_venue_klines_replace_partial_candles(
    shared_data: Path, tmp_path: Path
) -> None:
    root = tmp_path / "catalog"
    truncated = tmp_path / "truncated.gz"
    _truncate(shared_data / RECORDING, truncated, 20_000)

    replay = ["data", "replay", "--intervals", "1m", "--catalog", str(root)]
    _cli(*replay[:2], str(truncated), *replay[2:])
    cut = _minutes(root)
    # The truncated file stops inside a minute: its last candle holds part of the trades.
    last_cut = max(cut)
    assert cut[min(cut)][5] == PARTIAL and cut[last_cut][5] == PARTIAL
    assert all(v[5] == 0 for ts, v in cut.items() if ts not in (min(cut), last_cut))

    _cli(*replay[:2], str(shared_data / RECORDING), *replay[2:])
    full = _minutes(root)
    # The whole recording saw that minute to its end: its complete candle replaced the cut one.
    assert full[last_cut][5] == 0
    assert full[last_cut][4] > cut[last_cut][4]  # more volume: the trades the cut file missed
    assert full[min(full)][5] == PARTIAL  # the recording itself starts inside a minute
    assert full[max(full)][5] == PARTIAL  # ... and ends inside one

    _cli("data", "import", str(shared_data / KLINES), "--format", "freqtrade",
         "--venue", "binance", "--catalog", str(root))  # fmt: skip
    klines = feather.read_table(shared_data / KLINES)
    starts = klines["date"].cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_pylist()
    index = {ts: i for i, ts in enumerate(starts)}
    stored = _minutes(root)
    for ts_open in (min(full), max(full)):
        i = index[ts_open]
        venue_row = tuple(float(klines[c][i].as_py()) for c in ("open", "high", "low", "close"))
        # Binance's own kline replaced each partial edge candle.
        assert stored[ts_open][:4] == venue_row
        assert stored[ts_open][5] == 0
    # Complete candles built from trades stay: a kline of equal rank is a duplicate.
    middle = [ts for ts in full if ts not in (min(full), max(full))]
    assert [stored[ts] for ts in middle] == [full[ts] for ts in middle]
    assert not [ts for ts, v in stored.items() if int(v[5]) & PARTIAL]


def test_resampling_flags_edge_hours_that_the_source_covers_in_part(tmp_path: Path) -> None:
    # 1m candles from 00:17 to 02:29: hour 0 lacks 17 minutes, hour 2 lacks 30.
    base = MIDNIGHT
    writer = CatalogWriter(tmp_path)
    writer.write_table("candles", candles(17, 133), source="test")
    series = CandleSeries("binance", "BTC/USDT", "1m")
    hours = resample(Catalog(tmp_path), series, "1h")
    flags = dict(zip(hours["ts_open"].to_pylist(), hours["flags"].to_pylist(), strict=True))
    hour = 60 * MIN
    assert flags == {base: PARTIAL, base + hour: 0, base + 2 * hour: PARTIAL}

    # Written back, a complete 00:00 hour (from a full hour of 1m data) replaces the partial one.
    writer.write_table("candles", hours, source="resample", operation="resample")
    writer.write_table("candles", candles(0, 17), source="test")
    again = resample(Catalog(tmp_path), series, "1h")
    writer.write_table("candles", again, source="resample", operation="resample")
    stored = Catalog(tmp_path).query(
        "SELECT ts_open, flags FROM candles WHERE interval = '1h' ORDER BY ts_open"
    )
    assert stored.rows == ((base, 0), (base + hour, 0), (base + 2 * hour, PARTIAL))
