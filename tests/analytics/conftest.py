"""Real candles and recordings for the analytics tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyarrow import feather

from tradefabric.analytics.frame import CandleFrame

MONTH_FILES = {
    "BTC/USDT": "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather",
    "ETH/USDT": "binance_ETH_USDT-1m_2024-07-26_2024-08-25.feather",
}
MINUTE_NS = 60_000_000_000


def read_month(shared_data: Path, symbol: str) -> CandleFrame:
    """Read one real month of Binance 1m candles (freqtrade feather) as a frame."""
    table = feather.read_table(shared_data / "candles_1m" / MONTH_FILES[symbol])
    ts_open = table.column("date").cast("int64").to_numpy().astype(np.int64)
    n = len(ts_open)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(table.column(name).to_numpy(), dtype=np.float64)

    return CandleFrame(
        venue="binance", symbol=symbol, interval="1m", ts_open=ts_open,
        ts_event=ts_open + MINUTE_NS, open=col("open"), high=col("high"), low=col("low"),
        close=col("close"), volume=col("volume"), buy_volume=np.full(n, np.nan),
        vwap=np.full(n, np.nan),
    )  # fmt: skip


@pytest.fixture(scope="session", params=sorted(MONTH_FILES))
def month(request: pytest.FixtureRequest, shared_data: Path) -> CandleFrame:
    """Each real month file in turn."""
    return read_month(shared_data, request.param)


@pytest.fixture(scope="session")
def btc_month(shared_data: Path) -> CandleFrame:
    """The real BTC/USDT month."""
    return read_month(shared_data, "BTC/USDT")


def max_rel_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """Return max |a - e| / |e| over entries where both are numbers (0 / 0 counts 0)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    both = ~np.isnan(a) & ~np.isnan(e)
    if not both.any():
        return 0.0
    diff = np.abs(a[both] - e[both])
    scale = np.abs(e[both])
    rel = np.where(diff == 0, 0.0, diff / np.where(scale == 0, np.inf, scale))
    rel = np.where((diff > 0) & (scale == 0), np.inf, rel)
    return float(rel.max())


def assert_same_series(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-9) -> float:
    """Assert equal NaN positions (warm-up) and values within ``rtol``; return the max error."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    mismatch = np.flatnonzero(nan_a != nan_e)
    assert len(mismatch) == 0, f"NaN positions differ first at index {mismatch[:5]}"
    error = max_rel_error(a, e)
    assert error <= rtol, f"max relative error {error:.3g} > {rtol}"
    return error
