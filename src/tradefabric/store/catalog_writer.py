"""Persist trades, quotes and candles from the bus into a partitioned Parquet catalog.

Layout: ``<root>/<type>/venue=<venue>/symbol=<symbol>/date=YYYY-MM-DD/part-<ts>-<rand>.parquet``
where ``<type>`` is ``trades``, ``quotes`` or ``candles``, the date is the UTC
date of ``ts_event`` (``ts_open`` for candles) and ``<ts>`` is the earliest
such timestamp in the file, zero-padded so names sort in time order.

Rows are buffered column-wise in plain lists per partition: the bus handler
only appends, and pyarrow is touched once per file, not once per message.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Final, cast

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.parquet as pq

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import NS_PER_DAY, ns_to_date
from tradefabric.data.topics import CANDLES, QUOTES, TRADES, TRADES_BACKFILLED
from tradefabric.model.data import Candle, Quote, Trade
from tradefabric.store.schema import COLUMNS, DATA_TYPES, DataType, RowCounts, symbol_dir_name

_PartitionKey = tuple[str, str, int]
"""(venue, symbol, UTC day number since the epoch)."""

_ARROW_TYPES: Final = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}

_SCHEMAS: Final = {
    data_type: pa.schema([pa.field(c.name, _ARROW_TYPES[c.kind]) for c in cols])
    for data_type, cols in COLUMNS.items()
}

# Index (within the buffered columns, i.e. after venue and symbol) of the
# timestamp that decides the partition date and the file name.
_TIME_COLUMN: Final[dict[DataType, int]] = {"trades": 0, "quotes": 0, "candles": 1}


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


class CatalogWriter:
    """Subscribe to TRADES, QUOTES and CANDLES and write them to a Parquet catalog under ``root``.

    A partition's rows are written as one file when ``flush_rows`` of them are
    buffered, and on ``flush()`` or ``close()``. The write happens inside the
    bus handler that crossed the threshold, so it blocks the publisher for the
    duration of one file write.
    """

    def __init__(self, root: Path, bus: MessageBus, flush_rows: int = 100_000) -> None:
        if flush_rows < 1:
            raise ConfigError(f"flush_rows must be at least 1, got {flush_rows}")
        self._root = Path(root)
        self._bus = bus
        self._flush_rows = flush_rows
        self._buffers: dict[DataType, dict[_PartitionKey, _Buffer]] = {t: {} for t in DATA_TYPES}
        self._rows_written = dict.fromkeys(DATA_TYPES, 0)
        self._files_written = 0
        self._closed = False
        bus.subscribe(TRADES, self._on_trade)
        bus.subscribe(TRADES_BACKFILLED, self._on_trade)
        bus.subscribe(QUOTES, self._on_quote)
        bus.subscribe(CANDLES, self._on_candle)

    @property
    def root(self) -> Path:
        """Return the catalog root directory."""
        return self._root

    @property
    def files_written(self) -> int:
        """Return how many Parquet files this writer has written."""
        return self._files_written

    def rows_written(self) -> RowCounts:
        """Return how many rows of each type have been written to files."""
        return RowCounts(**self._rows_written)

    def buffered_rows(self) -> RowCounts:
        """Return how many rows of each type are buffered and not yet written."""
        counts = {
            data_type: sum(len(buf.columns[0]) for buf in buffers.values())
            for data_type, buffers in self._buffers.items()
        }
        return RowCounts(**counts)

    def flush(self) -> None:
        """Write every buffered row to its partition's files."""
        for data_type, buffers in self._buffers.items():
            for key in list(buffers):
                self._flush_partition(data_type, key)

    def close(self) -> None:
        """Flush and stop listening to the bus; calling it again does nothing."""
        if self._closed:
            return
        self._bus.unsubscribe(TRADES, self._on_trade)
        self._bus.unsubscribe(TRADES_BACKFILLED, self._on_trade)
        self._bus.unsubscribe(QUOTES, self._on_quote)
        self._bus.unsubscribe(CANDLES, self._on_candle)
        self._closed = True
        self.flush()

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

    # --- file writing ---

    def _flush_partition(self, data_type: DataType, key: _PartitionKey) -> None:
        buf = self._buffers[data_type][key]
        rows = len(buf.columns[0])
        if rows:
            self._write_file(data_type, buf)
        # Dropped only after a successful write, so a failed write can be retried by flush().
        del self._buffers[data_type][key]
        self._rows_written[data_type] += rows

    def _write_file(self, data_type: DataType, buf: _Buffer) -> None:
        rows = len(buf.columns[0])
        schema = _SCHEMAS[data_type]
        arrays = [
            pa.array([buf.venue] * rows, pa.string()),
            pa.array([buf.symbol] * rows, pa.string()),
        ]
        arrays += [
            pa.array(values, schema.field(i + 2).type) for i, values in enumerate(buf.columns)
        ]
        table = pa.Table.from_arrays(arrays, schema=schema)
        first_ts = min(cast(list[int], buf.columns[_TIME_COLUMN[data_type]]))
        directory = (
            self._root
            / data_type
            / f"venue={buf.venue}"
            / f"symbol={symbol_dir_name(buf.symbol)}"
            / f"date={ns_to_date(buf.day * NS_PER_DAY)}"
        )
        name = f"part-{first_ts:019d}-{secrets.token_hex(4)}.parquet"
        try:
            _write_atomically(table, directory, name)
        except OSError as exc:
            raise DataSourceError(f"cannot write {data_type} file in {directory}: {exc}") from exc
        self._files_written += 1


def _write_atomically(table: object, directory: Path, name: str) -> None:
    """Write ``table`` as ``directory/name`` so readers see either no file or the whole file."""
    directory.mkdir(parents=True, exist_ok=True)
    # A leading dot and a .tmp suffix keep the half-written file out of the *.parquet globs.
    tmp = directory / f".{name}.tmp"
    try:
        with tmp.open("wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, directory / name)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Persist the rename itself; without it a crash can lose a file that was fsynced."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
