"""Dated macro readings (BTC dominance, market caps) in the catalog table ``macro``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.store.catalog import Catalog, as_float, as_int, sql_string, time_range_sql
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import arrow_schema

GLOBAL: str = "GLOBAL"
"""The symbol of market-wide readings."""


class StoredReading(msgspec.Struct, frozen=True):
    """One row of table ``macro``: what ``source`` published at ``ts_event``."""

    source: str
    ts_event: int
    ts_recv: int
    btc_dominance: float
    total_market_cap_usd: float
    btc_market_cap_usd: float


def write_readings(root: Path | str, readings: Sequence[StoredReading]) -> int:
    """Store ``readings`` (a reading already stored for its time is dropped); return rows added."""
    if not readings:
        return 0
    columns = {
        "venue": [r.source for r in readings],
        "symbol": [GLOBAL] * len(readings),
        "ts_event": [r.ts_event for r in readings],
        "ts_recv": [r.ts_recv for r in readings],
        "btc_dominance": [r.btc_dominance for r in readings],
        "total_market_cap_usd": [r.total_market_cap_usd for r in readings],
        "btc_market_cap_usd": [r.btc_market_cap_usd for r in readings],
    }
    table = pa.Table.from_pydict(columns, schema=arrow_schema("macro"))
    report = CatalogWriter(root, source="macro").write_table("macro", table, "macro", "append")
    return int(report.rows_added)


def load_readings(
    catalog: Catalog, source: str, *, start_ns: int | None = None, end_ns: int | None = None
) -> tuple[StoredReading, ...]:
    """Return ``source``'s stored readings with ``start_ns <= ts_event < end_ns``, oldest first."""
    rows = catalog.query(
        "SELECT venue, ts_event, ts_recv, btc_dominance, total_market_cap_usd, "
        f"btc_market_cap_usd FROM macro WHERE venue = {sql_string(source)} AND "
        f"{time_range_sql('ts_event', start_ns, end_ns)} ORDER BY ts_event"
    ).rows
    return tuple(
        StoredReading(str(v), as_int(t), as_int(r), as_float(d), as_float(total), as_float(btc))
        for v, t, r, d, total, btc in rows
    )
