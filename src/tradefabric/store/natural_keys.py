"""Deduplication of catalog rows on their natural keys.

A row's natural key says which real-world thing it is: a trade is its venue's
trade id, a candle is its interval and open time, a quote its receive and
event times. Within one partition (venue, symbol, UTC day) a key is stored once.

Candles can be superseded: a later revision (trades recovered by a backfill),
real data arriving for an interval that was filled by interpolation, or a
complete candle (built from all of its interval, or the venue's own kline)
arriving for one stored as PARTIAL replaces the stored row. Every other
repeated key is a duplicate and dropped.
"""

from __future__ import annotations

from typing import Final

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.compute as pc

from tradefabric.model.enums import CandleFlag
from tradefabric.store.schema import DataType

RANK: Final = "__rank"
"""Column holding a row's precedence; a higher rank supersedes a lower one."""
_OLD_RANK: Final = "__stored_rank"
_ROW: Final = "__row"
# Complete real data outranks partial real data, which outranks interpolated data,
# whatever the revisions (small counts, far below these steps).
_PARTIAL_DATA_RANK: Final = 1 << 39
_REAL_DATA_RANK: Final = 1 << 40


class NaturalKey(msgspec.Struct, frozen=True):
    """The key columns of one table and whether later rows can supersede stored ones."""

    columns: tuple[str, ...]
    time_column: str
    """The column that decides the partition day and the sort order inside a file."""
    supersedable: bool


NATURAL_KEYS: Final[dict[DataType, NaturalKey]] = {
    "trades": NaturalKey(("trade_id",), "ts_event", supersedable=False),
    "quotes": NaturalKey(("ts_recv", "ts_event"), "ts_event", supersedable=False),
    "candles": NaturalKey(("interval", "ts_open"), "ts_open", supersedable=True),
    "liquidations": NaturalKey(
        ("ts_event", "side", "price", "size"), "ts_event", supersedable=False
    ),
    "open_interest": NaturalKey(("ts_event",), "ts_event", supersedable=False),
    "mark_prices": NaturalKey(("ts_event",), "ts_event", supersedable=False),
    "anomalies": NaturalKey(("kind", "ts_event"), "ts_event", supersedable=False),
    "corrections": NaturalKey(("interval", "ts_open"), "ts_open", supersedable=False),
    "arbitrage": NaturalKey(
        ("sell_venue", "sell_symbol", "ts_start"), "ts_start", supersedable=False
    ),
    "macro": NaturalKey(("ts_event",), "ts_event", supersedable=False),
}


class KeyMatch(msgspec.Struct, frozen=True):
    """How a batch of rows relates to the keys already stored in its partition."""

    new_rows: pa.Table
    """Rows whose key is not stored yet."""
    superseding_rows: pa.Table
    """Rows that replace a stored row with the same key."""
    duplicates: int


def precedence(table: pa.Table, key: NaturalKey) -> pa.Array:
    """Return each row's rank: for candles complete, partial, then interpolated; then revision."""
    if not key.supersedable:
        return pa.array([0] * table.num_rows, pa.int64())
    interpolated = _has_flag(table, CandleFlag.INTERPOLATED)
    partial = _has_flag(table, CandleFlag.PARTIAL)
    real = pc.if_else(partial, _PARTIAL_DATA_RANK, _REAL_DATA_RANK)
    base = pc.if_else(interpolated, 0, real)
    return pc.add(base, table["revision"])


def _has_flag(table: pa.Table, flag: CandleFlag) -> pa.ChunkedArray:
    return pc.not_equal(pc.bit_wise_and(table["flags"], pa.scalar(int(flag), pa.int64())), 0)


def stored_keys(table: pa.Table, key: NaturalKey) -> pa.Table:
    """Return the key columns and rank of ``table``: what a partition remembers of its rows."""
    columns = [table[c] for c in key.columns] + [precedence(table, key)]
    return pa.Table.from_arrays(columns, names=[*key.columns, RANK])


def drop_repeats(table: pa.Table, key: NaturalKey) -> tuple[pa.Table, int]:
    """Keep one row per key (highest rank, then first seen); return it and the drop count."""
    if table.num_rows < 2:
        return table, 0
    ranked = table.append_column(RANK, precedence(table, key)).append_column(
        _ROW, pa.array(range(table.num_rows), pa.int64())
    )
    order = [(c, "ascending") for c in key.columns] + [(RANK, "descending"), (_ROW, "ascending")]
    ranked = ranked.take(pc.sort_indices(ranked, sort_keys=order))
    first = run_starts([ranked[c] for c in key.columns])
    kept = ranked.filter(first)
    kept = kept.take(pc.sort_indices(kept[_ROW])).drop_columns([RANK, _ROW])
    return kept, table.num_rows - kept.num_rows


def match_stored(batch: pa.Table, stored: pa.Table | None, key: NaturalKey) -> KeyMatch:
    """Split ``batch`` (unique keys) into new rows, rows superseding stored ones, and duplicates."""
    if stored is None or stored.num_rows == 0:
        return KeyMatch(new_rows=batch, superseding_rows=batch.slice(0, 0), duplicates=0)
    probe = batch.append_column(_ROW, pa.array(range(batch.num_rows), pa.int64()))
    right = stored.rename_columns([*key.columns, _OLD_RANK])
    joined = probe.join(right, keys=list(key.columns), join_type="left outer", use_threads=False)
    joined = joined.take(pc.sort_indices(joined[_ROW]))
    old_rank = joined[_OLD_RANK]
    is_new = pc.is_null(old_rank)
    rank = precedence(joined, key)
    supersedes = pc.and_(pc.invert(is_new), pc.greater(rank, pc.fill_null(old_rank, 0)))
    rows = joined.drop_columns([_ROW, _OLD_RANK])
    new_rows = rows.filter(is_new)
    superseding = rows.filter(supersedes)
    duplicates = batch.num_rows - new_rows.num_rows - superseding.num_rows
    return KeyMatch(new_rows=new_rows, superseding_rows=superseding, duplicates=duplicates)


def without_keys(table: pa.Table, keys: pa.Table, key: NaturalKey) -> pa.Table:
    """Return the rows of ``table`` whose key is not among ``keys``' key columns."""
    if keys.num_rows == 0:
        return table
    probe = table.append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    drop = keys.select(list(key.columns))
    kept = probe.join(drop, keys=list(key.columns), join_type="left anti", use_threads=False)
    return kept.take(pc.sort_indices(kept[_ROW])).drop_columns([_ROW])


def run_starts(columns: list[pa.ChunkedArray]) -> pa.Array:
    """Return True per row where any of ``columns`` differs from the row before (and at row 0)."""
    n = len(columns[0])
    if n == 0:
        return pa.array([], pa.bool_())
    changed = pc.not_equal(columns[0].slice(1), columns[0].slice(0, n - 1))
    for col in columns[1:]:
        changed = pc.or_(changed, pc.not_equal(col.slice(1), col.slice(0, n - 1)))
    chunks = changed.chunks if isinstance(changed, pa.ChunkedArray) else [changed]
    return pa.concat_arrays([pa.array([True]), *(c.cast(pa.bool_()) for c in chunks)])
