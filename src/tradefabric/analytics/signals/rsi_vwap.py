"""Alpha 2: RSI divergence confirmed by a VWAP bounce (5m by default).

A swing low is a candle whose low is below the lows of the ``pivot`` candles on
each side; it is known only ``pivot`` candles later. Bullish divergence: a swing
low below the previous one (within ``lookback`` candles) while RSI at it is
higher than at the previous one. The signal fires when, within ``max_wait``
candles of that, a candle dips to the VWAP (low within ``tolerance_bps``) and
closes above it. The bearish case mirrors it with swing highs and a rejection
from below the VWAP.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

import msgspec

from tradefabric.analytics.indicators import batch as b
from tradefabric.analytics.indicators import streaming as s
from tradefabric.analytics.signals.base import (
    BatchInputs,
    Direction,
    Evidence,
    Signal,
    SignalPlugin,
    SignalStream,
    make_signal,
)
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle


class RsiVwapParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters of ``RsiDivergenceVwap``."""

    rsi_period: int = 14
    pivot: int = 2
    lookback: int = 30
    max_wait: int = 6
    tolerance_bps: float = 5.0
    vwap: Literal["session", "rolling"] = "session"
    vwap_window: int = 48
    session: str = "1d"
    horizon: str = "1h"

    def __post_init__(self) -> None:
        if self.pivot < 1 or self.lookback <= self.pivot or self.max_wait < 1:
            raise ConfigError("rsi divergence: need pivot >= 1, lookback > pivot, max_wait >= 1")


class _Point(msgspec.Struct, frozen=True):
    index: int
    price: float
    rsi: float
    ts_event: int


class _Armed(msgspec.Struct, frozen=True):
    direction: Direction
    previous: _Point
    current: _Point
    expires: int


class StepInput(msgspec.Struct, frozen=True):
    """One candle as the divergence rule sees it."""

    index: int
    high: float
    low: float
    close: float
    rsi: float
    vwap: float
    ts_event: int


class DivergenceRule:
    """The divergence + VWAP bounce state machine, fed one candle at a time.

    Batch and streaming both run it; they differ only in how RSI and VWAP are computed.
    """

    def __init__(self, params: RsiVwapParams) -> None:
        self.params = params
        self._window: deque[StepInput] = deque(maxlen=2 * params.pivot + 1)
        self._last_low: _Point | None = None
        self._last_high: _Point | None = None
        self._armed: _Armed | None = None

    def step(self, x: StepInput) -> tuple[_Armed, float] | None:
        """Add one candle; return the divergence it confirms with a bounce, and the VWAP."""
        self._window.append(x)
        if len(self._window) == self._window.maxlen:
            self._find_pivots()
        armed = self._armed
        if armed is None or math.isnan(x.vwap):
            return None
        if x.index > armed.expires:
            self._armed = None
            return None
        tol = self.params.tolerance_bps / 10_000.0
        if armed.direction is Direction.LONG:
            bounced = x.low <= x.vwap * (1.0 + tol) and x.close > x.vwap
        else:
            bounced = x.high >= x.vwap * (1.0 - tol) and x.close < x.vwap
        if not bounced:
            return None
        self._armed = None
        return armed, x.vwap

    def _find_pivots(self) -> None:
        window = list(self._window)
        mid = window[self.params.pivot]
        others = window[: self.params.pivot] + window[self.params.pivot + 1 :]
        newest = window[-1].index
        if all(mid.low < o.low for o in others):
            point = _Point(mid.index, mid.low, mid.rsi, mid.ts_event)
            prev = self._last_low
            if prev is not None and self._diverges(prev, point, lower=True):
                self._armed = _Armed(Direction.LONG, prev, point, newest + self.params.max_wait)
            self._last_low = point
        if all(mid.high > o.high for o in others):
            point = _Point(mid.index, mid.high, mid.rsi, mid.ts_event)
            prev = self._last_high
            if prev is not None and self._diverges(prev, point, lower=False):
                self._armed = _Armed(Direction.SHORT, prev, point, newest + self.params.max_wait)
            self._last_high = point

    def _diverges(self, prev: _Point, point: _Point, *, lower: bool) -> bool:
        if point.index - prev.index > self.params.lookback:
            return False
        if math.isnan(prev.rsi) or math.isnan(point.rsi):
            return False
        if lower:
            return point.price < prev.price and point.rsi > prev.rsi
        return point.price > prev.price and point.rsi < prev.rsi


class RsiDivergenceVwap(SignalPlugin):
    """RSI divergence confirmed by a bounce off the VWAP."""

    Params = RsiVwapParams
    params: RsiVwapParams

    def stream(self) -> SignalStream:
        """Return a fresh live state for one asset."""
        return _Stream(self)

    def batch(self, inputs: BatchInputs) -> list[Signal]:
        """Return every signal over the frame, with RSI from TA-Lib and the batch VWAP."""
        frame, p = inputs.frame, self.params
        rsi = b.rsi(frame.close, p.rsi_period)
        price = b.vwap_prices(frame.high, frame.low, frame.close, frame.vwap)
        if p.vwap == "session":
            vwap = b.session_vwap(frame.ts_open, price, frame.volume, interval_to_ns(p.session))
        else:
            vwap = b.rolling_vwap(price, frame.volume, p.vwap_window)
        rule = DivergenceRule(p)
        out: list[Signal] = []
        columns = (frame.high, frame.low, frame.close, rsi, vwap)
        high, low, close, rsi_list, vwap_list = (c.tolist() for c in columns)
        ts_event = frame.ts_event.tolist()
        for i in range(len(frame)):
            x = StepInput(i, high[i], low[i], close[i], rsi_list[i], vwap_list[i], ts_event[i])
            fired = rule.step(x)
            if fired is not None:
                out.append(_signal(self, fired, frame.candle(i), x.ts_event))
        return out


def _signal(
    plugin: RsiDivergenceVwap, fired: tuple[_Armed, float], candle: Candle, now: int
) -> Signal:
    armed, vwap = fired
    prev, cur = armed.previous, armed.current
    rsi_gap = abs(cur.rsi - prev.rsi)
    ts = candle.ts_event
    evidence = (
        Evidence("swing_previous", prev.price, prev.rsi, prev.ts_event),
        Evidence("swing_current", cur.price, cur.rsi, cur.ts_event),
        Evidence("rsi_divergence", rsi_gap, 0.0, cur.ts_event),
        Evidence("vwap_bounce", candle.close, vwap, ts),
    )
    return make_signal(
        plugin, candle, direction=armed.direction, strength=0.5 + rsi_gap / 40.0,
        evidence=evidence, now_ns=now,
    )  # fmt: skip


class _Stream(SignalStream):
    def __init__(self, plugin: RsiDivergenceVwap) -> None:
        p = plugin.params
        self.plugin = plugin
        self.rsi = s.Rsi(p.rsi_period)
        self.session_vwap = s.SessionVwap(interval_to_ns(p.session))
        self.rolling_vwap = s.RollingVwap(p.vwap_window)
        self.rule = DivergenceRule(p)
        self.index = -1

    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        self.index += 1
        rsi = self.rsi.update(candle.close)
        price = s.vwap_price(candle.high, candle.low, candle.close, candle.vwap)
        if self.plugin.params.vwap == "session":
            vwap = self.session_vwap.update(candle.ts_open, price, candle.volume)
        else:
            vwap = self.rolling_vwap.update(price, candle.volume)
        x = StepInput(self.index, candle.high, candle.low, candle.close, rsi, vwap, candle.ts_event)
        fired = self.rule.step(x)
        return None if fired is None else _signal(self.plugin, fired, candle, now_ns)
