"""The vectorized research path: the EMA-cross rule over whole arrays (numpy + TA-Lib).

For parameter sweeps. It implements exactly the definitions of ``ema_cross``
(the same TA-Lib EMA, the same cross tests, the same lot rounding, candle
matching's fill at the next open moved by the fixed slippage), so on the same
candles it produces the same trades as the event-driven kernel, bit for bit,
as long as no risk limit or volume cap binds there (the bench and the tests
check that they agree).
"""

from __future__ import annotations

import msgspec
import numpy as np
import numpy.typing as npt

from tradefabric.analytics.indicators.batch import ema
from tradefabric.execution.precision import Increment

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class VectorTrades(msgspec.Struct, frozen=True):
    """Fills of a vectorized run: candle index filled at, side (+1/-1), price, quantity."""

    index: I64
    side: I64
    price: F64
    quantity: F64

    def __len__(self) -> int:
        return len(self.index)


def cross_signals(close: F64, fast: int, slow: int) -> tuple[I64, I64]:
    """Return (candle indices, +1 up / -1 down) of every EMA cross, in time order."""
    diff = ema(close, fast) - ema(close, slow)
    prev = diff[:-1]
    cur = diff[1:]
    up = (cur > 0.0) & (prev <= 0.0)
    down = (cur < 0.0) & (prev >= 0.0)
    index = np.flatnonzero(up | down).astype(np.int64) + 1
    direction = np.where(up[index - 1], 1, -1).astype(np.int64)
    return index, direction


def ema_cross_trades(
    open_: F64,
    close: F64,
    params: tuple[int, int, float],
    lot_increment: str,
    slippage_bps: float = 0.0,
) -> VectorTrades:
    """Return the trades of the long-only EMA cross; ``params`` is (fast, slow, notional)."""
    fast, slow, notional = params
    index, direction = cross_signals(close, fast, slow)
    # Long-only from flat: a cross acts only when it changes the state, so keep each
    # run's first signal and drop a leading exit (nothing is held yet).
    if len(direction):
        keep = np.empty(len(direction), dtype=bool)
        keep[0] = True
        keep[1:] = direction[1:] != direction[:-1]
        index, direction = index[keep], direction[keep]
        if len(direction) and direction[0] < 0:
            index, direction = index[1:], direction[1:]
    # An order sent on the last candle has no next open to fill at.
    filled = index < len(close) - 1
    index, direction = index[filled], direction[filled]
    lot = Increment(lot_increment)
    units = np.floor(notional / close[index] * lot.scale + 1e-9).astype(np.int64)
    units -= units % lot.step
    entry_qty = units / lot.scale
    # An exit sells what the entry before it bought.
    quantity = np.where(direction > 0, entry_qty, np.roll(entry_qty, 1))
    fill_open = open_[index + 1]
    factor = np.where(direction > 0, 1.0 + slippage_bps / 10_000.0, 1.0 - slippage_bps / 10_000.0)
    return VectorTrades(
        index=index + 1, side=direction, price=fill_open * factor, quantity=quantity
    )
