"""data gaps --repair: real candles downloaded from the (fake) venue where it has them,
flagged interpolation for the rest; the CLI as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

from tests.conftest import report_figure
from tests.store.download.conftest import ServedVenue
from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers import import_path

DAY = "2024-08-08"


def _catalog_with_holes(shared_data: Path, root: Path) -> tuple[pa.Table, pa.Table]:
    """Store one real day of BTC/USDT and ETH/USDT 1m candles, minus two holes; return both."""
    full = root.parent / "full"
    import_path(shared_data / "candles_1m", "freqtrade", CatalogWriter(full), venue="binance")
    con = Catalog(full).connect()
    day = con.sql(
        f"SELECT * FROM candles WHERE ts_open >= epoch_ns(TIMESTAMP '{DAY}') "
        f"AND ts_open < epoch_ns(TIMESTAMP '{DAY}' + INTERVAL 1 DAY) ORDER BY symbol, ts_open"
    ).to_arrow_table()
    con.close()
    btc = day.filter(pa.compute.equal(day["symbol"], "BTC/USDT"))
    eth = day.filter(pa.compute.equal(day["symbol"], "ETH/USDT"))
    holes = pa.concat_tables([btc.slice(300, 25), btc.slice(900, 5)])
    kept = pa.concat_tables([btc.slice(0, 300), btc.slice(325, 575), btc.slice(905), eth])
    CatalogWriter(root).write_table("candles", kept, "test", "import")
    return holes, eth


def _gaps(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradefabric", "data", "gaps", "--catalog", str(root),
         "--interval", "1m", "--json", *extra],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_download_repair_restores_the_real_candles(
    shared_data: Path, tmp_path: Path, venue: ServedVenue
) -> None:
    root = tmp_path / "catalog"
    holes, _ = _catalog_with_holes(shared_data, root)
    before = _gaps(root)
    assert before.returncode == 1 and json.loads(before.stdout)["missing_candles"] == 30

    repaired = _gaps(root, "--repair", "download", "--exchange-url", venue.url)
    assert repaired.returncode == 0, repaired.stderr
    report = json.loads(repaired.stdout)
    assert report["missing_candles"] == 0 and report["repair"]["downloaded"] == 30
    assert report["repair"]["interpolated"] == 0 and report["repair"]["failures"] == []
    columns = "ts_open, open, high, low, close, volume, flags"
    holes_ts = ", ".join(str(t) for t in holes["ts_open"].to_pylist())
    restored = (
        Catalog(root)
        .query(
            f"SELECT {columns} FROM candles WHERE symbol = 'BTC/USDT' AND ts_open IN ({holes_ts}) "
            "ORDER BY ts_open"
        )
        .rows
    )
    assert restored == tuple(
        tuple(r.values()) for r in holes.select(columns.split(", ")).to_pylist()
    )
    report_figure(
        f"gap repair by download ({DAY}, fake Binance serving the real candles): 30 missing "
        f"BTC/USDT minutes in 2 gaps restored, equal to the originals, flags 0"
    )


def test_auto_repair_interpolates_what_the_venue_cannot_serve(
    shared_data: Path, tmp_path: Path, venue: ServedVenue
) -> None:
    root = tmp_path / "catalog"
    _, eth = _catalog_with_holes(shared_data, root)
    # The same day on a venue the downloader does not serve: only interpolation can fill it.
    other = eth.set_column(0, "venue", pa.array(["cryptocom"] * eth.num_rows))
    CatalogWriter(root).write_table(
        "candles", pa.concat_tables([other.slice(0, 60), other.slice(70)]), "test"
    )
    auto = _gaps(root, "--repair", "auto", "--exchange-url", venue.url)
    assert auto.returncode == 0, auto.stderr
    report = json.loads(auto.stdout)
    assert report["missing_candles"] == 0
    assert report["repair"]["downloaded"] == 30 and report["repair"]["interpolated"] == 10
    assert any(f.startswith("cryptocom:") for f in report["repair"]["failures"])
    interpolated = int(CandleFlag.INTERPOLATED)
    flagged = (
        Catalog(root)
        .query(
            f"SELECT venue, count(*) FROM candles WHERE (flags & {interpolated}) <> 0 "
            "GROUP BY venue"
        )
        .rows
    )
    assert flagged == (("cryptocom", 10),)
