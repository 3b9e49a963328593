"""Integrity findings as catalog rows: tables ``anomalies``, ``corrections``, ``arbitrage``."""

from __future__ import annotations

from pathlib import Path

import msgspec

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.integrity.collector import TriangulationResult
from tradefabric.integrity.events import AnomalyKind
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import DataType, arrow_schema

_SOURCE = "integrity"
_CONSENSUS_VENUE = "consensus"


class StoredRows(msgspec.Struct, frozen=True):
    """How many rows one run added to each integrity table (re-runs add none)."""

    anomalies: int
    corrections: int
    arbitrage: int


def anomaly_table(result: TriangulationResult) -> pa.Table:
    """Return every anomaly, and each stablecoin de-peg as a ``depeg`` row, as a table."""
    rows = [
        {
            "venue": a.venue,
            "symbol": a.symbol,
            "kind": str(a.kind),
            "ts_event": a.ts_event,
            "ts_end": a.ts_end,
            "value": a.value,
            "expected": a.expected,
            "score": a.score,
            "detail": a.detail,
            "ts_recv": a.ts_recv,
        }
        for a in result.anomalies
    ]
    for e in result.stablecoin_events:
        if e.phase == "end":
            rows.append(
                {
                    "venue": _CONSENSUS_VENUE,
                    "symbol": f"{e.coin}/USD",
                    "kind": str(AnomalyKind.DEPEG),
                    "ts_event": e.ts_start,
                    "ts_end": e.ts_end,
                    "value": e.peak_rate,
                    "expected": 1.0,
                    "score": e.peak_bps,
                    "detail": f"{e.coin} de-peg, peak {e.peak_rate:.4f} USD",
                    "ts_recv": e.ts_recv,
                }
            )
    return pa.Table.from_pylist(rows, schema=arrow_schema("anomalies"))


def correction_table(result: TriangulationResult) -> pa.Table:
    """Return every corrected or interpolated candle with its reason and original close."""
    rows = []
    for c in result.corrections:
        row = msgspec.structs.asdict(c.candle)
        row["reason"] = str(c.reason)
        row["original_close"] = c.original_close
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=arrow_schema("corrections"))


def arbitrage_table(result: TriangulationResult) -> pa.Table:
    """Return every closed arbitrage episode (buy side in ``venue``/``symbol``)."""
    rows = [
        {
            "venue": e.buy_venue,
            "symbol": e.buy_symbol,
            "sell_venue": e.sell_venue,
            "sell_symbol": e.sell_symbol,
            "asset": e.asset,
            "ts_start": e.ts_start,
            "ts_peak": e.ts_peak,
            "ts_end": e.ts_end,
            "gross_bps_peak": e.gross_bps_peak,
            "net_bps_peak": e.net_bps_peak,
            "net_bps_mean": e.net_bps_mean,
            "size": e.size,
            "notional_usd": e.notional_usd,
            "minutes": e.minutes,
            "ts_recv": e.ts_recv,
        }
        for e in result.arbitrage
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema("arbitrage"))


def store_result(root: Path | str, result: TriangulationResult) -> StoredRows:
    """Commit the run's anomalies, corrections and arbitrage episodes into the catalog."""
    writer = CatalogWriter(root, source=_SOURCE)
    added: dict[str, int] = {}
    tables: tuple[tuple[DataType, pa.Table], ...] = (
        ("anomalies", anomaly_table(result)),
        ("corrections", correction_table(result)),
        ("arbitrage", arbitrage_table(result)),
    )
    for name, table in tables:
        added[name] = 0
        if table.num_rows:
            added[name] = writer.write_table(name, table, _SOURCE, "triangulate").rows_added
    return StoredRows(**added)
