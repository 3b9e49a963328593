"""Read stored candles back as ``Candle`` events, in batches, in the order a replay needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import msgspec

from tradefabric.model.data import Candle
from tradefabric.store.catalog import Catalog, as_int

# Selected in the struct's field order, so a row becomes a Candle positionally.
_CANDLE_SELECT: Final = ", ".join(f.name for f in msgspec.structs.fields(Candle))


def read_candles(
    catalog: Catalog, where: str, order_by: str, batch_rows: int = 50_000
) -> Iterator[list[Candle]]:
    """Yield the candles matching the SQL condition ``where``, ordered by ``order_by``.

    One Arrow batch of ``batch_rows`` at a time, so memory stays flat whatever the range.
    """
    sql = f"SELECT {_CANDLE_SELECT} FROM candles WHERE {where} ORDER BY {order_by}"
    con = catalog.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        for batch in con.sql(sql).to_arrow_reader(batch_rows):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            yield [Candle(*row) for row in zip(*columns, strict=True)]
    finally:
        con.close()


def count_candles(catalog: Catalog, where: str) -> int:
    """Return how many candles match ``where`` (for a progress bar)."""
    return as_int(catalog.query(f"SELECT count(*) FROM candles WHERE {where}").rows[0][0])
