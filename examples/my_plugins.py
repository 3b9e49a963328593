"""An example of user plugins: a signal and a feature, outside tradefabric's source tree.

Name them in YAML by dotted path (with this folder on ``PYTHONPATH``) or by file:

    signals:
      - class: my_plugins.BollingerBreakout          # or examples/my_plugins.py:BollingerBreakout
        name: bb_breakout_1m
        interval: 1m
        params: {period: 20, deviations: 2.0}
    features:
      - class: my_plugins.RangeFeature
        params: {window: 14}

A signal plugin subclasses ``SignalPlugin``, declares its ``Params`` (a frozen
msgspec struct: YAML is checked against it) and returns a ``SignalStream`` per
asset. The default ``batch`` replays that stream, so batch and live agree by
construction; override ``batch`` to compute with arrays when speed matters.
A feature is any class with ``columns``, ``update(candle)`` and ``batch(frame)``.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.indicators import streaming
from tradefabric.analytics.signals.base import (
    Direction,
    Evidence,
    Signal,
    SignalPlugin,
    SignalStream,
    make_signal,
)
from tradefabric.model.data import Candle


class BreakoutParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters of ``BollingerBreakout``."""

    period: int = 20
    deviations: float = 2.0
    horizon: str = "30m"


class BollingerBreakout(SignalPlugin):
    """Long when the close crosses above the upper Bollinger band, short below the lower."""

    Params = BreakoutParams
    params: BreakoutParams

    def stream(self) -> SignalStream:
        """Return a fresh live state for one asset."""
        return _BreakoutStream(self)


class _BreakoutStream(SignalStream):
    def __init__(self, plugin: BollingerBreakout) -> None:
        self.plugin = plugin
        p = plugin.params
        self.bands = streaming.BollingerBands(p.period, p.deviations, p.deviations)
        self.inside = False

    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        upper, _middle, lower = self.bands.update(candle.close)
        if math.isnan(upper):  # still warming up
            return None
        was_inside, self.inside = self.inside, lower <= candle.close <= upper
        if not was_inside or self.inside:
            return None
        long = candle.close > upper
        band = upper if long else lower
        evidence = (Evidence("close_vs_band", candle.close, band, candle.ts_event),)
        return make_signal(
            self.plugin,
            candle,
            direction=Direction.LONG if long else Direction.SHORT,
            strength=min(1.0, abs(candle.close - band) / max(upper - lower, 1e-12) * 4),
            evidence=evidence,
            now_ns=now_ns,
        )


class RangeFeature:
    """Average high-low range over ``window`` candles, relative to the close."""

    def __init__(self, *, window: int = 14) -> None:
        self.window = window
        self.columns = (f"range_{window}",)
        self._sma = streaming.Sma(window)

    def update(self, candle: Candle) -> tuple[float, ...]:
        """Add a candle."""
        return (self._sma.update((candle.high - candle.low) / candle.close),)

    def batch(self, frame: CandleFrame) -> tuple[np.ndarray, ...]:
        """Compute over a series (the same running sum as ``update``)."""
        sma = streaming.Sma(self.window)
        rel = (frame.high - frame.low) / frame.close
        return (np.array([sma.update(x) for x in rel.tolist()]),)
