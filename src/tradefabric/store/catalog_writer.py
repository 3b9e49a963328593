"""Write trades, quotes and candles into the Parquet catalog: from the bus, or as whole tables.

Layout: ``<root>/<type>/venue=<venue>/symbol=<symbol>/date=YYYY-MM-DD/part-<ts>-<rand>.parquet``
where ``<type>`` is ``trades``, ``quotes`` or ``candles``, the date is the UTC
date of ``ts_event`` (``ts_open`` for candles) and ``<ts>`` is the earliest
such timestamp in the file, zero-padded so names sort in time order. Which
files belong to the catalog is decided by its manifest (``store/manifest.py``),
not by the directory listing.

Rows from the bus are buffered column-wise in plain lists per partition: the
bus handler only appends, and pyarrow is touched once per file, not once per
message. Every write, buffered or ``write_table``, goes through the one
deduplicating commit path in ``store/table_commit.py``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_DAY
from tradefabric.data.topics import (
    CANDLES,
    LIQUIDATIONS,
    MARK_PRICES,
    OPEN_INTEREST,
    QUOTES,
    TRADES,
    TRADES_BACKFILLED,
)
from tradefabric.model.data import Candle, Liquidation, MarkPrice, OpenInterest, Quote, Trade
from tradefabric.store.schema import DATA_TYPES, DataType, RowCounts, arrow_schema
from tradefabric.store.storage import open_storage
from tradefabric.store.table_commit import TableCommitter, WriteReport

__all__ = ["CatalogWriter", "WriteReport"]

log = structlog.get_logger(__name__)

_PartitionKey = tuple[str, str, int]
"""(venue, symbol, UTC day number since the epoch)."""

_SCHEMAS: Final = {data_type: arrow_schema(data_type) for data_type in DATA_TYPES}


class _Buffer:
    """The not-yet-written rows of one partition, one list per buffered column.

    venue and symbol are constant within a partition, so they are not buffered
    per row; every table's schema starts with them (checked by the tests).
    """

    __slots__ = ("columns", "day", "symbol", "venue")

    def __init__(self, venue: str, symbol: str, day: int, width: int) -> None:
        self.venue = venue
        self.symbol = symbol
        self.day = day
        self.columns: list[list[object]] = [[] for _ in range(width)]

    def to_table(self, data_type: DataType) -> pa.Table:
        rows = len(self.columns[0])
        schema = _SCHEMAS[data_type]
        arrays = [
            pa.array([self.venue] * rows, pa.string()),
            pa.array([self.symbol] * rows, pa.string()),
        ]
        arrays += [
            pa.array(values, schema.field(i + 2).type) for i, values in enumerate(self.columns)
        ]
        return pa.Table.from_arrays(arrays, schema=schema)


class CatalogWriter:
    """Write to the Parquet catalog at ``root`` (a directory or an fsspec URL such as ``s3://``).

    With a ``bus``, subscribe to TRADES, QUOTES and CANDLES: a partition's rows
    are committed when ``flush_rows`` of them are buffered, and on ``flush()``
    or ``close()``. The write happens inside the bus handler that crossed the
    threshold, so it blocks the publisher for the duration of one file write.
    ``write_table`` commits a whole table at once (importers, downloads).
    Rows whose natural key is already stored are dropped and counted.
    """

    def __init__(
        self,
        root: Path | str,
        bus: MessageBus | None = None,
        flush_rows: int = 100_000,
        source: str = "feed",
        storage_options: dict[str, Any] | None = None,
        *,
        background: bool = False,
    ) -> None:
        """Write under ``root``; with ``background`` full buffers are committed by a writer
        thread (a live feed: the bus handler never waits on Parquet or S3) through a
        bounded queue, which makes the handler wait only when the writer falls behind."""
        if flush_rows < 1:
            raise ConfigError(f"flush_rows must be at least 1, got {flush_rows}")
        self._storage = open_storage(root, storage_options)
        self._committer = TableCommitter(self._storage)
        self._bus = bus
        self._source = source
        self._flush_rows = flush_rows
        self._buffers: dict[DataType, dict[_PartitionKey, _Buffer]] = {t: {} for t in DATA_TYPES}
        self._rows_written = dict.fromkeys(DATA_TYPES, 0)
        self._duplicates = dict.fromkeys(DATA_TYPES, 0)
        self._files_written = 0
        self._closed = False
        self._writer = _BackgroundWriter(self._commit) if background else None
        if bus is not None:
            bus.subscribe(TRADES, self._on_trade)
            bus.subscribe(TRADES_BACKFILLED, self._on_trade)
            bus.subscribe(QUOTES, self._on_quote)
            bus.subscribe(CANDLES, self._on_candle)
            bus.subscribe(LIQUIDATIONS, self._on_liquidation)
            bus.subscribe(OPEN_INTEREST, self._on_open_interest)
            bus.subscribe(MARK_PRICES, self._on_mark_price)

    @property
    def root(self) -> str:
        """Return the catalog root as given (path or URL)."""
        return self._storage.root_url

    @property
    def files_written(self) -> int:
        """Return how many Parquet files this writer has written."""
        return self._files_written

    def rows_written(self) -> RowCounts:
        """Return how many new rows of each type have been committed."""
        return RowCounts(**self._rows_written)

    def duplicates_dropped(self) -> RowCounts:
        """Return how many rows of each type were dropped because their key was stored."""
        return RowCounts(**self._duplicates)

    def buffered_rows(self) -> RowCounts:
        """Return how many rows of each type are buffered and not yet written."""
        counts = {
            data_type: sum(len(buf.columns[0]) for buf in buffers.values())
            for data_type, buffers in self._buffers.items()
        }
        return RowCounts(**counts)

    def write_table(
        self, data_type: DataType, table: pa.Table, source: str, operation: str = "import"
    ) -> WriteReport:
        """Commit ``table`` (catalog columns; optional ones may be missing) as one version.

        Rows whose natural key is stored are dropped and counted; a candle with a
        higher revision, or real data for an interpolated candle, replaces the stored one.
        """
        report = self._committer.commit_table(data_type, table, source, operation)
        self._rows_written[data_type] += report.rows_added
        self._duplicates[data_type] += report.duplicates
        self._files_written += report.files
        return report

    @property
    def writer_waits(self) -> int:
        """Return how often a bus handler waited for the background writer (queue full)."""
        return self._writer.waits if self._writer is not None else 0

    def flush(self) -> None:
        """Commit every buffered row: one version per table type with buffered rows.

        With a background writer, wait until it has committed everything; a commit
        that failed there is raised here (its rows are kept and tried again).
        """
        for data_type, buffers in self._buffers.items():
            if buffers:
                self._flush_partitions(data_type, list(buffers))
        if self._writer is not None:
            self._writer.drain()

    def close(self) -> None:
        """Flush and stop listening to the bus; calling it again does nothing."""
        if self._closed:
            return
        if self._bus is not None:
            self._bus.unsubscribe(TRADES, self._on_trade)
            self._bus.unsubscribe(TRADES_BACKFILLED, self._on_trade)
            self._bus.unsubscribe(QUOTES, self._on_quote)
            self._bus.unsubscribe(CANDLES, self._on_candle)
            self._bus.unsubscribe(LIQUIDATIONS, self._on_liquidation)
            self._bus.unsubscribe(OPEN_INTEREST, self._on_open_interest)
            self._bus.unsubscribe(MARK_PRICES, self._on_mark_price)
        self._closed = True
        try:
            self.flush()
        finally:
            if self._writer is not None:
                self._writer.stop()

    def __enter__(self) -> CatalogWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- bus handlers: append only, no allocation beyond the list growth ---

    def _on_trade(self, trade: Trade) -> None:
        key = (trade.venue, trade.symbol, trade.ts_event // NS_PER_DAY)
        buffers = self._buffers["trades"]
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = _Buffer(trade.venue, trade.symbol, key[2], 6)
        c = buf.columns
        c[0].append(trade.ts_event)
        c[1].append(trade.ts_recv)
        c[2].append(trade.price)
        c[3].append(trade.size)
        c[4].append(trade.side)
        c[5].append(trade.trade_id)
        if len(c[0]) >= self._flush_rows:
            self._flush_partition("trades", key)

    def _on_quote(self, quote: Quote) -> None:
        key = (quote.venue, quote.symbol, quote.ts_event // NS_PER_DAY)
        buffers = self._buffers["quotes"]
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = _Buffer(quote.venue, quote.symbol, key[2], 6)
        c = buf.columns
        c[0].append(quote.ts_event)
        c[1].append(quote.ts_recv)
        c[2].append(quote.bid)
        c[3].append(quote.bid_size)
        c[4].append(quote.ask)
        c[5].append(quote.ask_size)
        if len(c[0]) >= self._flush_rows:
            self._flush_partition("quotes", key)

    def _on_candle(self, candle: Candle) -> None:
        key = (candle.venue, candle.symbol, candle.ts_open // NS_PER_DAY)
        buffers = self._buffers["candles"]
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = _Buffer(candle.venue, candle.symbol, key[2], 14)
        c = buf.columns
        c[0].append(candle.interval)
        c[1].append(candle.ts_open)
        c[2].append(candle.open)
        c[3].append(candle.high)
        c[4].append(candle.low)
        c[5].append(candle.close)
        c[6].append(candle.volume)
        c[7].append(candle.trades)
        c[8].append(candle.buy_volume)
        c[9].append(candle.vwap)
        c[10].append(candle.ts_event)
        c[11].append(candle.ts_recv)
        c[12].append(candle.revision)
        c[13].append(candle.flags)
        if len(c[0]) >= self._flush_rows:
            self._flush_partition("candles", key)

    # Derivatives events are rare (per second at most): one generic path serves them,
    # taking the struct's fields after venue and symbol in the table's column order.

    def _on_liquidation(self, event: Liquidation) -> None:
        self._on_event("liquidations", event)

    def _on_open_interest(self, event: OpenInterest) -> None:
        self._on_event("open_interest", event)

    def _on_mark_price(self, event: MarkPrice) -> None:
        self._on_event("mark_prices", event)

    def _on_event(self, data_type: DataType, event: Liquidation | OpenInterest | MarkPrice) -> None:
        key = (event.venue, event.symbol, event.ts_event // NS_PER_DAY)
        buffers = self._buffers[data_type]
        values = msgspec.structs.astuple(event)[2:]
        buf = buffers.get(key)
        if buf is None:
            buf = buffers[key] = _Buffer(event.venue, event.symbol, key[2], len(values))
        for column, value in zip(buf.columns, values, strict=True):
            column.append(value)
        if len(buf.columns[0]) >= self._flush_rows:
            self._flush_partition(data_type, key)

    # --- committing buffers ---

    def _commit(self, data_type: DataType, table: pa.Table) -> None:
        self.write_table(data_type, table, self._source, "append")

    def _flush_partition(self, data_type: DataType, key: _PartitionKey) -> None:
        self._flush_partitions(data_type, [key])

    def _flush_partitions(self, data_type: DataType, keys: list[_PartitionKey]) -> None:
        buffers = self._buffers[data_type]
        tables = [buffers[key].to_table(data_type) for key in keys]
        if self._writer is not None:
            # The rows leave the handler now; the writer keeps them until committed.
            for key in keys:
                del buffers[key]
            self._writer.submit(data_type, pa.concat_tables(tables))
            return
        self._commit(data_type, pa.concat_tables(tables))
        # Dropped only after a successful commit, so a failed write can be retried by flush().
        for key in keys:
            del buffers[key]


class _BackgroundWriter:
    """One thread committing tables from a bounded queue, in submission order."""

    def __init__(self, commit: Callable[[DataType, pa.Table], None], depth: int = 4) -> None:
        self._commit = commit
        self._queue: queue.Queue[tuple[DataType, pa.Table] | None] = queue.Queue(depth)
        self._failed: list[tuple[DataType, pa.Table]] = []
        self._error: BaseException | None = None
        self.waits = 0
        self._thread = threading.Thread(target=self._run, name="catalog-writer", daemon=True)
        self._thread.start()

    def submit(self, data_type: DataType, table: pa.Table) -> None:
        """Queue one table; wait (counted) while the queue is full."""
        item = (data_type, table)
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.waits += 1
            self._queue.put(item)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                try:
                    self._commit(*item)
                except Exception as exc:  # kept, raised by the next drain(): never lost
                    self._failed.append(item)
                    self._error = exc
                    log.error("catalog_write_failed", data_type=item[0], error=str(exc))
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        """Wait until everything queued is committed; retry and raise earlier failures."""
        self._queue.join()
        failed, self._failed = self._failed, []
        error, self._error = self._error, None
        for item in failed:
            self._commit(*item)  # in this thread: a second failure propagates to the caller
        if error is not None and failed:
            log.info("catalog_write_retried", tables=len(failed), first_error=str(error))

    def stop(self) -> None:
        """Let the thread finish what is queued and end."""
        self._queue.put(None)
        self._thread.join()
