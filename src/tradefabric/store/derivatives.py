"""Read stored derivatives events (liquidations, open interest) back as domain events."""

from __future__ import annotations

from tradefabric.model.data import Liquidation, OpenInterest
from tradefabric.model.enums import AggressorSide
from tradefabric.store.catalog import Catalog, as_float, as_int, time_range_sql


def load_liquidations(
    catalog: Catalog, *, start_ns: int | None = None, end_ns: int | None = None
) -> tuple[Liquidation, ...]:
    """Return every stored liquidation with ``start_ns <= ts_event < end_ns``, in time order."""
    rows = catalog.query(
        "SELECT venue, symbol, side, price, size, ts_event, ts_recv FROM liquidations "
        f"WHERE {time_range_sql('ts_event', start_ns, end_ns)} "
        "ORDER BY ts_event, ts_recv, venue, symbol"
    ).rows
    return tuple(
        Liquidation(
            str(v), str(s), AggressorSide(str(side)), as_float(p), as_float(q), as_int(t), as_int(r)
        )
        for v, s, side, p, q, t, r in rows
    )


def load_open_interest(
    catalog: Catalog, *, start_ns: int | None = None, end_ns: int | None = None
) -> tuple[OpenInterest, ...]:
    """Return every stored open interest reading with ``start_ns <= ts_event < end_ns``."""
    rows = catalog.query(
        "SELECT venue, symbol, open_interest, ts_event, ts_recv FROM open_interest "
        f"WHERE {time_range_sql('ts_event', start_ns, end_ns)} "
        "ORDER BY ts_event, ts_recv, venue, symbol"
    ).rows
    return tuple(
        OpenInterest(str(v), str(s), as_float(oi), as_int(t), as_int(r)) for v, s, oi, t, r in rows
    )
