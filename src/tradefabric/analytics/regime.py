"""Market regime per asset: Bull, Bear, Range or Volatile, with hysteresis.

Two measures per candle of the regime's interval:

- trend strength: (fast EMA - slow EMA) / ATR of the close, in ATRs;
- a volatility index ("crypto VIX"): annualized realized volatility of log
  returns over ``vol_window`` candles, in percent; or, where configured, a
  venue-published index such as Deribit's DVOL (``VolatilitySource``).

A regime is entered past an ``enter`` threshold and left only past the lower
``exit`` one, and never before ``min_dwell`` candles: noise around a threshold
does not flip it every candle. Each change is a ``RegimeChange`` event.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from typing import Protocol

import msgspec

from tradefabric.analytics.indicators import streaming as s
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle

_YEAR_NS = 365 * 86_400 * 1_000_000_000


class Regime(enum.StrEnum):
    """The four regimes."""

    BULL = "bull"
    BEAR = "bear"
    RANGE = "range"
    VOLATILE = "volatile"


class RegimeParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Regime measures and thresholds (trend in ATRs, volatility index in annual %)."""

    interval: str = "1h"
    fast: int = 12
    slow: int = 48
    atr_period: int = 24
    vol_window: int = 24
    trend_enter: float = 1.0
    trend_exit: float = 0.3
    volatile_enter: float = 90.0
    volatile_exit: float = 70.0
    min_dwell: int = 3

    def __post_init__(self) -> None:
        if not 0 <= self.trend_exit <= self.trend_enter:
            raise ConfigError("regime: need 0 <= trend_exit <= trend_enter")
        if not 0 <= self.volatile_exit <= self.volatile_enter:
            raise ConfigError("regime: need 0 <= volatile_exit <= volatile_enter")
        if self.vol_window < 2 or self.min_dwell < 1:
            raise ConfigError("regime: need vol_window >= 2 and min_dwell >= 1")
        interval_to_ns(self.interval)


class RegimeChange(msgspec.Struct, frozen=True):
    """An asset moved from ``previous`` to ``regime`` at the close of a candle."""

    venue: str
    asset: str
    interval: str
    previous: Regime
    regime: Regime
    trend: float
    vol_index: float
    ts_event: int


class VolatilitySource(Protocol):
    """A published volatility index (annualized %), e.g. Deribit DVOL."""

    def value(self, asset: str, ts_ns: int) -> float | None:
        """Return the index's latest value published before ``ts_ns``, or None."""
        ...


class SeriesVolatilitySource:
    """A volatility index from recorded ``(ts_ns, value)`` readings per asset."""

    def __init__(self, readings: dict[str, list[tuple[int, float]]]) -> None:
        self._readings = {asset: sorted(rows) for asset, rows in readings.items()}

    def value(self, asset: str, ts_ns: int) -> float | None:
        """Return the newest reading strictly before ``ts_ns``."""
        best = None
        for ts, value in self._readings.get(asset, ()):
            if ts >= ts_ns:
                break
            best = value
        return best


class RealizedVolatility:
    """Annualized realized volatility (%) of log returns over the last ``window`` candles."""

    def __init__(self, window: int, interval_ns: int) -> None:
        self.window = window
        self._scale = 100.0 * math.sqrt(_YEAR_NS / interval_ns)
        self._returns: deque[float] = deque(maxlen=window)
        self._prev = math.nan

    def update(self, close: float) -> float:
        """Add a close; return the index (NaN until ``window`` returns are known)."""
        if self._prev > 0 and close > 0:  # NaN compares False: no first return
            self._returns.append(math.log(close / self._prev))
        self._prev = close
        if len(self._returns) < self.window:
            return math.nan
        mean = sum(self._returns) / self.window
        variance = sum((r - mean) ** 2 for r in self._returns) / self.window
        return math.sqrt(variance) * self._scale


def classify(previous: Regime, trend: float, vol: float, p: RegimeParams) -> Regime:
    """Return the regime after ``previous`` given the measures, with hysteresis."""
    if not math.isnan(vol):
        if vol >= p.volatile_enter:
            return Regime.VOLATILE
        if previous is Regime.VOLATILE and vol > p.volatile_exit:
            return Regime.VOLATILE
    if math.isnan(trend):
        return previous
    if previous is Regime.BULL and trend > p.trend_exit:
        return Regime.BULL
    if previous is Regime.BEAR and trend < -p.trend_exit:
        return Regime.BEAR
    if trend >= p.trend_enter:
        return Regime.BULL
    if trend <= -p.trend_enter:
        return Regime.BEAR
    return Regime.RANGE


class RegimeDetector:
    """Track one asset's regime from its candles of ``params.interval``."""

    def __init__(self, params: RegimeParams, source: VolatilitySource | None = None) -> None:
        self.params = params
        self.source = source
        self.regime = Regime.RANGE
        self.trend = math.nan
        self.vol_index = math.nan
        self._fast = s.Ema(params.fast)
        self._slow = s.Ema(params.slow)
        self._atr = s.Atr(params.atr_period)
        self._vol = RealizedVolatility(params.vol_window, interval_to_ns(params.interval))
        self._since_change = params.min_dwell

    def update(self, candle: Candle) -> RegimeChange | None:
        """Add a candle; return a ``RegimeChange`` when the regime changes."""
        fast = self._fast.update(candle.close)
        slow = self._slow.update(candle.close)
        atr = self._atr.update(candle.high, candle.low, candle.close)
        self.trend = (fast - slow) / atr if atr > 0 else math.nan
        realized = self._vol.update(candle.close)
        published = self.source.value(candle.symbol, candle.ts_event) if self.source else None
        self.vol_index = published if published is not None else realized
        self._since_change += 1
        regime = classify(self.regime, self.trend, self.vol_index, self.params)
        if regime is self.regime or self._since_change < self.params.min_dwell:
            return None
        change = RegimeChange(
            candle.venue, candle.symbol, candle.interval, self.regime, regime, self.trend,
            self.vol_index, candle.ts_event,
        )  # fmt: skip
        self.regime = regime
        self._since_change = 0
        return change
