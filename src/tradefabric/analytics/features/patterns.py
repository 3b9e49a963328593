"""Candle patterns (doji, engulfing, hammer, shooting star) and Williams fractals.

The batch patterns are TA-Lib's ``CDL*`` functions. The streaming forms replay
TA-Lib's rules with its default candle settings (a body is "short" against the
average body of the previous 10 candles, and so on), including how it keeps
those averages, so both forms flag the same candles with the same values
(100 bullish, -100 bearish, 80/-80 for TA-Lib's weaker engulfing, 0 none).

Fractals have no TA-Lib form. A fractal at candle ``j`` needs the two candles
after it, so it is reported when candle ``j + 2`` closes, never earlier.
"""

from __future__ import annotations

import enum
from collections import deque

import msgspec
import numpy as np
import talib
from numpy.typing import NDArray

from tradefabric.core.errors import ConfigError

Array = NDArray[np.float64]


class RangeType(enum.Enum):
    """Which size of a candle a TA-Lib candle setting averages."""

    REAL_BODY = 0
    HIGH_LOW = 1
    SHADOWS = 2


class CandleSetting(msgspec.Struct, frozen=True):
    """One TA-Lib candle setting: what to average, over how many candles, times what."""

    range_type: RangeType
    period: int
    factor: float


# TA-Lib's defaults (ta_global.c, TA_CandleDefaultSettings).
BODY_SHORT = CandleSetting(RangeType.REAL_BODY, 10, 1.0)
BODY_DOJI = CandleSetting(RangeType.HIGH_LOW, 10, 0.1)
SHADOW_LONG = CandleSetting(RangeType.REAL_BODY, 0, 1.0)
SHADOW_VERY_SHORT = CandleSetting(RangeType.HIGH_LOW, 10, 0.1)
NEAR = CandleSetting(RangeType.HIGH_LOW, 5, 0.2)

_Ohlc = tuple[float, float, float, float]


def _candle_range(setting: CandleSetting, c: _Ohlc) -> float:
    o, h, low, cl = c
    if setting.range_type is RangeType.REAL_BODY:
        return abs(cl - o)
    if setting.range_type is RangeType.HIGH_LOW:
        return h - low
    return (h - (cl if cl >= o else o)) + ((o if cl >= o else cl) - low)


class _Average:
    """TA-Lib's running candle average for one setting, evaluated ``shift`` candles back.

    TA-Lib sums the setting's range over the ``period`` candles before the first
    one it evaluates, then slides the sum by adding the newest and dropping the
    oldest after each evaluation; this reproduces that order.
    """

    __slots__ = ("_history", "_total", "setting", "shift", "start")

    def __init__(self, setting: CandleSetting, start: int, shift: int = 0) -> None:
        self.setting = setting
        self.start = start
        self.shift = shift
        self._history: deque[_Ohlc] = deque(maxlen=setting.period + shift + 2)
        self._total = 0.0

    def push(self, index: int, c: _Ohlc) -> None:
        """Record candle ``index`` (call once per candle, before ``value``)."""
        self._history.append(c)
        period, shift, hist = self.setting.period, self.shift, self._history
        if period == 0 or index < self.start:
            return
        if index == self.start:
            total = 0.0
            for j in range(period + shift, shift, -1):
                total += _candle_range(self.setting, hist[-1 - j])
            self._total = total
        else:
            newest = _candle_range(self.setting, hist[-2 - shift])
            oldest = _candle_range(self.setting, hist[-2 - shift - period])
            self._total += newest - oldest

    def value(self) -> float:
        """Return the setting's average for the candle ``shift`` back from the newest."""
        s = self.setting
        base = (
            self._total / s.period if s.period else _candle_range(s, self._history[-1 - self.shift])
        )
        average = s.factor * base
        return average / 2.0 if s.range_type is RangeType.SHADOWS else average


def _body(c: _Ohlc) -> float:
    return abs(c[3] - c[0])


def _upper_shadow(c: _Ohlc) -> float:
    return c[1] - max(c[3], c[0])


def _lower_shadow(c: _Ohlc) -> float:
    return min(c[3], c[0]) - c[2]


def _color(c: _Ohlc) -> int:
    return 1 if c[3] >= c[0] else -1


PATTERNS = ("doji", "engulfing", "hammer", "shooting_star")
_TALIB = {
    "doji": "CDLDOJI",
    "engulfing": "CDLENGULFING",
    "hammer": "CDLHAMMER",
    "shooting_star": "CDLSHOOTINGSTAR",
}


class PatternDetector:
    """Flag one candle pattern per candle, as TA-Lib's ``CDL*`` function of that name would."""

    __slots__ = ("_averages", "_count", "_prev", "lookback", "pattern")

    def __init__(self, pattern: str) -> None:
        if pattern not in _TALIB:
            raise ConfigError(f"unknown candle pattern {pattern!r}; expected one of {PATTERNS}")
        self.pattern = pattern
        self._count = -1
        self._prev: _Ohlc | None = None
        self._averages: tuple[_Average, ...]
        if pattern == "doji":
            self.lookback = BODY_DOJI.period
            self._averages = (_Average(BODY_DOJI, self.lookback),)
        elif pattern == "engulfing":
            self.lookback = 2
            self._averages = ()
        else:
            self.lookback = max(BODY_SHORT.period, SHADOW_VERY_SHORT.period, NEAR.period) + 1
            averages = [
                _Average(BODY_SHORT, self.lookback),
                _Average(SHADOW_LONG, self.lookback),
                _Average(SHADOW_VERY_SHORT, self.lookback),
            ]
            if pattern == "hammer":
                averages.append(_Average(NEAR, self.lookback, shift=1))
            self._averages = tuple(averages)

    def update(self, open_: float, high: float, low: float, close: float) -> int:
        """Add one candle; return TA-Lib's value for it (0 during the warm-up)."""
        self._count += 1
        c = (open_, high, low, close)
        for average in self._averages:
            average.push(self._count, c)
        prev = self._prev
        self._prev = c
        if self._count < self.lookback or prev is None:
            return 0
        if self.pattern == "doji":
            return 100 if _body(c) <= self._averages[0].value() else 0
        if self.pattern == "engulfing":
            return _engulfing(prev, c)
        body, shadow_long, very_short = (a.value() for a in self._averages[:3])
        if self.pattern == "hammer":
            near = self._averages[3].value()
            hit = (
                _body(c) < body
                and _lower_shadow(c) > shadow_long
                and _upper_shadow(c) < very_short
                and min(close, open_) <= prev[2] + near
            )
            return 100 if hit else 0
        hit = (
            _body(c) < body
            and _upper_shadow(c) > shadow_long
            and _lower_shadow(c) < very_short
            and min(open_, close) > max(prev[0], prev[3])
        )
        return -100 if hit else 0


def _engulfing(prev: _Ohlc, c: _Ohlc) -> int:
    po, pc, o, cl = prev[0], prev[3], c[0], c[3]
    color, prev_color = _color(c), _color(prev)
    white = color == 1 and prev_color == -1 and ((cl >= po and o < pc) or (cl > po and o <= pc))
    black = color == -1 and prev_color == 1 and ((o >= pc and cl < po) or (o > pc and cl <= po))
    if not (white or black):
        return 0
    return color * (100 if o != pc and cl != po else 80)


def pattern_batch(pattern: str, open_: Array, high: Array, low: Array, close: Array) -> Array:
    """Return TA-Lib's ``CDL*`` values for ``pattern`` as floats."""
    if pattern not in _TALIB:
        raise ConfigError(f"unknown candle pattern {pattern!r}; expected one of {PATTERNS}")
    function = getattr(talib, _TALIB[pattern])
    args = (np.ascontiguousarray(a, dtype=np.float64) for a in (open_, high, low, close))
    return np.asarray(function(*args), dtype=np.float64)


class FractalDetector:
    """Williams fractals: a high (low) above (below) the two candles on each side.

    ``update`` returns ``(up, down)``: the fractal price of the candle two back,
    confirmed by the candle just added, or NaN.
    """

    __slots__ = ("_highs", "_lows")

    def __init__(self) -> None:
        self._highs: deque[float] = deque(maxlen=5)
        self._lows: deque[float] = deque(maxlen=5)

    def update(self, high: float, low: float) -> tuple[float, float]:
        """Add one candle; return the fractals it confirms."""
        self._highs.append(high)
        self._lows.append(low)
        if len(self._highs) < 5:
            return np.nan, np.nan
        h, lo = self._highs, self._lows
        up = h[2] if h[2] > max(h[0], h[1], h[3], h[4]) else np.nan
        down = lo[2] if lo[2] < min(lo[0], lo[1], lo[3], lo[4]) else np.nan
        return up, down


def fractals_batch(high: Array, low: Array) -> tuple[Array, Array]:
    """Return ``(up, down)`` fractal prices at the candle that confirms them, else NaN."""
    n = len(high)
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    if n < 5:
        return up, down
    mid_h, mid_l = high[2:-2], low[2:-2]
    others_h = np.maximum.reduce([high[:-4], high[1:-3], high[3:-1], high[4:]])
    others_l = np.minimum.reduce([low[:-4], low[1:-3], low[3:-1], low[4:]])
    up[4:] = np.where(mid_h > others_h, mid_h, np.nan)
    down[4:] = np.where(mid_l < others_l, mid_l, np.nan)
    return up, down
