"""Candles as columns (``CandleFrame``) and candles of a longer interval built from shorter ones.

The batch forms of indicators, features and signals read a ``CandleFrame``; the
streaming forms read ``Candle`` events one at a time. ``CandleResampler`` (streaming)
and ``resample`` (batch) cut the same buckets, so a 5m or 1h series derived from 1m
candles is identical in both.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import duckdb
import msgspec
import numpy as np
from numpy.typing import NDArray

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle
from tradefabric.store.catalog import Catalog, sql_string

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


class CandleFrame(msgspec.Struct, frozen=True):
    """One (venue, symbol, interval) candle series as columns, oldest first."""

    venue: str
    symbol: str
    interval: str
    ts_open: IntArray
    ts_event: IntArray
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    buy_volume: Array
    vwap: Array

    def __len__(self) -> int:
        """Return the number of candles."""
        return len(self.ts_open)

    def candle(self, i: int) -> Candle:
        """Return row ``i`` as a ``Candle`` event (``ts_recv`` is its ``ts_event``)."""
        ts_event = int(self.ts_event[i])
        return Candle(
            self.venue, self.symbol, self.interval, int(self.ts_open[i]), float(self.open[i]),
            float(self.high[i]), float(self.low[i]), float(self.close[i]), float(self.volume[i]),
            -1, float(self.buy_volume[i]), float(self.vwap[i]), ts_event, ts_event,
        )  # fmt: skip

    def candles(self) -> Iterator[Candle]:
        """Yield every row as a ``Candle``, oldest first."""
        for i in range(len(self)):
            yield self.candle(i)

    def head(self, n: int) -> CandleFrame:
        """Return the first ``n`` candles."""
        return _slice(self, slice(0, n))

    def until(self, ts_ns: int) -> CandleFrame:
        """Return the candles whose ``ts_event`` is before ``ts_ns`` (what was known then)."""
        return self.head(int(np.searchsorted(self.ts_event, ts_ns, side="left")))


def _slice(frame: CandleFrame, s: slice) -> CandleFrame:
    return CandleFrame(
        venue=frame.venue, symbol=frame.symbol, interval=frame.interval,
        ts_open=frame.ts_open[s], ts_event=frame.ts_event[s], open=frame.open[s],
        high=frame.high[s], low=frame.low[s], close=frame.close[s], volume=frame.volume[s],
        buy_volume=frame.buy_volume[s], vwap=frame.vwap[s],
    )  # fmt: skip


def frame_from_candles(candles: Sequence[Candle]) -> CandleFrame:
    """Return ``candles`` (one series, oldest first) as a ``CandleFrame``."""
    if not candles:
        raise DataSourceError("no candles to build a frame from")
    first = candles[0]

    def column(name: str) -> Array:
        return np.array([getattr(c, name) for c in candles], dtype=np.float64)

    return CandleFrame(
        venue=first.venue, symbol=first.symbol, interval=first.interval,
        ts_open=np.array([c.ts_open for c in candles], dtype=np.int64),
        ts_event=np.array([c.ts_event for c in candles], dtype=np.int64),
        open=column("open"), high=column("high"), low=column("low"), close=column("close"),
        volume=column("volume"), buy_volume=column("buy_volume"), vwap=column("vwap"),
    )  # fmt: skip


class FrameQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which candles to read from a catalog: ``ts_open`` in ``[start_ns, end_ns)``."""

    venue: str
    symbol: str
    interval: str = "1m"
    start_ns: int | None = None
    end_ns: int | None = None


def frame_from_catalog(catalog: Catalog, query: FrameQuery) -> CandleFrame:
    """Read one candle series from ``catalog`` (highest revision of each candle)."""
    where = [
        f"venue = {sql_string(query.venue)}",
        f"symbol = {sql_string(query.symbol)}",
        f"interval = {sql_string(query.interval)}",
    ]
    if query.start_ns is not None:
        where.append(f"ts_open >= {int(query.start_ns)}")
    if query.end_ns is not None:
        where.append(f"ts_open < {int(query.end_ns)}")
    sql = (
        "SELECT ts_open, ts_event, open, high, low, close, volume, buy_volume, vwap "
        f"FROM candles WHERE {' AND '.join(where)} "
        "QUALIFY row_number() OVER (PARTITION BY ts_open ORDER BY revision DESC) = 1 "
        "ORDER BY ts_open"
    )
    con = catalog.connect()
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise DataSourceError(f"cannot read candles from {catalog.root}: {exc}") from exc
    finally:
        con.close()
    if table.num_rows == 0:
        raise DataSourceError(
            f"no {query.interval} candles for {query.venue} {query.symbol} in {catalog.root} "
            "within the requested time range"
        )

    def col(name: str) -> Array:
        return np.asarray(table.column(name).to_numpy(), dtype=np.float64)

    return CandleFrame(
        venue=query.venue, symbol=query.symbol, interval=query.interval,
        ts_open=np.asarray(table.column("ts_open").to_numpy(), dtype=np.int64),
        ts_event=np.asarray(table.column("ts_event").to_numpy(), dtype=np.int64),
        open=col("open"), high=col("high"), low=col("low"), close=col("close"),
        volume=col("volume"), buy_volume=col("buy_volume"), vwap=col("vwap"),
    )  # fmt: skip


class _Bucket:
    __slots__ = ("buy", "close", "high", "low", "notional", "open", "ts_open", "volume")

    def __init__(self, ts_open: int, c: Candle) -> None:
        self.ts_open = ts_open
        self.open, self.high, self.low, self.close = c.open, c.high, c.low, c.close
        self.volume = c.volume
        self.buy = c.buy_volume
        self.notional = c.vwap * c.volume

    def add(self, c: Candle) -> None:
        self.high = max(self.high, c.high)
        self.low = min(self.low, c.low)
        self.close = c.close
        self.volume += c.volume
        self.buy += c.buy_volume
        self.notional += c.vwap * c.volume


class CandleResampler:
    """Build candles of ``interval`` from a series of shorter candles, one update at a time.

    A bucket is emitted by the candle that completes it (its ``ts_event`` reaches the
    bucket's end) or, after a hole, by the first candle of a later bucket: never
    before its data is complete, so nothing downstream sees a future candle.
    """

    __slots__ = ("_bucket", "interval", "interval_ns")

    def __init__(self, interval: str) -> None:
        self.interval = interval
        self.interval_ns = interval_to_ns(interval)
        self._bucket: _Bucket | None = None

    def update(self, candle: Candle) -> Candle | None:
        """Fold ``candle`` in; return the bucket it completed, or one a gap left behind."""
        start = candle.ts_open - candle.ts_open % self.interval_ns
        if candle.ts_event - start > self.interval_ns:
            raise ConfigError(f"cannot resample {candle.interval} candles into {self.interval}")
        done: Candle | None = None
        bucket = self._bucket
        if bucket is not None and bucket.ts_open != start:
            done = self._seal(bucket, candle)
            bucket = None
        if bucket is None:
            self._bucket = bucket = _Bucket(start, candle)
        else:
            bucket.add(candle)
        if candle.ts_event == start + self.interval_ns:
            self._bucket = None
            return self._seal(bucket, candle)
        return done

    def _seal(self, b: _Bucket, source: Candle) -> Candle:
        end = b.ts_open + self.interval_ns
        vwap = b.notional / b.volume if b.volume > 0.0 else math.nan
        return Candle(
            source.venue, source.symbol, self.interval, b.ts_open, b.open, b.high, b.low,
            b.close, b.volume, -1, b.buy, vwap, end, source.ts_recv,
        )  # fmt: skip


def resample(frame: CandleFrame, interval: str) -> CandleFrame:
    """Return ``frame`` resampled to ``interval`` exactly as ``CandleResampler`` would emit it."""
    resampler = CandleResampler(interval)
    out = [c for c in (resampler.update(candle) for candle in frame.candles()) if c is not None]
    if not out:
        return empty_frame(frame.venue, frame.symbol, interval)
    return frame_from_candles(out)


def empty_frame(venue: str, symbol: str, interval: str) -> CandleFrame:
    """Return a frame with no candles."""
    no_floats = np.empty(0, dtype=np.float64)
    no_ints = np.empty(0, dtype=np.int64)
    return CandleFrame(
        venue=venue, symbol=symbol, interval=interval, ts_open=no_ints, ts_event=no_ints,
        open=no_floats, high=no_floats, low=no_floats, close=no_floats, volume=no_floats,
        buy_volume=no_floats, vwap=no_floats,
    )  # fmt: skip
