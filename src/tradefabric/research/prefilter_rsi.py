"""Vectorized prefilter of the ``RsiDivergenceVwap`` alpha: where its rule fires, per params.

The plugin walks a state machine (``analytics.signals.rsi_vwap.DivergenceRule``) one
candle at a time; here the same rule is whole-array steps, so a grid of
(rsi_period, pivot, lookback, max_wait, tolerance_bps) is scored in NumPy:

1. swing lows/highs: a candle whose low (high) is strictly below (above) the
   ``pivot`` candles on each side, known ``pivot`` candles later;
2. a divergence at a swing point against the swing point of its kind just before
   it (within ``lookback`` candles, RSI known at both) arms the rule at the
   confirming candle; a later arming replaces it (a swing high after a swing low
   of the same candle, as the rule checks lows first);
3. the armed rule fires at the first candle from the arming one to ``max_wait``
   candles later, and before the next arming, that bounces off the VWAP.

Each RSI period, swing set and tolerance is computed once and shared. A firing is
scored by the signed return of the close ``horizon`` candles later (as the EMA-volume
prefilter does): it ranks alphas, it is not a backtest. ``tests/research`` holds
the firings equal to the plugin's streaming (event-driven) and batch signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import msgspec
import numpy as np
import numpy.typing as npt

from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.indicators import batch as b
from tradefabric.analytics.signals.rsi_vwap import RsiVwapParams
from tradefabric.core.time import interval_to_ns

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


class RsiVwapScore(msgspec.Struct, frozen=True):
    """One RSI-divergence combination: firings, mean signed forward return, hit rate."""

    rsi_period: int
    pivot: int
    lookback: int
    max_wait: int
    tolerance_bps: float
    signals: int
    mean_return: float
    hit_rate: float


def _swings(values: F64, pivot: int, sign: float) -> I64:
    """Return the indices whose value beats (``sign`` -1: below, +1: above) its neighbours."""
    n = len(values)
    if n < 2 * pivot + 1:
        return np.empty(0, dtype=np.int64)
    mid = values[pivot : n - pivot] * sign
    ok = np.ones(len(mid), dtype=bool)
    for k in range(1, pivot + 1):
        ok &= mid > values[pivot - k : n - pivot - k] * sign
        ok &= mid > values[pivot + k : n - pivot + k] * sign
    return np.flatnonzero(ok).astype(np.int64) + pivot


def _divergent(index: I64, price: F64, rsi: F64, lookback: int, lower: bool) -> I64:
    """Return the swing points that diverge from the swing point before them."""
    if len(index) < 2:
        return np.empty(0, dtype=np.int64)
    prev, cur = index[:-1], index[1:]
    near = cur - prev <= lookback  # NaN RSI compares False below: no divergence
    if lower:
        diverges = (price[cur] < price[prev]) & (rsi[cur] > rsi[prev])
    else:
        diverges = (price[cur] > price[prev]) & (rsi[cur] < rsi[prev])
    return cur[near & diverges]


def _armings(long_at: I64, short_at: I64, pivot: int) -> tuple[I64, I64]:
    """Return the arming candles (sorted, one per candle) and their +1/-1 direction."""
    at = np.concatenate([long_at, short_at]) + pivot
    direction = np.concatenate([np.ones(len(long_at)), -np.ones(len(short_at))])
    # stable on (candle, direction): the short of a candle comes last, and wins
    order = np.lexsort((direction * -1, at))
    at, direction = at[order], direction[order].astype(np.int64)
    last = np.r_[at[1:] != at[:-1], True] if len(at) else np.empty(0, dtype=bool)
    return at[last], direction[last]


def _fire(at: I64, direction: I64, bounce: tuple[B, B], max_wait: int) -> tuple[I64, I64]:
    """Return the candles where each arming's first bounce comes, and its direction."""
    n = len(bounce[0])
    if len(at) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    until = np.minimum(np.r_[at[1:], n], at + max_wait + 1)  # exclusive: a new arming replaces
    steps = at[:, None] + np.arange(max_wait + 1)[None, :]
    valid = steps < until[:, None]
    safe = np.minimum(steps, n - 1)
    hit = np.where(direction[:, None] > 0, bounce[0][safe], bounce[1][safe]) & valid
    fired = hit.any(axis=1)
    first = hit.argmax(axis=1)
    return steps[fired, first[fired]], direction[fired]


class RsiVwapInputs:
    """One candle series with the VWAP of ``params`` and RSIs/swings cached by period."""

    def __init__(self, frame: CandleFrame, params: RsiVwapParams | None = None) -> None:
        params = params or RsiVwapParams()
        self.frame = frame
        price = b.vwap_prices(frame.high, frame.low, frame.close, frame.vwap)
        if params.vwap == "session":
            self.vwap = b.session_vwap(frame.ts_open, price, frame.volume,
                                       interval_to_ns(params.session))  # fmt: skip
        else:
            self.vwap = b.rolling_vwap(price, frame.volume, params.vwap_window)
        self._rsi: dict[int, F64] = {}
        self._swings: dict[int, tuple[I64, I64]] = {}
        self._bounce: dict[float, tuple[B, B]] = {}

    def rsi(self, period: int) -> F64:
        out = self._rsi.get(period)
        if out is None:
            out = self._rsi[period] = b.rsi(self.frame.close, period)
        return out

    def swings(self, pivot: int) -> tuple[I64, I64]:
        out = self._swings.get(pivot)
        if out is None:
            f = self.frame
            out = self._swings[pivot] = (_swings(f.low, pivot, -1.0), _swings(f.high, pivot, 1.0))
        return out

    def bounce(self, tolerance_bps: float) -> tuple[B, B]:
        out = self._bounce.get(tolerance_bps)
        if out is None:
            f, v, tol = self.frame, self.vwap, tolerance_bps / 10_000.0
            up = (f.low <= v * (1.0 + tol)) & (f.close > v)
            down = (f.high >= v * (1.0 - tol)) & (f.close < v)
            out = self._bounce[tolerance_bps] = (up, down)
        return out


def rsi_vwap_signals(
    inputs: RsiVwapInputs, params: tuple[int, int, int, int, float]
) -> tuple[I64, I64]:
    """Return (candle indices, +1/-1) where ``RsiDivergenceVwap`` fires with ``params``
    (rsi_period, pivot, lookback, max_wait, tolerance_bps)."""
    period, pivot, lookback, max_wait, tolerance = params
    rsi, (lows, highs) = inputs.rsi(period), inputs.swings(pivot)
    f = inputs.frame
    long_at = _divergent(lows, f.low, rsi, lookback, lower=True)
    short_at = _divergent(highs, f.high, rsi, lookback, lower=False)
    at, direction = _armings(long_at, short_at, pivot)
    return _fire(at, direction, inputs.bounce(tolerance), max_wait)


def rsi_vwap_prefilter(
    inputs: RsiVwapInputs,
    grid: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int], Sequence[float]],
    horizon: int,
) -> list[RsiVwapScore]:
    """Score every combination of ``grid`` (lookback > pivot kept) by forward return."""
    close = inputs.frame.close
    forward = np.full(len(close), np.nan)
    forward[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    out: list[RsiVwapScore] = []
    for params in product(*grid):
        if params[2] <= params[1]:
            continue
        index, direction = rsi_vwap_signals(inputs, params)
        signed = direction * forward[index]
        signed = signed[np.isfinite(signed)]
        mean = float(signed.mean()) if len(signed) else float("nan")
        hit = float((signed > 0).mean()) if len(signed) else float("nan")
        out.append(RsiVwapScore(*params, signals=len(index), mean_return=mean, hit_rate=hit))
    return out
