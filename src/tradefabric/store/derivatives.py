"""Read stored derivatives events (liquidations, open interest) back as domain events."""

from __future__ import annotations

from tradefabric.core.errors import DataSourceError
from tradefabric.model.data import Liquidation, OpenInterest
from tradefabric.model.enums import AggressorSide
from tradefabric.store.catalog import Catalog


def load_liquidations(
    catalog: Catalog, *, start_ns: int | None = None, end_ns: int | None = None
) -> tuple[Liquidation, ...]:
    """Return every stored liquidation with ``start_ns <= ts_event < end_ns``, in time order."""
    rows = catalog.query(
        "SELECT venue, symbol, side, price, size, ts_event, ts_recv FROM liquidations "
        f"WHERE {_between(start_ns, end_ns)} ORDER BY ts_event, ts_recv, venue, symbol"
    ).rows
    return tuple(
        Liquidation(
            str(v), str(s), AggressorSide(str(side)), _float(p), _float(q), _int(t), _int(r)
        )
        for v, s, side, p, q, t, r in rows
    )


def load_open_interest(
    catalog: Catalog, *, start_ns: int | None = None, end_ns: int | None = None
) -> tuple[OpenInterest, ...]:
    """Return every stored open interest reading with ``start_ns <= ts_event < end_ns``."""
    rows = catalog.query(
        "SELECT venue, symbol, open_interest, ts_event, ts_recv FROM open_interest "
        f"WHERE {_between(start_ns, end_ns)} ORDER BY ts_event, ts_recv, venue, symbol"
    ).rows
    return tuple(
        OpenInterest(str(v), str(s), _float(oi), _int(t), _int(r)) for v, s, oi, t, r in rows
    )


def _between(start_ns: int | None, end_ns: int | None) -> str:
    clauses = ["true"]
    if start_ns is not None:
        clauses.append(f"ts_event >= {int(start_ns)}")
    if end_ns is not None:
        clauses.append(f"ts_event < {int(end_ns)}")
    return " AND ".join(clauses)


def _float(value: object) -> float:
    if not isinstance(value, float | int):
        raise DataSourceError(f"expected a number from the catalog, got {value!r}")
    return float(value)


def _int(value: object) -> int:
    if not isinstance(value, int):
        raise DataSourceError(f"expected an integer from the catalog, got {value!r}")
    return value
