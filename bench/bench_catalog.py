"""Catalog write throughput and resampling query time, next to plain pyarrow/DuckDB in the same run.

Run from the repository root:

    .venv/bin/python bench/bench_catalog.py [--days 365] [--repeat 3] [--keep DIR] [--json]

It builds one year (``--days``) of 1s candles shaped by the real month of
Binance BTC/USDT 1m candles (``../shared/data/candles_1m``): each real minute
becomes 60 seconds on a path from its open to its close inside its high/low,
its volume split at random over the seconds; the month is tiled with price
continuity to fill the year (86,400 rows a day; 31.5M rows for 365 days).

Printed, each in the same run:

- writes: ``CatalogWriter.write_table`` one day at a time (dedupe against the
  stored keys, atomic file, manifest commit) in rows/s, next to the floor of
  ``pyarrow.parquet.ParquetWriter`` appending the same tables to one plain file;
- query: resampling the year of 1s candles to 1h through ``Catalog`` (the view
  over the manifest's 365 files, ``store/resample.py``'s SQL), next to DuckDB
  running the same SQL over the one plain Parquet file; best of ``--repeat``.
  Target: our time within 1.5x of DuckDB's own.

Both files use zstd, so the ratio measures the catalog's overhead, not the codec.
Exit code 1 if the two query results differ.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import feather

from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.resample import resample_sql
from tradefabric.store.schema import CandleSeries, arrow_schema
from tradefabric.store.table_commit import conform

REPO = Path(__file__).resolve().parents[1]
REAL_MINUTES = REPO.parent / "shared" / "data" / "candles_1m"
SECOND_NS = 1_000_000_000
DAY_MINUTES = 1440
SERIES = CandleSeries("binance", "BTC/USDT", "1s")


def real_minutes() -> dict[str, np.ndarray]:
    path = next(REAL_MINUTES.glob("binance_BTC_USDT-1m_*.feather"))
    table = feather.read_table(path)
    return {
        c: table[c].to_numpy().astype(np.float64)
        for c in ("open", "high", "low", "close", "volume")
    }


def second_candles(minutes: dict[str, np.ndarray], day: int, rng: np.random.Generator) -> pa.Table:
    """Return day ``day``'s 86,400 1s candles shaped by real minutes (tiled with continuity)."""
    total = len(minutes["open"])
    index = (np.arange(DAY_MINUTES) + day * DAY_MINUTES) % total
    # Each pass over the real month continues from where the previous one ended.
    passes = (day * DAY_MINUTES + np.arange(DAY_MINUTES)) // total
    drift = (minutes["close"][-1] / minutes["open"][0]) ** passes
    o, h, low, c = (minutes[k][index] * drift for k in ("open", "high", "low", "close"))
    steps = np.linspace(0.0, 1.0, 61)[None, :]
    noise = rng.normal(0.0, 0.25, (DAY_MINUTES, 61)) * (h - low)[:, None]
    noise[:, 0] = noise[:, -1] = 0.0
    path = np.clip(o[:, None] + (c - o)[:, None] * steps + noise, low[:, None], h[:, None])
    path = np.round(path, 2)
    opens, closes = path[:, :-1], path[:, 1:]
    highs = np.minimum(np.maximum(opens, closes) + 0.01, h[:, None])
    lows = np.maximum(np.minimum(opens, closes) - 0.01, low[:, None])
    weights = rng.exponential(1.0, (DAY_MINUTES, 60))
    volume = np.round(
        weights / weights.sum(axis=1, keepdims=True) * minutes["volume"][index][:, None], 5
    )
    n = DAY_MINUTES * 60
    ts_open = (np.arange(n, dtype=np.int64) + day * n) * SECOND_NS + 1_704_067_200 * SECOND_NS
    return pa.table(
        {
            "venue": pa.array(["binance"] * n),
            "symbol": pa.array(["BTC/USDT"] * n),
            "interval": pa.array(["1s"] * n),
            "ts_open": ts_open,
            "open": opens.ravel(),
            "high": highs.ravel(),
            "low": lows.ravel(),
            "close": closes.ravel(),
            "volume": volume.ravel(),
            "trades": np.full(n, -1, dtype=np.int64),
            "buy_volume": np.round(volume.ravel() * 0.5, 6),
            "vwap": np.round((opens + closes).ravel() / 2, 3),
            "ts_event": ts_open + SECOND_NS,
        }
    )


def write_both(days: int, root: Path, plain: Path) -> tuple[float, float, int]:
    minutes = real_minutes()
    rng = np.random.default_rng(7)
    writer = CatalogWriter(root)
    schema = arrow_schema("candles")
    ours = floor = 0.0
    rows = 0
    with pq.ParquetWriter(plain, schema, compression="zstd") as plain_writer:
        for day in range(days):
            table = second_candles(minutes, day, rng)
            start = time.perf_counter()
            report = writer.write_table("candles", table, source="bench")
            ours += time.perf_counter() - start
            full = conform("candles", table)  # the same columns the catalog stores, untimed
            start = time.perf_counter()
            plain_writer.write_table(full)
            floor += time.perf_counter() - start
            rows += report.rows_added
            if day % 30 == 29:
                print(f"  wrote {day + 1} days ({rows:,} rows)", file=sys.stderr)
    return ours, floor, rows


def best_of(repeat: int, run: object) -> tuple[float, list[tuple[object, ...]]]:
    best = float("inf")
    result: list[tuple[object, ...]] = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Build the data here and keep it.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_catalog_"))
    root, plain = work / "catalog", work / "plain.parquet"
    try:
        ours_s, floor_s, rows = write_both(args.days, root, plain)
        sql = resample_sql(SERIES, "1h")
        catalog = Catalog(root)

        def through_catalog() -> list[tuple[object, ...]]:
            con = catalog.connect()
            try:
                return con.execute(sql).fetchall()
            finally:
                con.close()

        plain_sql = sql.replace("FROM candles", f"FROM read_parquet('{plain}')")

        def plain_duckdb() -> list[tuple[object, ...]]:
            con = duckdb.connect()
            try:
                return con.execute(plain_sql).fetchall()
            finally:
                con.close()

        ours_q, ours_rows = best_of(args.repeat, through_catalog)
        duck_q, duck_rows = best_of(args.repeat, plain_duckdb)
        same = _same(ours_rows, duck_rows)
        result = {
            "rows": rows,
            "days": args.days,
            "catalog_files": len(catalog.files()),
            "write_rows_per_s": rows / ours_s,
            "plain_parquet_write_rows_per_s": rows / floor_s,
            "resample_1s_to_1h_s": ours_q,
            "duckdb_plain_parquet_s": duck_q,
            "overhead_ratio": ours_q / duck_q,
            "target_ratio": 1.5,
            "hours": len(ours_rows),
            "results_equal": same,
        }
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    else:
        _print(result)
    return 0 if same else 1


def _same(a: list[tuple[object, ...]], b: list[tuple[object, ...]]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for u, v in zip(x, y, strict=True):
            if isinstance(u, float) and isinstance(v, float):
                both_nan = math.isnan(u) and math.isnan(v)
                if not (both_nan or math.isclose(u, v, rel_tol=1e-9)):
                    return False
            elif u != v:
                return False
    return True


def _print(r: dict[str, object]) -> None:
    print(
        f"1s candles: {r['rows']:,} rows over {r['days']} days "
        f"in {r['catalog_files']} catalog files"
    )
    print(
        f"write: catalog {r['write_rows_per_s']:,.0f} rows/s "
        f"(dedupe + atomic file + manifest commit per day) | "
        f"floor: plain ParquetWriter {r['plain_parquet_write_rows_per_s']:,.0f} rows/s"
    )
    verdict = "PASS" if float(str(r["overhead_ratio"])) <= 1.5 else "FAIL"
    print(
        f"resample 1s->1h ({r['hours']} hours): catalog {r['resample_1s_to_1h_s']:.3f} s | "
        f"DuckDB on one plain Parquet file {r['duckdb_plain_parquet_s']:.3f} s | "
        f"ratio {r['overhead_ratio']:.2f}x (target <= 1.5x) {verdict}; "
        f"results equal: {r['results_equal']}"
    )


if __name__ == "__main__":
    sys.exit(main())
