"""Vectorized prefilters: score 10k+ parameter combinations before event-driven runs.

``ema_cross_prefilter`` scores the EMA-cross strategy: for every (fast, slow) it
computes exactly the trades of ``strategies.vectorized.ema_cross_trades`` (which
the bench and tests hold equal to the kernel's fills), each EMA computed once and
shared by every combination using it, and values them: cash from the fills plus
the position at the last close, less ``fee_bps`` of the traded notional. Risk
limits and volume caps are not modelled: rank with it, then run the best
combinations through the kernel.

``ema_volume_prefilter`` scores the ``EmaVolumeCrossover`` alpha: the candles
where its rule fires (the same tests as ``ema_volume.decide``) for every
(fast, slow, volume_window, volume_factor), each scored by the signed return of
the close ``horizon`` candles later. It ranks alphas; it is not a backtest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import product

import msgspec
import numpy as np
import numpy.typing as npt

from tradefabric.analytics.indicators.batch import ema, sma
from tradefabric.execution.precision import Increment

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


class CrossScore(msgspec.Struct, frozen=True):
    """One EMA-cross combination: fills, final P&L (quote) and return on the notional."""

    fast: int
    slow: int
    fills: int
    pnl: float
    ret: float


class AlphaScore(msgspec.Struct, frozen=True):
    """One EMA-volume combination: signals, mean signed forward return, hit rate."""

    fast: int
    slow: int
    volume_window: int
    volume_factor: float
    signals: int
    mean_return: float
    hit_rate: float


class _Emas:
    """EMAs of one close series by period, each computed once."""

    def __init__(self, close: F64) -> None:
        self.close = close
        self._cache: dict[int, F64] = {}

    def __call__(self, period: int) -> F64:
        out = self._cache.get(period)
        if out is None:
            out = self._cache[period] = ema(self.close, period)
        return out


def _crosses(diff: F64) -> tuple[B, B]:
    prev, cur = diff[:-1], diff[1:]
    return (cur > 0.0) & (prev <= 0.0), (cur < 0.0) & (prev >= 0.0)


def _long_only(up: B, down: B, n: int) -> tuple[I64, I64]:
    """Return the signal candles and directions the long-only strategy acts on."""
    index = np.flatnonzero(up | down).astype(np.int64) + 1
    direction = np.where(up[index - 1], 1, -1).astype(np.int64)
    if len(direction):
        keep = np.empty(len(direction), dtype=bool)
        keep[0] = True
        keep[1:] = direction[1:] != direction[:-1]
        index, direction = index[keep], direction[keep]
        if len(direction) and direction[0] < 0:
            index, direction = index[1:], direction[1:]
    filled = index < n - 1
    return index[filled], direction[filled]


def _cross_pnl(
    open_: F64, close: F64, diff: F64, lot: Increment, costs: tuple[float, float, float]
) -> tuple[int, float]:
    notional, slippage_bps, fee_bps = costs
    index, direction = _long_only(*_crosses(diff), len(close))
    if len(index) == 0:
        return 0, 0.0
    units = np.floor(notional / close[index] * lot.scale + 1e-9).astype(np.int64)
    units -= units % lot.step
    entry_qty = units / lot.scale
    quantity = np.where(direction > 0, entry_qty, np.roll(entry_qty, 1))
    factor = np.where(direction > 0, 1.0 + slippage_bps / 1e4, 1.0 - slippage_bps / 1e4)
    price = open_[index + 1] * factor
    traded = quantity * price
    cash = float(np.sum(np.where(direction > 0, -traded, traded)))
    position = float(np.sum(quantity * direction))
    fees = float(traded.sum()) * fee_bps / 1e4
    return len(index), cash + position * float(close[-1]) - fees


def ema_cross_prefilter(
    open_: F64,
    close: F64,
    combos: Iterable[tuple[int, int]],
    *,
    notional: float,
    lot_increment: str,
    slippage_bps: float = 0.0,
    fee_bps: float = 0.0,
) -> list[CrossScore]:
    """Score every (fast, slow) of ``combos`` (fast < slow) on one candle series."""
    emas = _Emas(close)
    lot = Increment(lot_increment)
    costs = (notional, slippage_bps, fee_bps)
    out: list[CrossScore] = []
    for fast, slow in combos:
        fills, pnl = _cross_pnl(open_, close, emas(fast) - emas(slow), lot, costs)
        out.append(CrossScore(fast, slow, fills, pnl, pnl / notional))
    return out


def ema_volume_signals(
    close: F64, volume: F64, params: tuple[int, int, int, float]
) -> tuple[I64, I64]:
    """Return (candle indices, +1/-1) where ``EmaVolumeCrossover`` fires with ``params``."""
    fast_p, slow_p, window, factor = params
    fast, slow = ema(close, fast_p), ema(close, slow_p)
    avg = np.r_[np.nan, sma(volume, window)[:-1]]
    return _fires(fast, slow, volume / np.where(avg > 0.0, avg, np.nan), factor)


def _fires(fast: F64, slow: F64, ratio: F64, factor: float) -> tuple[I64, I64]:
    up = (fast[:-1] <= slow[:-1]) & (fast[1:] > slow[1:])
    down = (fast[:-1] >= slow[:-1]) & (fast[1:] < slow[1:])
    loud = ratio[1:] > factor  # NaN (no average yet, or zero) never fires
    index = np.flatnonzero((up | down) & loud).astype(np.int64) + 1
    return index, np.where(up[index - 1], 1, -1).astype(np.int64)


def ema_volume_prefilter(
    close: F64,
    volume: F64,
    grid: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[float]],
    horizon: int,
) -> list[AlphaScore]:
    """Score every (fast, slow, window, factor) of ``grid`` (fast < slow kept)."""
    emas = _Emas(close)
    forward = np.full(len(close), np.nan)
    forward[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    ratios: dict[int, F64] = {}
    for window in grid[2]:
        avg = np.r_[np.nan, sma(volume, window)[:-1]]
        ratios[window] = volume / np.where(avg > 0.0, avg, np.nan)
    out: list[AlphaScore] = []
    for fast, slow, window, factor in product(*grid):
        if fast >= slow:
            continue
        index, direction = _fires(emas(fast), emas(slow), ratios[window], factor)
        signed = direction * forward[index]
        signed = signed[np.isfinite(signed)]
        mean = float(signed.mean()) if len(signed) else float("nan")
        hit = float((signed > 0).mean()) if len(signed) else float("nan")
        out.append(AlphaScore(fast, slow, window, factor, len(index), mean, hit))
    return out
