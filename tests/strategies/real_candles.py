"""Real Binance BTC/USDT 1m candles from the shared data (through the ``shared_data`` fixture)."""

from __future__ import annotations

from pathlib import Path

from pyarrow import feather

from tradefabric.core.time import NS_PER_MINUTE
from tradefabric.model.data import Candle

BTC_FILE = "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"


def real_candles(shared_data: Path, count: int, skip: int = 0) -> list[Candle]:
    """Return ``count`` consecutive 1m candles of Binance BTC/USDT after the first ``skip``."""
    table = feather.read_table(shared_data / "candles_1m" / BTC_FILE)
    table = table.slice(skip, count)
    unit = table.schema.field("date").type.unit
    scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]
    ts = table.column("date").cast("int64").to_pylist()
    cols = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
    out = []
    for date, o, h, lo, c, v in zip(ts, *cols, strict=True):
        t = date * scale
        end = t + NS_PER_MINUTE
        out.append(Candle("binance", "BTC/USDT", "1m", t, o, h, lo, c, v, 0, 0.0, c, end, end))
    return out
