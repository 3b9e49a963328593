"""Resample stored candles to a coarser interval in DuckDB (1s -> 1m -> 1h -> 1d).

The rules are those of building the coarser candle from the same trades:
open of the first candle, close of the last, high/low extremes, summed volume,
trades and buy volume, volume-weighted vwap. Intervals are aligned to the
epoch (so days start at 00:00 UTC). A coarse candle with any interpolated or
corrected input carries that flag, so filled data never passes as real. The
first and last coarse candles are flagged PARTIAL when the source candles
(within the range asked) start after the first one opens or end before the last
one closes: an hour resampled from 43 of its minutes is not that hour's candle.
"""

from __future__ import annotations

import duckdb

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa

from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.enums import CandleFlag
from tradefabric.store.catalog import Catalog, sql_string, time_range_sql
from tradefabric.store.schema import CandleSeries, arrow_schema


def resample_sql(
    series: CandleSeries,
    target_interval: str,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> str:
    """Return the DuckDB query that resamples ``series`` of the ``candles`` view."""
    source_interval = series.interval
    source_step = interval_to_ns(source_interval)
    step = interval_to_ns(target_interval)
    if step <= source_step or step % source_step:
        raise ConfigError(
            f"cannot resample {source_interval} to {target_interval}: the target must be a "
            f"larger whole multiple of the source"
        )
    where = [
        f"venue = {sql_string(series.venue)}",
        f"symbol = {sql_string(series.symbol)}",
        f"interval = {sql_string(source_interval)}",
        time_range_sql("ts_open", start_ns, end_ns),
    ]
    bucket = f"(ts_open // {step}) * {step}"
    partial = (
        f"CASE WHEN {bucket} < any_value(first_open) "
        f"OR {bucket} + {step} > any_value(last_open) + {source_step} "
        f"THEN {int(CandleFlag.PARTIAL)} ELSE 0 END"
    )
    return f"""
        WITH source AS (SELECT * FROM candles WHERE {" AND ".join(where)}),
        bounds AS (SELECT min(ts_open) AS first_open, max(ts_open) AS last_open FROM source)
        SELECT venue, symbol, {sql_string(target_interval)} AS interval, {bucket} AS ts_open,
            arg_min(open, ts_open) AS open, max(high) AS high, min(low) AS low,
            arg_max(close, ts_open) AS close, sum(volume) AS volume,
            CASE WHEN min(trades) < 0 THEN -1 ELSE sum(trades) END AS trades,
            sum(buy_volume) AS buy_volume,
            CASE WHEN sum(volume) > 0 THEN sum(vwap * volume) / sum(volume)
                 ELSE arg_max(vwap, ts_open) END AS vwap,
            {bucket} + {step} AS ts_event, max(ts_recv) AS ts_recv,
            CAST(0 AS BIGINT) AS revision, bit_or(flags) | {partial} AS flags
        FROM source CROSS JOIN bounds
        GROUP BY venue, symbol, {bucket}
        ORDER BY ts_open
    """


def resample(
    catalog: Catalog,
    series: CandleSeries,
    target_interval: str,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> pa.Table:
    """Return ``series`` resampled to ``target_interval``, in the catalog's candle schema."""
    sql = resample_sql(series, target_interval, start_ns=start_ns, end_ns=end_ns)
    con = catalog.connect()
    try:
        table = con.sql(sql).to_arrow_table()
    except duckdb.Error as exc:
        raise DataSourceError(f"resampling {series} failed: {exc}") from exc
    finally:
        con.close()
    if table is None:
        raise DataSourceError(f"resampling {series} returned no result")
    return table.cast(arrow_schema("candles"))
