"""What a signal is, and what a signal plugin implements.

A plugin (``SignalPlugin``) is configured once (name, interval, typed params) and
makes one ``SignalStream`` per asset for live data, candle by candle; its
``batch`` runs the same rule over whole arrays. The built-in alphas compute their
indicators with the batch functions (TA-Lib) there and with the streaming
classes live, and feed both into one shared rule, so the two agree.

A signal carries ``data_ts``, the newest ``ts_event`` of any data it used, and its
own ``ts``, strictly later: a decision exists only after its data does.
"""

from __future__ import annotations

import enum
import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import msgspec

from tradefabric.analytics.frame import CandleFrame
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.model.data import Candle, Liquidation, OpenInterest


class Direction(enum.IntEnum):
    """Which way a signal or decision points."""

    SHORT = -1
    FLAT = 0
    LONG = 1


class Evidence(msgspec.Struct, frozen=True):
    """One input that fired: its name, value, the threshold it crossed, and its time."""

    name: str
    value: float
    threshold: float
    ts_event: int


class FactorScore(msgspec.Struct, frozen=True):
    """One confidence factor: its value in [0, 1], weight and contribution (value x weight).

    ``available`` is False when the factor's input was missing; it then counts as
    neutral (value 0.5).
    """

    name: str
    weight: float
    value: float
    contribution: float
    available: bool
    detail: str


class Signal(msgspec.Struct, frozen=True, kw_only=True):
    """A trading signal with its evidence and, once scored, its confidence."""

    source: str
    """The plugin instance's name from the config."""
    venue: str
    asset: str
    interval: str
    direction: Direction
    horizon: str
    strength: float
    evidence: tuple[Evidence, ...]
    price: float
    """The last price the signal saw (close of its candle), for walk-forward returns."""
    data_ts: int
    ts: int
    confidence: float = math.nan
    factors: tuple[FactorScore, ...] = ()

    @property
    def horizon_ns(self) -> int:
        """Return the horizon in ns."""
        return interval_to_ns(self.horizon)


def stamp(now_ns: int, data_ts: int) -> int:
    """Return a signal's time: the clock's, but always after the newest data used."""
    return now_ns if now_ns > data_ts else data_ts + 1


class SignalStream(ABC):
    """The live state of one plugin for one asset."""

    def on_liquidation(self, event: Liquidation) -> None:  # noqa: B027 - optional hook
        """Receive a liquidation of this asset (plugins that use them override this)."""

    def on_open_interest(self, event: OpenInterest) -> None:  # noqa: B027 - optional hook
        """Receive an open interest update of this asset (plugins that use them override this)."""

    @abstractmethod
    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        """Add one closed candle of the plugin's interval; return a signal or None."""


class BatchInputs(msgspec.Struct, frozen=True):
    """What a batch run gives a plugin: its interval's candles and derivatives events."""

    frame: CandleFrame
    liquidations: tuple[Liquidation, ...] = ()
    open_interest: tuple[OpenInterest, ...] = ()


class SignalPlugin(ABC):
    """Base of every signal plugin; subclasses set ``Params`` and implement ``stream``.

    ``batch`` defaults to running a fresh stream over the frame; built-in alphas
    override it to compute their indicators in batch.
    """

    Params: ClassVar[type[msgspec.Struct]]

    def __init__(self, *, name: str, interval: str, params: Any) -> None:
        interval_to_ns(interval)
        if not isinstance(params, self.Params):
            raise ConfigError(f"{name}: params must be a {self.Params.__name__}")
        self.name = name
        self.interval = interval
        self.params = params

    @abstractmethod
    def stream(self) -> SignalStream:
        """Return a fresh live state for one asset."""

    def batch(self, inputs: BatchInputs) -> list[Signal]:
        """Return every signal over ``inputs`` (default: a stream run candle by candle)."""
        stream = self.stream()
        events = merged_events(inputs)
        k = 0
        out: list[Signal] = []
        for candle in inputs.frame.candles():
            # Only events strictly before the candle's close were known when it closed.
            while k < len(events) and events[k].ts_event < candle.ts_event:
                feed_event(stream, events[k])
                k += 1
            signal = stream.on_candle(candle, candle.ts_event)
            if signal is not None:
                out.append(signal)
        return out


def merged_events(inputs: BatchInputs) -> list[Liquidation | OpenInterest]:
    """Return the derivatives events of ``inputs`` in time order (stable for ties)."""
    events: list[Liquidation | OpenInterest] = [*inputs.liquidations, *inputs.open_interest]
    events.sort(key=lambda e: e.ts_event)
    return events


def feed_event(stream: SignalStream, event: Liquidation | OpenInterest) -> None:
    """Hand one derivatives event to ``stream``."""
    if isinstance(event, Liquidation):
        stream.on_liquidation(event)
    else:
        stream.on_open_interest(event)


def make_signal(
    plugin: SignalPlugin,
    candle: Candle,
    *,
    direction: Direction,
    strength: float,
    evidence: tuple[Evidence, ...],
    now_ns: int,
) -> Signal:
    """Build the signal ``plugin`` fires on ``candle`` (its newest data)."""
    horizon = getattr(plugin.params, "horizon", plugin.interval)
    return Signal(
        source=plugin.name,
        venue=candle.venue,
        asset=candle.symbol,
        interval=plugin.interval,
        direction=direction,
        horizon=horizon,
        strength=min(max(strength, 0.0), 1.0),
        evidence=evidence,
        price=candle.close,
        data_ts=candle.ts_event,
        ts=stamp(now_ns, candle.ts_event),
    )
