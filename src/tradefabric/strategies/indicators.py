"""Indicators a strategy registers on one instrument's candles, updated before it sees them.

Each helper feeds one candle at a time to the streaming indicator of
``analytics.indicators.streaming`` (TA-Lib's recurrences replayed value by
value), so the numbers equal the batch forms (``analytics.indicators.batch``)
over the same candles, warm-up NaNs included; ``tests/strategies`` checks it on
real candles. ``value`` is the newest output, ``previous`` the one before (for
crosses), both NaN during warm-up.

Register with ``ctx.indicator(venue, symbol, interval, Ema(20))``.
"""

from __future__ import annotations

import math
from typing import Protocol

from tradefabric.analytics.indicators import streaming
from tradefabric.model.data import Candle

NAN = math.nan


class CandleIndicator(Protocol):
    """Anything updated from a closed candle."""

    def update(self, candle: Candle) -> None:
        """Fold in one closed candle."""
        ...


class _Scalar:
    """A one-value indicator: ``value`` now, ``previous`` one candle earlier."""

    __slots__ = ("previous", "value")

    def __init__(self) -> None:
        self.value = NAN
        self.previous = NAN

    def _push(self, value: float) -> None:
        self.previous = self.value
        self.value = value

    @property
    def ready(self) -> bool:
        """Return True once past the warm-up."""
        return not math.isnan(self.value)


class Ema(_Scalar):
    """EMA of the close (TA-Lib ``EMA``, seeded with an SMA)."""

    __slots__ = ("_ema",)

    def __init__(self, period: int) -> None:
        super().__init__()
        self._ema = streaming.Ema(period)

    def update(self, candle: Candle) -> None:
        """Fold in one candle's close."""
        self._push(self._ema.update(candle.close))


class Sma(_Scalar):
    """Simple moving average of the close (TA-Lib ``SMA``)."""

    __slots__ = ("_sma",)

    def __init__(self, period: int) -> None:
        super().__init__()
        self._sma = streaming.Sma(period)

    def update(self, candle: Candle) -> None:
        """Fold in one candle's close."""
        self._push(self._sma.update(candle.close))


class Rsi(_Scalar):
    """Wilder's RSI of the close (TA-Lib ``RSI``)."""

    __slots__ = ("_rsi",)

    def __init__(self, period: int = 14) -> None:
        super().__init__()
        self._rsi = streaming.Rsi(period)

    def update(self, candle: Candle) -> None:
        """Fold in one candle's close."""
        self._push(self._rsi.update(candle.close))


class Atr(_Scalar):
    """Average true range (TA-Lib ``ATR``)."""

    __slots__ = ("_atr",)

    def __init__(self, period: int = 14) -> None:
        super().__init__()
        self._atr = streaming.Atr(period)

    def update(self, candle: Candle) -> None:
        """Fold in one candle's high, low and close."""
        self._push(self._atr.update(candle.high, candle.low, candle.close))


class Bollinger:
    """Bollinger Bands of the close (TA-Lib ``BBANDS`` on an SMA)."""

    __slots__ = ("_bands", "lower", "middle", "upper")

    def __init__(self, period: int = 20, dev_up: float = 2.0, dev_down: float = 2.0) -> None:
        self._bands = streaming.BollingerBands(period, dev_up, dev_down)
        self.upper = self.middle = self.lower = NAN

    def update(self, candle: Candle) -> None:
        """Fold in one candle's close."""
        self.upper, self.middle, self.lower = self._bands.update(candle.close)


class Macd:
    """MACD line, signal and histogram of the close (TA-Lib ``MACD``)."""

    __slots__ = ("_macd", "hist", "macd", "signal")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self._macd = streaming.Macd(fast, slow, signal)
        self.macd = self.signal = self.hist = NAN

    def update(self, candle: Candle) -> None:
        """Fold in one candle's close."""
        self.macd, self.signal, self.hist = self._macd.update(candle.close)
