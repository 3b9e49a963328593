"""Built-in features: each wraps one streaming indicator and its batch twin.

The constructor arguments are keyword-only and are what a YAML ``params`` block
sets. ``default_features()`` is the full set the benchmark and the CLI use.
"""

from __future__ import annotations

import math

import numpy as np

from tradefabric.analytics.features.base import Array, Feature
from tradefabric.analytics.features.patterns import (
    PATTERNS,
    FractalDetector,
    PatternDetector,
    fractals_batch,
    pattern_batch,
)
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.indicators import batch as b
from tradefabric.analytics.indicators import streaming as s
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle


class EmaFeature:
    """EMA of the close."""

    def __init__(self, *, period: int = 9) -> None:
        self.period = period
        self._ema = s.Ema(period)
        self.columns = (f"ema_{period}",)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._ema.update(candle.close),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return (b.ema(frame.close, self.period),)


class SmaFeature:
    """SMA of the close."""

    def __init__(self, *, period: int = 20) -> None:
        self.period = period
        self._sma = s.Sma(period)
        self.columns = (f"sma_{period}",)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._sma.update(candle.close),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return (b.sma(frame.close, self.period),)


class RsiFeature:
    """RSI of the close."""

    def __init__(self, *, period: int = 14) -> None:
        self.period = period
        self._rsi = s.Rsi(period)
        self.columns = (f"rsi_{period}",)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._rsi.update(candle.close),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return (b.rsi(frame.close, self.period),)


class MacdFeature:
    """MACD line, signal and histogram of the close."""

    columns = ("macd", "macd_signal", "macd_hist")

    def __init__(self, *, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast, self.slow, self.signal = fast, slow, signal
        self._macd = s.Macd(fast, slow, signal)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return self._macd.update(candle.close)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        out = b.macd(frame.close, self.fast, self.slow, self.signal)
        return out.macd, out.signal, out.hist


class BollingerFeature:
    """Bollinger upper, middle and lower bands of the close."""

    columns = ("bb_upper", "bb_middle", "bb_lower")

    def __init__(self, *, period: int = 20, deviations: float = 2.0) -> None:
        self.period, self.deviations = period, deviations
        self._bands = s.BollingerBands(period, deviations, deviations)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return self._bands.update(candle.close)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        out = b.bbands(frame.close, self.period, self.deviations, self.deviations)
        return out.upper, out.middle, out.lower


class AtrFeature:
    """Average true range."""

    def __init__(self, *, period: int = 14) -> None:
        self.period = period
        self._atr = s.Atr(period)
        self.columns = (f"atr_{period}",)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._atr.update(candle.high, candle.low, candle.close),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return (b.atr(frame.high, frame.low, frame.close, self.period),)


class ObvFeature:
    """On-balance volume."""

    columns = ("obv",)

    def __init__(self) -> None:
        self._obv = s.Obv()

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._obv.update(candle.close, candle.volume),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return (b.obv(frame.close, frame.volume),)


class StochFeature:
    """Slow stochastic %K and %D."""

    columns = ("stoch_k", "stoch_d")

    def __init__(self, *, fast_k: int = 5, slow_k: int = 3, slow_d: int = 3) -> None:
        self.fast_k, self.slow_k, self.slow_d = fast_k, slow_k, slow_d
        self._stoch = s.Stochastic(fast_k, slow_k, slow_d)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return self._stoch.update(candle.high, candle.low, candle.close)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        out = b.stoch(
            frame.high, frame.low, frame.close,
            fast_k=self.fast_k, slow_k=self.slow_k, slow_d=self.slow_d,
        )  # fmt: skip
        return out.k, out.d


class SessionVwapFeature:
    """VWAP since the session start (UTC day by default)."""

    columns = ("vwap_session",)

    def __init__(self, *, session: str = "1d") -> None:
        self.session_ns = interval_to_ns(session)
        self._vwap = s.SessionVwap(self.session_ns)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        price = s.vwap_price(candle.high, candle.low, candle.close, candle.vwap)
        return (self._vwap.update(candle.ts_open, price, candle.volume),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        price = b.vwap_prices(frame.high, frame.low, frame.close, frame.vwap)
        return (b.session_vwap(frame.ts_open, price, frame.volume, self.session_ns),)


class RollingVwapFeature:
    """VWAP over the last ``window`` candles."""

    def __init__(self, *, window: int = 20) -> None:
        self.window = window
        self._vwap = s.RollingVwap(window)
        self.columns = (f"vwap_{window}",)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        price = s.vwap_price(candle.high, candle.low, candle.close, candle.vwap)
        return (self._vwap.update(price, candle.volume),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        price = b.vwap_prices(frame.high, frame.low, frame.close, frame.vwap)
        return (b.rolling_vwap(price, frame.volume, self.window),)


class TwapFeature:
    """TWAP of the OHLC mean over the last ``window`` candles."""

    def __init__(self, *, window: int = 20) -> None:
        self.window = window
        self._twap = s.Twap(window)
        self.columns = (f"twap_{window}",)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._twap.update(s.ohlc4(candle.open, candle.high, candle.low, candle.close)),)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return (b.twap(b.ohlc4(frame.open, frame.high, frame.low, frame.close), self.window),)


class DeltaPressureFeature:
    """Aggressor buy minus sell volume of the candle, and that as a share of its volume.

    NaN for candles that do not know their buy volume (imported without trades).
    """

    columns = ("delta", "delta_pressure")

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        delta = 2.0 * candle.buy_volume - candle.volume
        pressure = delta / candle.volume if candle.volume > 0.0 else math.nan
        return delta, pressure

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        delta = 2.0 * frame.buy_volume - frame.volume
        with np.errstate(invalid="ignore", divide="ignore"):
            pressure = np.where(frame.volume > 0.0, delta / frame.volume, np.nan)
        return delta, pressure


class PatternFeature:
    """TA-Lib candle patterns (100 bullish, -100 bearish, 0 none), one column each."""

    def __init__(self, *, patterns: tuple[str, ...] = PATTERNS) -> None:
        self.patterns = tuple(patterns)
        self._detectors = tuple(PatternDetector(p) for p in self.patterns)
        self.columns = tuple(f"cdl_{p}" for p in self.patterns)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        o, h, low, c = candle.open, candle.high, candle.low, candle.close
        return tuple(float(d.update(o, h, low, c)) for d in self._detectors)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return tuple(
            pattern_batch(p, frame.open, frame.high, frame.low, frame.close) for p in self.patterns
        )


class FractalFeature:
    """Williams fractal prices, reported at the candle that confirms them."""

    columns = ("fractal_up", "fractal_down")

    def __init__(self) -> None:
        self._fractals = FractalDetector()

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return self._fractals.update(candle.high, candle.low)

    def batch(self, frame: CandleFrame) -> tuple[Array, ...]:
        """Compute over a series."""
        return fractals_batch(frame.high, frame.low)


def default_features() -> list[Feature]:
    """Return a fresh instance of every built-in feature with default parameters."""
    return [
        EmaFeature(period=9),
        EmaFeature(period=21),
        SmaFeature(period=20),
        RsiFeature(period=14),
        MacdFeature(),
        BollingerFeature(),
        AtrFeature(),
        ObvFeature(),
        StochFeature(),
        SessionVwapFeature(),
        RollingVwapFeature(window=20),
        TwapFeature(window=20),
        DeltaPressureFeature(),
        PatternFeature(),
        FractalFeature(),
    ]
