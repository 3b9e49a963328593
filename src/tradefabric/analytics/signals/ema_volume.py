"""Alpha 1: EMA crossover confirmed by volume (1m by default).

Long when the fast EMA crosses above the slow one on a candle whose volume is
above ``volume_factor`` times the average volume of the ``volume_window``
candles before it; short on the mirror cross. Strength grows with the volume
ratio: 0.5 at the threshold, 1.0 at twice it.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

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
from tradefabric.model.data import Candle


class EmaVolumeParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters of ``EmaVolumeCrossover``."""

    fast: int = 9
    slow: int = 21
    volume_window: int = 20
    volume_factor: float = 1.5
    horizon: str = "15m"

    def __post_init__(self) -> None:
        if not 2 <= self.fast < self.slow:
            raise ConfigError(f"ema crossover: need 2 <= fast < slow, got {self.fast}, {self.slow}")
        if self.volume_factor <= 0 or self.volume_window < 1:
            raise ConfigError("ema crossover: volume_factor must be > 0 and volume_window >= 1")


class _Step(msgspec.Struct, frozen=True):
    """The rule's inputs at one candle: EMAs now and before, volume and its prior average."""

    prev_fast: float
    prev_slow: float
    fast: float
    slow: float
    volume: float
    avg_volume: float


def decide(step: _Step, params: EmaVolumeParams) -> tuple[Direction, float, float]:
    """Return (direction, strength, volume ratio) of one candle; FLAT when nothing fires."""
    values = (step.prev_fast, step.prev_slow, step.fast, step.slow, step.avg_volume)
    if any(math.isnan(v) for v in values) or step.avg_volume <= 0.0:
        return Direction.FLAT, 0.0, math.nan
    ratio = step.volume / step.avg_volume
    if ratio <= params.volume_factor:
        return Direction.FLAT, 0.0, ratio
    if step.prev_fast <= step.prev_slow and step.fast > step.slow:
        direction = Direction.LONG
    elif step.prev_fast >= step.prev_slow and step.fast < step.slow:
        direction = Direction.SHORT
    else:
        return Direction.FLAT, 0.0, ratio
    return direction, ratio / params.volume_factor / 2.0, ratio


class EmaVolumeCrossover(SignalPlugin):
    """EMA crossover confirmed by volume."""

    Params = EmaVolumeParams
    params: EmaVolumeParams

    def stream(self) -> SignalStream:
        """Return a fresh live state for one asset."""
        return _Stream(self)

    def batch(self, inputs: BatchInputs) -> list[Signal]:
        """Return every signal over the frame, with the EMAs and average from TA-Lib."""
        frame, p = inputs.frame, self.params
        # Lists of Python floats: the rule and the signal see the same types as live.
        fast = b.ema(frame.close, p.fast).tolist()
        slow = b.ema(frame.close, p.slow).tolist()
        avg = np.r_[np.nan, b.sma(frame.volume, p.volume_window)[:-1]].tolist()
        volume = frame.volume.tolist()
        out: list[Signal] = []
        for i in range(1, len(frame)):
            step = _Step(fast[i - 1], slow[i - 1], fast[i], slow[i], volume[i], avg[i])
            if decide(step, p)[0] is Direction.FLAT:
                continue
            signal = _signal(self, step, frame.candle(i), int(frame.ts_event[i]))
            if signal is not None:
                out.append(signal)
        return out


def _signal(plugin: EmaVolumeCrossover, step: _Step, candle: Candle, now: int) -> Signal | None:
    direction, strength, ratio = decide(step, plugin.params)
    if direction is Direction.FLAT:
        return None
    ts = candle.ts_event
    evidence = (
        Evidence("ema_spread", step.fast - step.slow, 0.0, ts),
        Evidence("volume_ratio", ratio, plugin.params.volume_factor, ts),
    )
    return make_signal(
        plugin, candle, direction=direction, strength=strength, evidence=evidence, now_ns=now
    )


class _Stream(SignalStream):
    def __init__(self, plugin: EmaVolumeCrossover) -> None:
        p = plugin.params
        self.plugin = plugin
        self.fast = s.Ema(p.fast)
        self.slow = s.Ema(p.slow)
        self.volume = s.Sma(p.volume_window)
        self.avg_volume = math.nan

    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        prev_fast, prev_slow = self.fast.value, self.slow.value
        fast = self.fast.update(candle.close)
        slow = self.slow.update(candle.close)
        step = _Step(prev_fast, prev_slow, fast, slow, candle.volume, self.avg_volume)
        # The average is of the candles before this one: update it only after deciding.
        self.avg_volume = self.volume.update(candle.volume)
        return _signal(self.plugin, step, candle, now_ns)
