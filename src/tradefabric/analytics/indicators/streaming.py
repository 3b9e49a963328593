"""Streaming indicators: O(1) work per candle, the same numbers as the batch forms.

Each class replays, one value at a time, the recurrence TA-Lib's C code runs
over a whole array: the same seeds (a simple average of the first values), the
same order of floating point operations and the same zero tests. That is what
makes streaming and batch agree on real data, warm-up included: an indicator
returns NaN exactly where TA-Lib's output is NaN, and the values agree to the
bit (SMA, EMA of prices, OBV, stochastic) or within a few ulps where the TA-Lib
wheel was compiled with fused multiply-adds (``(x - ema) * k + ema`` rounded
once instead of twice), which Python cannot express before 3.13.
"""

from __future__ import annotations

import math
from collections import deque

from tradefabric.core.errors import ConfigError

NAN = math.nan
_TA_EPSILON = 0.00000001
"""TA-Lib's ``TA_IS_ZERO`` bound: a denominator inside it counts as zero."""


def _check_period(name: str, period: int, minimum: int = 2) -> None:
    if period < minimum:
        raise ConfigError(f"{name}: period must be >= {minimum}, got {period}")


def vwap_price(high: float, low: float, close: float, vwap: float) -> float:
    """Return the candle's own VWAP when known, else its typical price (h + l + c) / 3."""
    if not math.isnan(vwap):  # candles imported without trades carry NaN
        return vwap
    return (high + low + close) / 3.0


def ohlc4(open_: float, high: float, low: float, close: float) -> float:
    """Return the mean of open, high, low and close: a candle's time-average price estimate."""
    return (open_ + high + low + close) / 4.0


class Sma:
    """Simple moving average over ``period`` values (TA-Lib ``SMA``)."""

    __slots__ = ("_values", "period", "total", "value")

    def __init__(self, period: int) -> None:
        _check_period("SMA", period, 1)
        self.period = period
        self.total = 0.0
        self._values: deque[float] = deque()
        self.value = NAN

    def update(self, x: float) -> float:
        """Add ``x``; return the average of the last ``period`` values (NaN before that)."""
        # TA-Lib adds the new value, reads the total, then drops the oldest.
        self.total += x
        values = self._values
        values.append(x)
        if len(values) < self.period:
            return NAN
        self.value = self.total / self.period
        self.total -= values.popleft()
        return self.value


class Ema:
    """Exponential moving average seeded with the SMA of the first ``period`` values."""

    __slots__ = ("_count", "_total", "k", "period", "value")

    def __init__(self, period: int) -> None:
        _check_period("EMA", period)
        self.period = period
        self.k = 2.0 / (period + 1)
        self._count = 0
        self._total = 0.0
        self.value = NAN

    def update(self, x: float) -> float:
        """Add ``x``; return the EMA (NaN for the first ``period - 1`` values)."""
        count = self._count + 1
        self._count = count
        if count > self.period:
            self.value = (x - self.value) * self.k + self.value
        else:
            self._total += x
            if count == self.period:
                self.value = self._total / self.period
        return self.value


class Rsi:
    """Wilder's relative strength index (TA-Lib ``RSI``): NaN for the first ``period`` values."""

    __slots__ = ("_diffs", "_gain", "_loss", "_prev", "period", "value")

    def __init__(self, period: int = 14) -> None:
        _check_period("RSI", period)
        self.period = period
        self._prev = NAN
        self._diffs = -1
        self._gain = 0.0
        self._loss = 0.0
        self.value = NAN

    def update(self, x: float) -> float:
        """Add the price ``x``; return the RSI in [0, 100]."""
        self._diffs += 1
        diff = x - self._prev
        self._prev = x
        if self._diffs == 0:
            return NAN
        period = self.period
        if self._diffs > period:
            self._loss *= period - 1
            self._gain *= period - 1
        if diff < 0:
            self._loss -= diff
        else:
            self._gain += diff
        if self._diffs < period:
            return NAN
        self._loss /= period
        self._gain /= period
        total = self._gain + self._loss
        self.value = 100.0 * (self._gain / total) if not -_TA_EPSILON < total < _TA_EPSILON else 0.0
        return self.value


class Macd:
    """MACD line, signal and histogram (TA-Lib ``MACD``).

    As in TA-Lib, both EMAs are seeded at the slow period's end: the fast one
    with the average of the last ``fast`` values there, not of the first ones.
    """

    __slots__ = ("_count", "_fast", "_seed", "_signal", "fast", "k_fast", "k_slow", "slow", "value")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        _check_period("MACD fast", fast)
        _check_period("MACD slow", slow)
        _check_period("MACD signal", signal, 1)
        fast, slow = min(fast, slow), max(fast, slow)
        self.fast = fast
        self.slow = slow
        self.k_fast = 2.0 / (fast + 1)
        self.k_slow = 2.0 / (slow + 1)
        self._count = 0
        self._seed: deque[float] = deque(maxlen=slow)
        self._fast = NAN
        self.value = NAN
        self._signal = Ema(signal) if signal > 1 else None

    def update(self, x: float) -> tuple[float, float, float]:
        """Add ``x``; return ``(macd, signal, histogram)``, NaN until the signal is seeded."""
        self._count += 1
        if self._count > self.slow:
            self._fast = (x - self._fast) * self.k_fast + self._fast
            self.value = (x - self.value) * self.k_slow + self.value
        else:
            self._seed.append(x)
            if self._count < self.slow:
                return NAN, NAN, NAN
            self.value = _sequential_mean(self._seed, self.slow)
            self._fast = _sequential_mean(list(self._seed)[-self.fast :], self.fast)
        line = self._fast - self.value
        signal = self._signal.update(line) if self._signal is not None else line
        if math.isnan(signal):
            return NAN, NAN, NAN
        return line, signal, line - signal


def _sequential_mean(values: deque[float] | list[float], n: int) -> float:
    # Left-to-right sum from 0.0, as TA-Lib seeds its averages (sum() would do the same,
    # but spelling it out keeps the bit-for-bit intent visible).
    total = 0.0
    for v in values:
        total += v
    return total / n


class BollingerBands:
    """Bollinger Bands on an SMA with population standard deviation (TA-Lib ``BBANDS``)."""

    __slots__ = ("_squares", "_values", "dev_down", "dev_up", "period", "sma")

    def __init__(self, period: int = 20, dev_up: float = 2.0, dev_down: float = 2.0) -> None:
        _check_period("BBANDS", period)
        self.period = period
        self.dev_up = dev_up
        self.dev_down = dev_down
        self.sma = Sma(period)
        self._values: deque[float] = deque()
        self._squares = 0.0

    def update(self, x: float) -> tuple[float, float, float]:
        """Add ``x``; return ``(upper, middle, lower)``, NaN for the first ``period - 1``."""
        middle = self.sma.update(x)
        values = self._values
        values.append(x)
        # TA-Lib keeps a running sum of squares: add the newest, read, drop the oldest.
        self._squares += x * x
        if len(values) < self.period:
            return NAN, NAN, NAN
        mean_square = self._squares / self.period
        oldest = values.popleft()
        self._squares -= oldest * oldest
        variance = mean_square - middle * middle
        std = math.sqrt(variance) if variance >= _TA_EPSILON else 0.0
        return middle + std * self.dev_up, middle, middle - std * self.dev_down


def true_range(high: float, low: float, prev_close: float) -> float:
    """Return the true range of a candle given the previous close (TA-Lib ``TRANGE``)."""
    greatest = high - low
    up = abs(prev_close - high)
    greatest = max(greatest, up)
    down = abs(prev_close - low)
    greatest = max(greatest, down)
    return greatest


class Atr:
    """Average true range with Wilder's smoothing (TA-Lib ``ATR``): NaN for ``period`` candles."""

    __slots__ = ("_count", "_prev_close", "_total", "period", "value")

    def __init__(self, period: int = 14) -> None:
        _check_period("ATR", period)
        self.period = period
        self._prev_close = NAN
        self._count = -1
        self._total = 0.0
        self.value = NAN

    def update(self, high: float, low: float, close: float) -> float:
        """Add one candle; return the ATR."""
        self._count += 1
        prev = self._prev_close
        self._prev_close = close
        if self._count == 0:
            return NAN
        tr = true_range(high, low, prev)
        period = self.period
        if self._count > period:
            value = self.value * (period - 1)
            value += tr
            self.value = value / period
        else:
            self._total += tr
            if self._count == period:
                self.value = self._total / period
        return self.value


class Obv:
    """On-balance volume, starting at the first candle's volume (TA-Lib ``OBV``)."""

    __slots__ = ("_prev", "value")

    def __init__(self) -> None:
        self._prev = NAN
        self.value = NAN

    def update(self, close: float, volume: float) -> float:
        """Add one candle's close and volume; return the OBV."""
        if math.isnan(self.value):
            self.value = volume
        elif close > self._prev:
            self.value += volume
        elif close < self._prev:
            self.value -= volume
        self._prev = close
        return self.value


class RollingExtreme:
    """Highest (or lowest) of the last ``period`` values, O(1) amortized (monotonic deque)."""

    __slots__ = ("_count", "_items", "highest", "period")

    def __init__(self, period: int, *, highest: bool) -> None:
        _check_period("rolling extreme", period, 1)
        self.period = period
        self.highest = highest
        self._count = 0
        self._items: deque[tuple[int, float]] = deque()

    def update(self, x: float) -> float:
        """Add ``x``; return the extreme of the last ``period`` values (NaN before that)."""
        items = self._items
        index = self._count
        self._count += 1
        if self.highest:
            while items and items[-1][1] <= x:
                items.pop()
        else:
            while items and items[-1][1] >= x:
                items.pop()
        items.append((index, x))
        if items[0][0] <= index - self.period:
            items.popleft()
        return items[0][1] if self._count >= self.period else NAN


class Stochastic:
    """Slow stochastic %K and %D with SMA smoothing (TA-Lib ``STOCH`` with SMA MA types)."""

    __slots__ = ("_highest", "_lowest", "_slow_d", "_slow_k")

    def __init__(self, fast_k: int = 5, slow_k: int = 3, slow_d: int = 3) -> None:
        _check_period("STOCH fast_k", fast_k, 1)
        self._highest = RollingExtreme(fast_k, highest=True)
        self._lowest = RollingExtreme(fast_k, highest=False)
        self._slow_k = Sma(slow_k)
        self._slow_d = Sma(slow_d)

    def update(self, high: float, low: float, close: float) -> tuple[float, float]:
        """Add one candle; return ``(slow %K, slow %D)``, both NaN until %D is ready."""
        highest = self._highest.update(high)
        lowest = self._lowest.update(low)
        if math.isnan(highest):
            return NAN, NAN
        diff = highest - lowest
        # TA-Lib's operation order (scale after the division), kept for identical bits.
        fast = 100.0 * ((close - lowest) / diff) if diff != 0.0 else 0.0
        slow_k = self._slow_k.update(fast)
        if math.isnan(slow_k):
            return NAN, NAN
        slow_d = self._slow_d.update(slow_k)
        if math.isnan(slow_d):
            return NAN, NAN
        return slow_k, slow_d


class SessionVwap:
    """VWAP since the start of the session (UTC-aligned, one day by default)."""

    __slots__ = ("_notional", "_session", "_volume", "session_ns")

    def __init__(self, session_ns: int = 86_400_000_000_000) -> None:
        if session_ns <= 0:
            raise ConfigError(f"session VWAP: session length must be > 0 ns, got {session_ns}")
        self.session_ns = session_ns
        self._session = -1
        self._notional = 0.0
        self._volume = 0.0

    def update(self, ts_open: int, price: float, volume: float) -> float:
        """Add a candle opening at ``ts_open``; return the session VWAP (NaN with no volume)."""
        session = ts_open - ts_open % self.session_ns
        if session != self._session:
            self._session = session
            self._notional = 0.0
            self._volume = 0.0
        self._notional += price * volume
        self._volume += volume
        return self._notional / self._volume if self._volume > 0.0 else NAN


class RollingVwap:
    """VWAP over the last ``window`` candles: NaN until the window is full or without volume."""

    __slots__ = ("_items", "_notional", "_volume", "window")

    def __init__(self, window: int) -> None:
        _check_period("rolling VWAP", window, 1)
        self.window = window
        self._items: deque[tuple[float, float]] = deque()
        self._notional = 0.0
        self._volume = 0.0

    def update(self, price: float, volume: float) -> float:
        """Add one candle's price and volume; return the rolling VWAP."""
        notional = price * volume
        items = self._items
        items.append((notional, volume))
        self._notional += notional
        self._volume += volume
        if len(items) > self.window:
            old_notional, old_volume = items.popleft()
            self._notional -= old_notional
            self._volume -= old_volume
        if len(items) < self.window or self._volume <= 0.0:
            return NAN
        return self._notional / self._volume


class Twap:
    """Time-weighted average price over the last ``window`` equal-length candles.

    Each candle's price is its OHLC mean; equal durations make the time weights equal.
    """

    __slots__ = ("_sma",)

    def __init__(self, window: int) -> None:
        self._sma = Sma(window)

    def update(self, price: float) -> float:
        """Add one candle's OHLC mean; return the TWAP (NaN for the first ``window - 1``)."""
        return self._sma.update(price)
