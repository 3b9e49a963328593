"""Confidence in [0, 1] for a signal, from weighted factors, each reported with the score.

Factors (default weights) and how each maps to [0, 1]:

- ``mtf_alignment`` (0.30): share of the ``trend_intervals`` (default 1s, 1m, 1h)
  whose fast EMA is on the signal's side of the slow one.
- ``volume`` (0.25): the signal candle's volume over the average of the candles
  before it, halved and capped: a breakout on 2x average volume scores 1.
- ``whale`` (0.20): whale taker flow on the signal's side (0.5 + half the net
  share) and open interest growth over ``whale_window`` (new positions), averaged.
- ``macro`` (0.15): BTC dominance change over ``macro_window``: rising favours BTC
  longs and alt shorts; neutral without a source.
- ``reward`` (0.10): the signal source's walk-forward Sharpe: per-trade Sharpe of
  its earlier signals whose horizon has already passed, 0.5 + tanh(Sharpe) / 2.

A factor whose inputs are missing counts 0.5 (neutral) and is marked unavailable.
The confidence is the sum of the contributions, so the breakdown always adds up.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

import msgspec

from tradefabric.analytics.indicators import streaming as s
from tradefabric.analytics.macro import MacroSource, NoMacroSource, dominance_change
from tradefabric.analytics.signals.base import Direction, FactorScore, Signal
from tradefabric.analytics.signals.liquidation_hunt import underlying
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle, OpenInterest, Trade
from tradefabric.model.enums import AggressorSide


class ConfidenceWeights(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Factor weights; they must be >= 0 and add up to 1."""

    mtf_alignment: float = 0.30
    volume: float = 0.25
    whale: float = 0.20
    macro: float = 0.15
    reward: float = 0.10

    def __post_init__(self) -> None:
        values = msgspec.structs.astuple(self)
        if min(values) < 0 or abs(sum(values) - 1.0) > 1e-9:
            raise ConfigError(f"confidence weights must be >= 0 and sum to 1, got {self}")


class ConfidenceParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the factors are measured."""

    weights: ConfidenceWeights = ConfidenceWeights()
    trend_intervals: tuple[str, ...] = ("1s", "1m", "1h")
    trend_fast: int = 9
    trend_slow: int = 21
    volume_window: int = 20
    whale_notional: float = 500_000.0
    whale_window: str = "1h"
    oi_scale: float = 20.0
    macro_window: str = "24h"
    macro_scale: float = 0.5
    min_trades: int = 5


class _Series:
    __slots__ = ("fast", "slow", "volume", "volume_ratio")

    def __init__(self, p: ConfidenceParams) -> None:
        self.fast = s.Ema(p.trend_fast)
        self.slow = s.Ema(p.trend_slow)
        self.volume = s.Sma(p.volume_window)
        self.volume_ratio = math.nan

    def update(self, candle: Candle) -> None:
        self.fast.update(candle.close)
        self.slow.update(candle.close)
        avg = self.volume.value
        self.volume_ratio = candle.volume / avg if avg > 0 else math.nan
        self.volume.update(candle.volume)


class MarketContext:
    """What confidence scoring knows now: trends, volumes, whales, OI, signal outcomes."""

    def __init__(self, params: ConfidenceParams, macro: MacroSource | None = None) -> None:
        self.params = params
        self.macro = macro if macro is not None else NoMacroSource()
        self._series: dict[tuple[str, str], _Series] = {}
        self._whales: dict[str, deque[tuple[int, AggressorSide, float]]] = {}
        self._oi: dict[str, deque[tuple[int, float]]] = {}
        self._open: list[Signal] = []
        self._returns: dict[str, list[float]] = {}
        self._window_ns = interval_to_ns(params.whale_window)

    def on_candle(self, candle: Candle) -> None:
        """Update trends and volume of the candle's series; settle signals it closes."""
        key = (candle.symbol, candle.interval)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(self.params)
        series.update(candle)
        self._settle(candle)

    def on_trade(self, trade: Trade) -> None:
        """Remember a whale trade (notional at or above ``whale_notional``)."""
        notional = trade.price * trade.size
        if notional >= self.params.whale_notional:
            rows = self._whales.setdefault(underlying(trade.symbol), deque())
            rows.append((trade.ts_event, trade.side, notional))

    def on_open_interest(self, event: OpenInterest) -> None:
        """Remember an open interest reading of the event's asset."""
        rows = self._oi.setdefault(underlying(event.symbol), deque())
        rows.append((event.ts_event, event.open_interest))

    def track(self, signal: Signal) -> None:
        """Follow ``signal`` until its horizon passes, to score its source's track record."""
        self._open.append(signal)

    def _settle(self, candle: Candle) -> None:
        still: list[Signal] = []
        for sig in self._open:
            same = sig.asset == candle.symbol and sig.interval == candle.interval
            if same and candle.ts_event >= sig.data_ts + sig.horizon_ns and sig.price > 0:
                ret = int(sig.direction) * (candle.close / sig.price - 1.0)
                self._returns.setdefault(sig.source, []).append(ret)
            else:
                still.append(sig)
        self._open = still

    def score(self, signal: Signal) -> Signal:
        """Return ``signal`` with its confidence and factor breakdown."""
        w = self.params.weights
        raw = (
            ("mtf_alignment", w.mtf_alignment, self._alignment(signal)),
            ("volume", w.volume, self._volume(signal)),
            ("whale", w.whale, self._whale(signal)),
            ("macro", w.macro, self._macro(signal)),
            ("reward", w.reward, self._reward(signal)),
        )
        factors = tuple(
            FactorScore(
                name=name,
                weight=weight,
                value=value if value is not None else 0.5,
                contribution=weight * (value if value is not None else 0.5),
                available=value is not None,
                detail=detail,
            )
            for name, weight, (value, detail) in raw
        )
        confidence = 0.0
        for f in factors:
            confidence += f.contribution
        return msgspec.structs.replace(signal, confidence=confidence, factors=factors)

    def _alignment(self, sig: Signal) -> tuple[float | None, str]:
        agree = known = 0
        for interval in self.params.trend_intervals:
            series = self._series.get((sig.asset, interval))
            if series is None or math.isnan(series.slow.value):
                continue
            known += 1
            side = 1 if series.fast.value > series.slow.value else -1
            agree += side == int(sig.direction)
        if known == 0:
            return None, "no trend known on " + ",".join(self.params.trend_intervals)
        return agree / known, f"{agree}/{known} timeframes agree"

    def _volume(self, sig: Signal) -> tuple[float | None, str]:
        series = self._series.get((sig.asset, sig.interval))
        ratio = series.volume_ratio if series is not None else math.nan
        if math.isnan(ratio):
            return None, "no volume average yet"
        return min(ratio / 2.0, 1.0), f"volume {ratio:.2f}x average"

    def _whale(self, sig: Signal) -> tuple[float | None, str]:
        since = sig.ts - self._window_ns
        parts: list[float] = []
        details: list[str] = []
        whales = self._whales.get(sig.asset, deque())
        while whales and whales[0][0] < since:
            whales.popleft()
        aligned = opposed = 0.0
        for ts, side, notional in whales:
            if ts < sig.ts:
                buy = side == AggressorSide.BUY
                if buy == (sig.direction is Direction.LONG):
                    aligned += notional
                else:
                    opposed += notional
        if aligned + opposed > 0:
            parts.append(0.5 + 0.5 * (aligned - opposed) / (aligned + opposed))
            details.append(f"whale flow {aligned:,.0f} with / {opposed:,.0f} against")
        change = self._oi_change(sig.asset, since, sig.ts)
        if change is not None:
            parts.append(min(max(0.5 + self.params.oi_scale * change, 0.0), 1.0))
            details.append(f"OI {change:+.2%}")
        if not parts:
            return None, "no whale trades or open interest"
        return sum(parts) / len(parts), "; ".join(details)

    def _oi_change(self, asset: str, since: int, before: int) -> float | None:
        rows = self._oi.get(asset)
        if not rows:
            return None
        while len(rows) > 1 and rows[1][0] <= since:
            rows.popleft()
        known = [value for ts, value in rows if ts < before]
        if len(known) < 2 or known[0] <= 0:
            return None
        return known[-1] / known[0] - 1.0

    def _macro(self, sig: Signal) -> tuple[float | None, str]:
        window = interval_to_ns(self.params.macro_window)
        change = dominance_change(self.macro, sig.ts, window)
        if change is None:
            return None, "no macro source"
        btc = sig.asset.split("/")[0] in ("BTC", "XBT")
        favour = (1 if btc else -1) * int(sig.direction)
        value = 0.5 + 0.5 * math.tanh(change / self.params.macro_scale) * favour
        return value, f"BTC dominance {change:+.2f} pts"

    def _reward(self, sig: Signal) -> tuple[float | None, str]:
        returns = self._returns.get(sig.source, [])
        if len(returns) < max(self.params.min_trades, 2):
            return None, f"{len(returns)} settled signals"
        std = statistics.stdev(returns)
        if std == 0:
            return None, "flat track record"
        sharpe = statistics.fmean(returns) / std
        return 0.5 + 0.5 * math.tanh(sharpe), f"walk-forward Sharpe {sharpe:.2f} ({len(returns)})"
