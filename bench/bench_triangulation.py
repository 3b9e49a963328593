"""Triangulation throughput (batch) and added latency per update (streaming), with floors.

Run from the repository root:

    .venv/bin/python bench/bench_triangulation.py [--keep DIR]

It imports the real six-venue March 2023 window (``../shared/data/
multi_exchange_1m_2023-03``, 21 days, 14 series) into a temporary catalog, then
prints, in the same run:

- batch: ``triangulate_catalog`` over the three weeks, in venue-minutes
  (candles) per second, next to two floors over the same candles: reading them
  from the catalog into ``Candle`` structs alone, and a bare numpy
  ``nanmedian`` across venues of the (minute x series) close matrix (the
  cheapest possible "consensus");
- streaming: the time ``Triangulator.on_candle`` adds per update on the bus,
  p50/p99/max in microseconds, measured per call over the same three weeks (a
  call that closes a bucket pays that bucket's whole judgement), next to a bus
  publish to a handler that does nothing.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from tradefabric.core.bus import MessageBus
from tradefabric.data.topics import CANDLES
from tradefabric.integrity.batch import Selection, candle_symbols, iter_candles, triangulate_catalog
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.triangulator import Triangulator
from tradefabric.model.data import Candle
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers import import_path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "multi_exchange_1m_2023-03"


def _load(root: Path) -> list[Candle]:
    catalog = Catalog(root)
    selection = Selection("BTC")
    symbols = candle_symbols(catalog, selection, IntegrityConfig())
    return [c for batch in iter_candles(catalog, selection, symbols) for c in batch]


def _numpy_floor(candles: list[Candle]) -> float:
    series = sorted({(c.venue, c.symbol) for c in candles})
    index = {k: i for i, k in enumerate(series)}
    t0 = candles[0].ts_open
    minutes = (candles[-1].ts_open - t0) // 60_000_000_000 + 1
    matrix = np.full((minutes, len(series)), np.nan)
    for c in candles:
        matrix[(c.ts_open - t0) // 60_000_000_000, index[(c.venue, c.symbol)]] = c.close
    start = time.perf_counter()
    np.nanmedian(matrix, axis=1)
    return time.perf_counter() - start


def _streaming(candles: list[Candle]) -> np.ndarray:
    bus = MessageBus()
    triangulator = Triangulator(bus)
    triangulator.attach()
    times = np.empty(len(candles))
    clock = time.perf_counter_ns
    for i, candle in enumerate(candles):
        start = clock()
        bus.publish(CANDLES, candle)
        times[i] = clock() - start
    triangulator.finish()
    return times / 1000.0


def _bare_bus(candles: list[Candle]) -> np.ndarray:
    bus = MessageBus()
    bus.subscribe(CANDLES, lambda _c: None)
    times = np.empty(len(candles))
    clock = time.perf_counter_ns
    for i, candle in enumerate(candles):
        start = clock()
        bus.publish(CANDLES, candle)
        times[i] = clock() - start
    return times / 1000.0


def main() -> None:
    """Import, run the batch and streaming paths, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the catalog in this directory.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-tri-"))
    root = args.keep or work / "catalog"
    try:
        if not (root / "candles").exists():
            import_path(DATA, "multi-exchange", CatalogWriter(root, source="bench"))
        start = time.perf_counter()
        candles = _load(root)
        read_s = time.perf_counter() - start
        start = time.perf_counter()
        result = triangulate_catalog(root, Selection("BTC"))
        batch_s = time.perf_counter() - start
        floor_s = _numpy_floor(candles)
        n = result.candles
        print(f"batch: {n:,} venue-minutes (14 series x 21 days) in {batch_s:.2f} s")
        print(f"  triangulate_catalog        {n / batch_s:>14,.0f} venue-minutes/s")
        print(f"  floor: catalog -> Candle   {n / read_s:>14,.0f} venue-minutes/s")
        print(f"  floor: numpy nanmedian     {n / floor_s:>14,.0f} venue-minutes/s")
        stream = _streaming(candles)
        bare = _bare_bus(candles)
        print("streaming: Triangulator.on_candle via the bus, per update (us)")
        for name, values in (("triangulator", stream), ("bare bus publish", bare)):
            p50, p99 = np.percentile(values, [50, 99])
            print(f"  {name:18s} p50 {p50:8.2f}  p99 {p99:8.2f}  max {values.max():10.1f}")
        closing = stream[np.argsort(stream)[-len(result.consensus_ts) :]]
        print(
            f"  slowest 1 update per minute (the bucket closes): median {np.median(closing):.0f} us"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
