"""Klines (candles) the fake Binance venue serves, from real candle files.

Source files are freqtrade feather files (``date`` UTC, ``open``, ``high``,
``low``, ``close``, ``volume``), named as freqtrade names them, e.g.
``binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather`` or ``BTC_USDT-1m.feather``:
the name gives the symbol and the interval.

Longer intervals are built from the source rows (open of the first, high max,
low min, close of the last, volume summed); an interval the source does not
cover completely is not served, since Binance's own candle would hold trades
we do not have. Those files carry OHLCV only: Binance's quote volume, trade
count and taker-buy volumes are unknown and served as ``-1`` (Binance never
sends a negative value, so a client reading them sees "unknown", not a false 0).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
from pyarrow import feather

from tradefabric.core.errors import DataSourceError

_MS_PER: Final = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}

KLINE_INTERVALS_MS: Final[dict[str, int]] = {
    name: int(name[:-1]) * _MS_PER[name[-1]]
    for name in ("1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h",
                 "1d", "3d")
}  # fmt: skip
"""Binance's fixed-length kline intervals (``1w`` and ``1M`` are calendar-aligned: not served)."""

_FREQTRADE_NAME = re.compile(r"^(?:[A-Za-z]+_)?([A-Z0-9]+)_([A-Z0-9]+)-(\d+[smhd])(?:[_.-].*)?$")

_UNKNOWN = "-1"
_FloatArray = npt.NDArray[np.float64]
_IntArray = npt.NDArray[np.int64]


class KlineSeries:
    """One symbol's candles at one interval, sorted by open time (ms)."""

    __slots__ = ("close", "high", "interval_ms", "low", "open", "open_ms", "raw_symbol", "volume")

    def __init__(
        self,
        raw_symbol: str,
        interval_ms: int,
        open_ms: _IntArray,
        prices: tuple[_FloatArray, _FloatArray, _FloatArray, _FloatArray],
        volume: _FloatArray,
    ) -> None:
        self.raw_symbol = raw_symbol
        self.interval_ms = interval_ms
        self.open_ms = open_ms
        self.open, self.high, self.low, self.close = prices
        self.volume = volume

    def __len__(self) -> int:
        return len(self.open_ms)

    def select(self, start_ms: int | None, end_ms: int | None, limit: int) -> tuple[int, int]:
        """Return the row range ``[lo, hi)`` Binance answers for these ``klines`` parameters.

        Open times in ``[startTime, endTime]``; the first ``limit`` of them when
        ``startTime`` is given, else the last ``limit`` (the most recent ones).
        """
        times = self.open_ms
        lo = 0 if start_ms is None else int(np.searchsorted(times, start_ms, side="left"))
        hi = len(times) if end_ms is None else int(np.searchsorted(times, end_ms, side="right"))
        if hi <= lo:
            return lo, lo
        if start_ms is not None:
            return lo, min(hi, lo + limit)
        return max(lo, hi - limit), hi

    def rows(self, lo: int, hi: int) -> list[list[object]]:
        """Return rows ``lo..hi`` in Binance's kline layout (prices and volumes as strings).

        ``[1722003300000, "67745.75000000", "67784.00000000", "67726.00000000",
        "67768.00000000", "26.98425000", 1722003359999, "-1", -1, "-1", "-1", "0"]``
        """
        step = self.interval_ms
        return [
            [
                int(self.open_ms[i]), f"{self.open[i]:.8f}", f"{self.high[i]:.8f}",
                f"{self.low[i]:.8f}", f"{self.close[i]:.8f}", f"{self.volume[i]:.8f}",
                int(self.open_ms[i]) + step - 1, _UNKNOWN, -1, _UNKNOWN, _UNKNOWN, "0",
            ]
            for i in range(lo, hi)
        ]  # fmt: skip

    def resample(self, interval_ms: int) -> KlineSeries:
        """Return this series at a longer ``interval_ms``, keeping only fully covered intervals."""
        if interval_ms == self.interval_ms:
            return self
        if interval_ms % self.interval_ms:
            raise DataSourceError(
                f"{self.raw_symbol}: cannot build {interval_ms} ms klines from "
                f"{self.interval_ms} ms ones"
            )
        per_bucket = interval_ms // self.interval_ms
        buckets = self.open_ms // interval_ms
        starts = np.flatnonzero(np.r_[True, buckets[1:] != buckets[:-1]])
        counts = np.diff(np.r_[starts, len(buckets)])
        full = counts == per_bucket
        first = starts[full]
        last = (starts + counts - 1)[full]
        prices = (
            self.open[first],
            np.maximum.reduceat(self.high, starts)[full],
            np.minimum.reduceat(self.low, starts)[full],
            self.close[last],
        )
        volume = np.add.reduceat(self.volume, starts)[full]
        return KlineSeries(
            self.raw_symbol, interval_ms, buckets[first] * interval_ms, prices, volume
        )


class KlineBook:
    """Every symbol's klines, served at any interval that is a multiple of the source's."""

    def __init__(self) -> None:
        self._sources: dict[str, KlineSeries] = {}
        self._resampled: dict[tuple[str, int], KlineSeries] = {}

    @property
    def symbols(self) -> list[str]:
        """Return the raw symbols (``BTCUSDT``) that have klines."""
        return sorted(self._sources)

    def add(self, series: KlineSeries) -> None:
        """Serve ``series``; a symbol given twice keeps the shorter interval."""
        current = self._sources.get(series.raw_symbol)
        if current is None or series.interval_ms < current.interval_ms:
            self._sources[series.raw_symbol] = series
            self._resampled = {
                k: v for k, v in self._resampled.items() if k[0] != series.raw_symbol
            }

    def series(self, raw_symbol: str, interval_ms: int) -> KlineSeries | None:
        """Return ``raw_symbol``'s klines at ``interval_ms``; None when none can be served."""
        source = self._sources.get(raw_symbol)
        if source is None or interval_ms % source.interval_ms:
            return None
        key = (raw_symbol, interval_ms)
        found = self._resampled.get(key)
        if found is None:
            found = self._resampled[key] = source.resample(interval_ms)
        return found


def kline_files(path: Path) -> list[Path]:
    """Return ``path`` itself, or the ``*.feather`` files in a directory, sorted."""
    if path.is_dir():
        files = sorted(path.glob("*.feather"))
        if not files:
            raise DataSourceError(f"no *.feather candle files in {path}")
        return files
    if not path.is_file():
        raise DataSourceError(f"candle file {path} does not exist")
    return [path]


def load_freqtrade_klines(path: Path) -> KlineSeries:
    """Read one freqtrade feather file; its name gives the symbol and interval.

    One row: ``date=2024-07-26 14:15:00+00:00, open=67745.75, high=67784.0,
    low=67726.0, close=67768.0, volume=26.98425`` (volume in the base asset).

    Raises ``DataSourceError`` for a name that is not freqtrade's, missing
    columns, or rows that are unsorted, repeated or off the interval grid.
    """
    match = _FREQTRADE_NAME.match(path.stem)
    if match is None or match.group(3) not in KLINE_INTERVALS_MS:
        raise DataSourceError(
            f"cannot tell the symbol and interval of {path.name}: expected freqtrade's naming, "
            "e.g. BTC_USDT-1m.feather or binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
        )
    interval_ms = KLINE_INTERVALS_MS[match.group(3)]
    try:
        table = feather.read_table(path)
        open_ms = _open_times_ms(table)
        prices = tuple(_column(table, name) for name in ("open", "high", "low", "close"))
        volume = _column(table, "volume")
    except (OSError, KeyError, pa.ArrowException) as exc:
        raise DataSourceError(f"cannot read candle file {path}: {exc}") from exc
    steps = np.diff(open_ms)
    if len(open_ms) == 0 or (steps <= 0).any() or (open_ms % interval_ms).any():
        raise DataSourceError(
            f"{path.name}: candle times must be unique, sorted and on the {match.group(3)} grid"
        )
    raw_symbol = match.group(1) + match.group(2)
    return KlineSeries(raw_symbol, interval_ms, open_ms, prices, volume)  # type: ignore[arg-type]


def _open_times_ms(table: pa.Table) -> _IntArray:
    dates = table.column("date").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    return np.asarray(dates.to_numpy(), dtype=np.int64)


def _column(table: pa.Table, name: str) -> _FloatArray:
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)
