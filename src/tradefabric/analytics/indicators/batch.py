"""Batch indicators over arrays: TA-Lib where it has the indicator, numpy where it does not.

Outputs have the input's length; the warm-up is NaN, exactly where the streaming
forms in ``streaming.py`` return NaN.
"""

from __future__ import annotations

import msgspec
import numpy as np
import talib
from numpy.typing import NDArray
from talib._ta_lib import MA_Type

from tradefabric.core.errors import ConfigError

Array = NDArray[np.float64]
_SMA = MA_Type.SMA
"""TA-Lib's moving average type for a simple average (its default)."""


class MacdArrays(msgspec.Struct, frozen=True):
    """MACD line, signal line and histogram."""

    macd: Array
    signal: Array
    hist: Array


class BandArrays(msgspec.Struct, frozen=True):
    """Bollinger upper, middle and lower bands."""

    upper: Array
    middle: Array
    lower: Array


class StochArrays(msgspec.Struct, frozen=True):
    """Slow stochastic %K and %D."""

    k: Array
    d: Array


def _f64(values: Array) -> Array:
    # TA-Lib wants contiguous float64; a view is free when the input already is.
    return np.ascontiguousarray(values, dtype=np.float64)


def sma(close: Array, period: int) -> Array:
    """Return the simple moving average (TA-Lib ``SMA``)."""
    return np.asarray(talib.SMA(_f64(close), timeperiod=period), dtype=np.float64)


def ema(close: Array, period: int) -> Array:
    """Return the exponential moving average seeded with an SMA (TA-Lib ``EMA``)."""
    return np.asarray(talib.EMA(_f64(close), timeperiod=period), dtype=np.float64)


def rsi(close: Array, period: int = 14) -> Array:
    """Return Wilder's RSI (TA-Lib ``RSI``)."""
    return np.asarray(talib.RSI(_f64(close), timeperiod=period), dtype=np.float64)


def macd(close: Array, fast: int = 12, slow: int = 26, signal: int = 9) -> MacdArrays:
    """Return MACD line, signal and histogram (TA-Lib ``MACD``)."""
    line, sig, hist = talib.MACD(_f64(close), fastperiod=fast, slowperiod=slow, signalperiod=signal)
    return MacdArrays(macd=line, signal=sig, hist=hist)


def bbands(
    close: Array, period: int = 20, dev_up: float = 2.0, dev_down: float = 2.0
) -> BandArrays:
    """Return Bollinger Bands on an SMA (TA-Lib ``BBANDS``, MA type SMA)."""
    upper, middle, lower = talib.BBANDS(
        _f64(close), timeperiod=period, nbdevup=dev_up, nbdevdn=dev_down, matype=_SMA
    )
    return BandArrays(upper=upper, middle=middle, lower=lower)


def atr(high: Array, low: Array, close: Array, period: int = 14) -> Array:
    """Return the average true range (TA-Lib ``ATR``)."""
    out = talib.ATR(_f64(high), _f64(low), _f64(close), timeperiod=period)
    return np.asarray(out, dtype=np.float64)


def obv(close: Array, volume: Array) -> Array:
    """Return on-balance volume (TA-Lib ``OBV``)."""
    return np.asarray(talib.OBV(_f64(close), _f64(volume)), dtype=np.float64)


def stoch(
    high: Array, low: Array, close: Array, *, fast_k: int = 5, slow_k: int = 3, slow_d: int = 3
) -> StochArrays:
    """Return the slow stochastic with SMA smoothing (TA-Lib ``STOCH``)."""
    k, d = talib.STOCH(
        _f64(high),
        _f64(low),
        _f64(close),
        fastk_period=fast_k,
        slowk_period=slow_k,
        slowk_matype=_SMA,
        slowd_period=slow_d,
        slowd_matype=_SMA,
    )
    return StochArrays(k=k, d=d)


def vwap_prices(high: Array, low: Array, close: Array, vwap: Array) -> Array:
    """Return each candle's own VWAP where known, else its typical price (h + l + c) / 3."""
    typical = (high + low + close) / 3.0
    return np.where(np.isnan(vwap), typical, vwap)


def ohlc4(open_: Array, high: Array, low: Array, close: Array) -> Array:
    """Return each candle's OHLC mean."""
    return (open_ + high + low + close) / 4.0


def session_vwap(
    ts_open: NDArray[np.int64], price: Array, volume: Array, session_ns: int = 86_400_000_000_000
) -> Array:
    """Return the VWAP since each candle's session start (sessions aligned to ``session_ns``)."""
    if session_ns <= 0:
        raise ConfigError(f"session VWAP: session length must be > 0 ns, got {session_ns}")
    out = np.full(len(price), np.nan)
    if len(price) == 0:
        return out
    sessions = ts_open - ts_open % session_ns
    starts = np.flatnonzero(np.r_[True, sessions[1:] != sessions[:-1]])
    ends = np.r_[starts[1:], len(price)]
    notional = price * volume
    for start, end in zip(starts, ends, strict=True):
        # cumsum adds left to right, as the streaming form's running total does.
        cum_notional = np.cumsum(notional[start:end])
        cum_volume = np.cumsum(volume[start:end])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:end] = np.where(cum_volume > 0.0, cum_notional / cum_volume, np.nan)
    return out


def _window_sums(values: Array, window: int) -> Array:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        view = np.lib.stride_tricks.sliding_window_view(values, window)
        out[window - 1 :] = view.sum(axis=1)
    return out


def rolling_vwap(price: Array, volume: Array, window: int) -> Array:
    """Return the VWAP over the last ``window`` candles (NaN while filling or without volume)."""
    if window < 1:
        raise ConfigError(f"rolling VWAP: window must be >= 1, got {window}")
    notional = _window_sums(price * volume, window)
    total = _window_sums(volume, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.0, notional / total, np.nan)


def twap(price: Array, window: int) -> Array:
    """Return the time-weighted average of ``price`` over the last ``window`` candles."""
    if window < 1:
        raise ConfigError(f"TWAP: window must be >= 1, got {window}")
    return _window_sums(price, window) / window
