"""Find missing candles and missed trades in the catalog, and fill candle gaps visibly.

A candle gap is a run of intervals with no stored candle between two stored
ones (or before/after them, inside a range the caller expects to be
complete). A trade gap is a jump in trade ids on a venue whose ids count up by
one per trade (a venue-table property); elsewhere missed trades cannot be
seen in the data alone, and the scan says which series it could not check.

Interpolated candles are flagged ``CandleFlag.INTERPOLATED``: flat at a price
on the straight line from the close before the gap to the open after it,
zero volume, zero trades. They count as present for later scans (the flag
tells them apart), and real data downloaded later replaces them.
"""

from __future__ import annotations

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.core.time import interval_to_ns
from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog, as_float, as_int, sql_string, time_range_sql
from tradefabric.store.schema import CandleSeries, arrow_schema
from tradefabric.venues.registry import VENUES


class CandleGap(msgspec.Struct, frozen=True):
    """Missing intervals ``[start_ns, end_ns)`` of one candle series."""

    venue: str
    symbol: str
    interval: str
    start_ns: int
    """Open time of the first missing candle."""
    end_ns: int
    """Open time of the next stored candle (or the end of the expected range)."""
    missing: int


class TradeIdGap(msgspec.Struct, frozen=True):
    """Trade ids missing between two stored trades of one series."""

    venue: str
    symbol: str
    first_missing_id: int
    last_missing_id: int
    ts_before: int
    """ts_event of the stored trade before the gap."""
    ts_after: int
    """ts_event of the stored trade after the gap."""

    @property
    def missing(self) -> int:
        """Return how many trade ids are missing."""
        return self.last_missing_id - self.first_missing_id + 1


class SeriesFilter(msgspec.Struct, frozen=True):
    """Which stored series a scan looks at; None means all."""

    venue: str | None = None
    symbol: str | None = None
    interval: str | None = None
    start_ns: int | None = None
    """Expected first open time: missing candles before the first stored one are gaps too."""
    end_ns: int | None = None
    """Expected end (exclusive): missing candles after the last stored one are gaps too."""


class GapScan(msgspec.Struct, frozen=True):
    """The result of scanning the catalog for gaps."""

    candle_gaps: tuple[CandleGap, ...]
    trade_gaps: tuple[TradeIdGap, ...]
    interpolated_candles: int
    """Stored candles flagged as interpolated (already filled gaps)."""
    unchecked_trade_series: tuple[str, ...]
    """``venue symbol`` series whose trade ids do not reveal missed trades."""

    @property
    def missing_candles(self) -> int:
        """Return the number of missing candles over all gaps."""
        return sum(g.missing for g in self.candle_gaps)

    @property
    def missing_trades(self) -> int:
        """Return the number of missing trade ids over all gaps."""
        return sum(g.missing for g in self.trade_gaps)


def scan_gaps(catalog: Catalog, series: SeriesFilter) -> GapScan:
    """Return the candle and trade gaps of the series ``series`` selects."""
    candle_gaps: list[CandleGap] = []
    for interval in _intervals(catalog, series):
        candle_gaps.extend(find_candle_gaps(catalog, series, interval))
    trade_gaps, unchecked = find_trade_gaps(catalog, series)
    interpolated = catalog.query(
        f"SELECT count(*) FROM candles WHERE {_where(series)} "
        f"AND (flags & {int(CandleFlag.INTERPOLATED)}) <> 0"
    ).rows[0][0]
    return GapScan(
        candle_gaps=tuple(candle_gaps),
        trade_gaps=trade_gaps,
        interpolated_candles=as_int(interpolated),
        unchecked_trade_series=unchecked,
    )


def find_candle_gaps(catalog: Catalog, series: SeriesFilter, interval: str) -> list[CandleGap]:
    """Return the gaps of every ``interval`` candle series ``series`` selects."""
    step = interval_to_ns(interval)
    selected = msgspec.structs.replace(series, interval=interval)
    rows = catalog.query(
        f"""
        SELECT venue, symbol, ts_open, next_open FROM (
            SELECT venue, symbol, ts_open,
                lead(ts_open) OVER (PARTITION BY venue, symbol ORDER BY ts_open) AS next_open
            FROM candles WHERE {_where(selected)}
        ) WHERE next_open - ts_open > {step}
        ORDER BY venue, symbol, ts_open
        """
    ).rows
    gaps = [
        _gap(CandleSeries(str(v), str(s), interval), as_int(t) + step, as_int(n), step)
        for v, s, t, n in rows
    ]
    gaps.extend(_edge_gaps(catalog, selected, step))
    return sorted(gaps, key=lambda g: (g.venue, g.symbol, g.start_ns))


def find_trade_gaps(
    catalog: Catalog, series: SeriesFilter
) -> tuple[tuple[TradeIdGap, ...], tuple[str, ...]]:
    """Return trade id gaps on venues with sequential ids, and the series that cannot be checked."""
    names = catalog.query(
        f"SELECT DISTINCT venue, symbol FROM trades WHERE {_where(series, candles=False)} "
        "ORDER BY venue, symbol"
    ).rows
    gaps: list[TradeIdGap] = []
    unchecked: list[str] = []
    for venue, symbol in names:
        entry = VENUES.get(str(venue))
        if entry is None or not entry.trade_ids_sequential:
            unchecked.append(f"{venue} {symbol}")
            continue
        gaps.extend(_trade_id_gaps(catalog, str(venue), str(symbol)))
    return tuple(gaps), tuple(unchecked)


def interpolated_candles(catalog: Catalog, gap: CandleGap) -> pa.Table:
    """Return flagged flat candles for ``gap``, on the line from the close before to the open after.

    Where the gap has no stored neighbour on one side, the other side's price is used flat.
    """
    step = interval_to_ns(gap.interval)
    before, after = _neighbour_prices(catalog, gap, step)
    start = before if before is not None else after
    end = after if after is not None else before
    if start is None or end is None:
        return arrow_schema("candles").empty_table()
    opens = [gap.start_ns + k * step for k in range(gap.missing)]
    prices = [start + (end - start) * (k + 1) / (gap.missing + 1) for k in range(gap.missing)]
    n = gap.missing
    columns = {
        "venue": [gap.venue] * n,
        "symbol": [gap.symbol] * n,
        "interval": [gap.interval] * n,
        "ts_open": opens,
        **{name: prices for name in ("open", "high", "low", "close", "vwap")},
        "volume": [0.0] * n,
        "trades": [0] * n,
        "buy_volume": [0.0] * n,
        "ts_event": [t + step for t in opens],
        "ts_recv": [t + step for t in opens],
        "revision": [0] * n,
        "flags": [int(CandleFlag.INTERPOLATED)] * n,
    }
    return pa.Table.from_pydict(columns, schema=arrow_schema("candles"))


def _trade_id_gaps(catalog: Catalog, venue: str, symbol: str) -> list[TradeIdGap]:
    rows = catalog.query(
        f"""
        SELECT id, next_id, ts_event, next_ts FROM (
            SELECT TRY_CAST(trade_id AS BIGINT) AS id, ts_event,
                lead(TRY_CAST(trade_id AS BIGINT)) OVER w AS next_id,
                lead(ts_event) OVER w AS next_ts
            FROM trades WHERE venue = {sql_string(venue)} AND symbol = {sql_string(symbol)}
            WINDOW w AS (ORDER BY TRY_CAST(trade_id AS BIGINT))
        ) WHERE next_id - id > 1 ORDER BY id
        """
    ).rows
    return [
        TradeIdGap(venue, symbol, as_int(i) + 1, as_int(n) - 1, as_int(t), as_int(nt))
        for i, n, t, nt in rows
    ]


def _edge_gaps(catalog: Catalog, series: SeriesFilter, step: int) -> list[CandleGap]:
    if series.start_ns is None and series.end_ns is None:
        return []
    rows = catalog.query(
        f"SELECT venue, symbol, min(ts_open), max(ts_open) FROM candles "
        f"WHERE {_where(series)} GROUP BY venue, symbol"
    ).rows
    gaps = []
    for venue, symbol, first, last in rows:
        candles = CandleSeries(str(venue), str(symbol), str(series.interval))
        if series.start_ns is not None and as_int(first) > series.start_ns:
            start = series.start_ns - series.start_ns % step
            gaps.append(_gap(candles, start, as_int(first), step))
        if series.end_ns is not None and as_int(last) + step < series.end_ns:
            end = series.end_ns + (-series.end_ns) % step
            gaps.append(_gap(candles, as_int(last) + step, end, step))
    return gaps


def _neighbour_prices(
    catalog: Catalog, gap: CandleGap, step: int
) -> tuple[float | None, float | None]:
    key = (
        f"venue = {sql_string(gap.venue)} AND symbol = {sql_string(gap.symbol)} "
        f"AND interval = {sql_string(gap.interval)}"
    )
    row = catalog.query(
        f"SELECT (SELECT close FROM candles WHERE {key} AND ts_open = {gap.start_ns - step}), "
        f"(SELECT open FROM candles WHERE {key} AND ts_open = {gap.end_ns})"
    ).rows[0]
    before, after = row
    return _price(before), _price(after)


def _price(value: object) -> float | None:
    return None if value is None else as_float(value)


def _intervals(catalog: Catalog, series: SeriesFilter) -> list[str]:
    if series.interval is not None:
        return [series.interval]
    rows = catalog.query(f"SELECT DISTINCT interval FROM candles WHERE {_where(series)}").rows
    return sorted(str(r[0]) for r in rows)


def _where(series: SeriesFilter, candles: bool = True) -> str:
    clauses = ["true"]
    if series.venue is not None:
        clauses.append(f"venue = {sql_string(series.venue)}")
    if series.symbol is not None:
        clauses.append(f"symbol = {sql_string(series.symbol)}")
    if candles and series.interval is not None:
        clauses.append(f"interval = {sql_string(series.interval)}")
    time_column = "ts_open" if candles else "ts_event"
    clauses.append(time_range_sql(time_column, series.start_ns, series.end_ns))
    return " AND ".join(clauses)


def _gap(series: CandleSeries, start: int, end: int, step: int) -> CandleGap:
    return CandleGap(
        series.venue, series.symbol, series.interval, start, end, (end - start) // step
    )
