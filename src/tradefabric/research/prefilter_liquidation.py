"""Vectorized prefilter of the ``LiquidationHunt`` alpha: its clusters for a grid of params.

The plugin folds liquidations and open interest into each candle window one event
at a time (``analytics.signals.liquidation_hunt.LiquidationRule``); here the
windows are whole-array steps computed once per series:

- each liquidation's quote notional lands in the window of the first candle that
  closes after it, counted when it is not before that candle's open (as the rule
  buckets by time); sums per side are ``np.bincount`` in event order, the same
  additions in the same order as the rule's;
- the open interest change of a window is, over the (venue, symbol) series known at
  the previous close, the sum of the latest readings at this close over their sum at
  the previous one, less one (NaN when none is known);
- the baseline of a window is the mean of the ``baseline`` window totals before it,
  added left to right like the rule's ``sum`` of its deque.

Then every (min_notional, cluster_factor, baseline, oi_weight, mode) is a few array
comparisons. A cluster is scored by the signed return of the close ``horizon``
candles later (a ranking of alphas, not a backtest); ``tests/research`` holds the
clusters equal to the plugin's streaming and batch signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import msgspec
import numpy as np
import numpy.typing as npt

from tradefabric.analytics.frame import CandleFrame
from tradefabric.model.data import Liquidation, OpenInterest
from tradefabric.model.enums import AggressorSide

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


class LiquidationScore(msgspec.Struct, frozen=True):
    """One liquidation-hunt combination: clusters, mean signed forward return, hit rate."""

    min_notional: float
    cluster_factor: float
    baseline: int
    oi_weight: float
    mode: str
    signals: int
    mean_return: float
    hit_rate: float


def _sides(frame: CandleFrame, liquidations: Sequence[Liquidation]) -> tuple[F64, F64]:
    """Return the liquidated notional of longs and of shorts per candle window."""
    n = len(frame.ts_event)
    if not liquidations:
        return np.zeros(n), np.zeros(n)
    ordered = sorted(liquidations, key=lambda e: e.ts_event)  # stable, as merged_events
    ts = np.array([e.ts_event for e in ordered], dtype=np.int64)
    notional = np.array([e.price * e.size for e in ordered], dtype=np.float64)
    longs = np.array([e.side == AggressorSide.SELL for e in ordered])
    window = np.searchsorted(frame.ts_event, ts, side="right")
    inside = window < n
    inside[inside] &= ts[inside] >= frame.ts_open[window[inside]]
    w, x, is_long = window[inside], notional[inside], longs[inside]
    long_sum = np.bincount(w[is_long], weights=x[is_long], minlength=n).astype(np.float64)
    short_sum = np.bincount(w[~is_long], weights=x[~is_long], minlength=n).astype(np.float64)
    return long_sum, short_sum


def _oi_change(frame: CandleFrame, readings: Sequence[OpenInterest]) -> F64:
    """Return each window's relative open interest change (NaN when unknown)."""
    n = len(frame.ts_event)
    series: dict[tuple[str, str], list[OpenInterest]] = {}
    for event in sorted(readings, key=lambda e: e.ts_event):
        series.setdefault((event.venue, event.symbol), []).append(event)
    before, after = np.zeros(n), np.zeros(n)
    for rows in series.values():  # first-seen order: the rule's dict order
        ts = np.array([e.ts_event for e in rows], dtype=np.int64)
        value = np.array([e.open_interest for e in rows], dtype=np.float64)
        last = np.searchsorted(ts, frame.ts_event, side="left") - 1  # readings before the close
        at_close = np.where(last >= 0, value[np.maximum(last, 0)], np.nan)
        start = np.r_[np.nan, at_close[:-1]]
        known = ~np.isnan(start)
        before[known] += start[known]
        after[known] += at_close[known]
    out = np.full(n, np.nan)
    positive = before > 0.0
    out[positive] = after[positive] / before[positive] - 1.0
    return out


def _baseline(totals: F64, count: int) -> F64:
    """Return the mean of the ``count`` totals before each window (NaN until known)."""
    n = len(totals)
    out = np.full(n, np.nan)
    if n > count:
        acc = np.zeros(n - count)
        for k in range(count):  # left to right, as ``sum`` of the rule's deque
            acc += totals[k : n - count + k]
        out[count:] = acc / count
    return out


class LiquidationInputs:
    """One candle series with its window sums and open interest changes, computed once."""

    def __init__(
        self,
        frame: CandleFrame,
        liquidations: Sequence[Liquidation],
        open_interest: Sequence[OpenInterest],
    ) -> None:
        self.frame = frame
        self.long, self.short = _sides(frame, liquidations)
        oi = _oi_change(frame, open_interest)
        self.oi_drop = np.where(np.isnan(oi), 0.0, np.maximum(0.0, -oi))
        self._baselines: dict[int, F64] = {}

    def baseline(self, count: int) -> F64:
        out = self._baselines.get(count)
        if out is None:
            out = self._baselines[count] = _baseline(self.long + self.short, count)
        return out


def liquidation_signals(
    inputs: LiquidationInputs, params: tuple[float, float, int, float, str]
) -> tuple[I64, I64]:
    """Return (candle indices, +1/-1) where ``LiquidationHunt`` fires with ``params``
    (min_notional, cluster_factor, baseline, oi_weight, mode)."""
    min_notional, factor, count, oi_weight, mode = params
    dominant = np.maximum(inputs.long, inputs.short)
    base = inputs.baseline(count)
    with np.errstate(invalid="ignore"):
        score = dominant / np.maximum(base, min_notional) * (1.0 + oi_weight * inputs.oi_drop)
        fires = ~np.isnan(base) & (dominant >= min_notional) & (score >= factor)
    index = np.flatnonzero(fires).astype(np.int64)
    direction = np.where(inputs.long[index] >= inputs.short[index], 1, -1).astype(np.int64)
    return index, (direction if mode == "reversal" else -direction)


def liquidation_prefilter(
    inputs: LiquidationInputs,
    grid: tuple[Sequence[float], Sequence[float], Sequence[int], Sequence[float], Sequence[str]],
    horizon: int,
) -> list[LiquidationScore]:
    """Score every combination of ``grid`` by the signed forward return of its clusters."""
    close = inputs.frame.close
    forward = np.full(len(close), np.nan)
    forward[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    out: list[LiquidationScore] = []
    for params in product(*grid):
        index, direction = liquidation_signals(inputs, params)
        signed = direction * forward[index]
        signed = signed[np.isfinite(signed)]
        mean = float(signed.mean()) if len(signed) else float("nan")
        hit = float((signed > 0).mean()) if len(signed) else float("nan")
        out.append(LiquidationScore(*params, signals=len(index), mean_return=mean, hit_rate=hit))
    return out
