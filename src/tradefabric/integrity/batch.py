"""The batch path: the catalog's candles, in time order, through the same ``Triangulator``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import DataSourceError
from tradefabric.core.time import ns_to_iso
from tradefabric.integrity.collector import Collector, TriangulationResult
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.quotes import split_symbol
from tradefabric.integrity.triangulator import Triangulator
from tradefabric.model.data import Candle
from tradefabric.store.candle_reader import count_candles as count_stored_candles
from tradefabric.store.candle_reader import read_candles
from tradefabric.store.catalog import Catalog, sql_string, time_range_sql


class Selection(msgspec.Struct, frozen=True):
    """Which candles to check: an asset's series plus every conversion pair, in a time range."""

    asset: str
    interval: str = "1m"
    ts_from: int | None = None
    ts_to: int | None = None
    """Exclusive end, ns."""


def candle_symbols(catalog: Catalog, selection: Selection, config: IntegrityConfig) -> list[str]:
    """Return the stored symbols the selection needs: the asset's and the conversion pairs."""
    result = catalog.query(
        "SELECT DISTINCT symbol FROM candles WHERE interval = "
        f"{sql_string(selection.interval)} ORDER BY symbol"
    )
    currencies = set(config.quote_currencies)
    wanted = []
    for (symbol,) in result.rows:
        pair = split_symbol(str(symbol))
        rate_pair = pair.base in currencies and pair.quote in currencies
        if pair.base == selection.asset or rate_pair:
            wanted.append(str(symbol))
    if not any(split_symbol(s).base == selection.asset for s in wanted):
        raise DataSourceError(
            f"no {selection.interval} candles of {selection.asset} in the catalog at {catalog.root}"
        )
    return wanted


def iter_candles(
    catalog: Catalog, selection: Selection, symbols: list[str]
) -> Iterator[list[Candle]]:
    """Yield the selected candles in (open time, venue, symbol) order, in batches."""
    return read_candles(catalog, _where(selection, symbols), "ts_open, venue, symbol")


def count_candles(catalog: Catalog, selection: Selection, symbols: list[str]) -> int:
    """Return how many candles the selection holds (for a progress bar)."""
    return count_stored_candles(catalog, _where(selection, symbols))


def _where(selection: Selection, symbols: list[str]) -> str:
    return " AND ".join(
        (
            f"interval = {sql_string(selection.interval)}",
            "symbol IN (" + ", ".join(sql_string(s) for s in symbols) + ")",
            time_range_sql("ts_open", selection.ts_from, selection.ts_to),
        )
    )


def triangulate_catalog(
    root: Path | str,
    selection: Selection,
    config: IntegrityConfig | None = None,
    progress: Callable[[int], None] | None = None,
) -> TriangulationResult:
    """Run the catalog's candles through a Triangulator; return everything it published."""
    config = config or IntegrityConfig()
    catalog = Catalog(root)
    symbols = candle_symbols(catalog, selection, config)
    bus = MessageBus()
    collector = Collector(bus, selection.asset)
    triangulator = Triangulator(bus, config)
    done = 0
    for batch in iter_candles(catalog, selection, symbols):
        for candle in batch:
            triangulator.on_candle(candle)
        done += len(batch)
        if progress is not None:
            progress(done)
    triangulator.finish()
    return collector.result(done, triangulator.late_candles)


def describe_range(result: TriangulationResult) -> str:
    """Return the time range of a result as ISO text."""
    if not result.consensus_ts:
        return "no data"
    return f"{ns_to_iso(result.consensus_ts[0])} .. {ns_to_iso(result.consensus_ts[-1])}"


__all__ = [
    "Selection",
    "candle_symbols",
    "count_candles",
    "describe_range",
    "iter_candles",
    "triangulate_catalog",
]
