"""Alpha 3: open-interest-weighted liquidation hunting (1h by default).

Per candle window ``[ts_open, ts_event)`` of an asset, the liquidations of its
perpetuals (Binance USD-M ``forceOrder``, Bybit ``allLiquidation``; any venue
publishing ``Liquidation`` events) are summed in quote notional per side: ``sell``
liquidation orders close longs, ``buy`` ones close shorts. The dominant side is a
cluster when its notional is at least ``min_notional`` and ``cluster_factor``
times the average total of the ``baseline`` windows before, after weighting by
the window's open interest change (Binance open interest, Bybit tickers):

    score = dominant / baseline * (1 + oi_weight * max(0, -oi_change))

A falling open interest means positions were really closed, which is what makes a
flush exhaust itself. ``mode: reversal`` trades against the liquidated side's
move (longs flushed -> long), ``continuation`` with it.

Derivatives symbols map to the asset by dropping the settle currency:
``BTC/USDT:USDT`` -> ``BTC/USDT``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

import msgspec

from tradefabric.analytics.signals.base import (
    BatchInputs,
    Direction,
    Evidence,
    Signal,
    SignalPlugin,
    SignalStream,
    make_signal,
    merged_events,
)
from tradefabric.core.errors import ConfigError
from tradefabric.model.data import Candle, Liquidation, OpenInterest
from tradefabric.model.enums import AggressorSide


def underlying(symbol: str) -> str:
    """Return the spot asset a derivative tracks: ``BTC/USDT:USDT`` -> ``BTC/USDT``."""
    return symbol.partition(":")[0]


class LiquidationParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Parameters of ``LiquidationHunt``."""

    mode: Literal["reversal", "continuation"] = "reversal"
    min_notional: float = 1_000_000.0
    cluster_factor: float = 3.0
    baseline: int = 24
    oi_weight: float = 50.0
    horizon: str = "4h"

    def __post_init__(self) -> None:
        if self.min_notional <= 0 or self.cluster_factor <= 0 or self.baseline < 1:
            raise ConfigError(
                "liquidation hunt: min_notional, cluster_factor, baseline must be > 0"
            )


class Window(msgspec.Struct, frozen=True):
    """What one candle window held: liquidated notional per side and the OI change."""

    long_notional: float
    short_notional: float
    oi_change: float
    """Relative change of total open interest over the window; NaN if unknown."""


class _OiTracker:
    """Latest open interest per (venue, symbol), and its value at the window's start."""

    def __init__(self) -> None:
        self.latest: dict[tuple[str, str], float] = {}
        self.start: dict[tuple[str, str], float] = {}

    def add(self, event: OpenInterest) -> None:
        self.latest[(event.venue, event.symbol)] = event.open_interest

    def close_window(self) -> float:
        """Return the window's relative OI change over venues known at both ends."""
        before = after = 0.0
        for key, value in self.latest.items():
            start = self.start.get(key)
            if start is not None:
                before += start
                after += value
        self.start = dict(self.latest)
        return after / before - 1.0 if before > 0.0 else math.nan


class LiquidationRule:
    """Window sums, the rolling baseline and the cluster decision; shared by both forms."""

    def __init__(self, params: LiquidationParams) -> None:
        self.params = params
        self._totals: deque[float] = deque(maxlen=params.baseline)
        self._long = 0.0
        self._short = 0.0
        self._oi = _OiTracker()

    def on_liquidation(self, event: Liquidation) -> None:
        """Add a liquidation to the open window."""
        notional = event.price * event.size
        if event.side == AggressorSide.SELL:
            self._long += notional
        else:
            self._short += notional

    def on_open_interest(self, event: OpenInterest) -> None:
        """Record an open interest reading."""
        self._oi.add(event)

    def close(self) -> tuple[Window, float] | None:
        """Close the window; return it and its score when it is a cluster."""
        window = Window(self._long, self._short, self._oi.close_window())
        self._long = self._short = 0.0
        totals = self._totals
        full = len(totals) == totals.maxlen
        baseline = sum(totals) / len(totals) if full else math.nan
        totals.append(window.long_notional + window.short_notional)
        if not full:
            return None
        p = self.params
        dominant = max(window.long_notional, window.short_notional)
        if dominant < p.min_notional:
            return None
        oi_drop = max(0.0, -window.oi_change) if not math.isnan(window.oi_change) else 0.0
        score = dominant / max(baseline, p.min_notional) * (1.0 + p.oi_weight * oi_drop)
        return (window, score) if score >= p.cluster_factor else None


class LiquidationHunt(SignalPlugin):
    """Trade liquidation clusters weighted by the open interest change."""

    Params = LiquidationParams
    params: LiquidationParams

    def stream(self) -> SignalStream:
        """Return a fresh live state for one asset."""
        return _Stream(self)

    def batch(self, inputs: BatchInputs) -> list[Signal]:
        """Return every signal: events bucketed into the frame's windows by time."""
        rule = LiquidationRule(self.params)
        events = merged_events(inputs)
        frame = inputs.frame
        k = 0
        out: list[Signal] = []
        for i in range(len(frame)):
            ts_open, ts_end = int(frame.ts_open[i]), int(frame.ts_event[i])
            while k < len(events) and events[k].ts_event < ts_end:
                event = events[k]
                k += 1
                if isinstance(event, OpenInterest):
                    rule.on_open_interest(event)
                elif event.ts_event >= ts_open:
                    rule.on_liquidation(event)
            fired = rule.close()
            if fired is not None:
                out.append(_signal(self, fired, frame.candle(i), ts_end))
        return out


def _signal(
    plugin: LiquidationHunt, fired: tuple[Window, float], candle: Candle, now: int
) -> Signal:
    window, score = fired
    p = plugin.params
    longs_flushed = window.long_notional >= window.short_notional
    direction = Direction.LONG if longs_flushed else Direction.SHORT
    if p.mode == "continuation":
        direction = Direction(-direction)
    ts = candle.ts_event
    evidence = (
        Evidence("long_liquidations", window.long_notional, p.min_notional, ts),
        Evidence("short_liquidations", window.short_notional, p.min_notional, ts),
        Evidence("oi_change", window.oi_change, 0.0, ts),
        Evidence("cluster_score", score, p.cluster_factor, ts),
    )
    strength = score / (2.0 * p.cluster_factor)
    return make_signal(
        plugin, candle, direction=direction, strength=strength, evidence=evidence, now_ns=now
    )


class _Stream(SignalStream):
    def __init__(self, plugin: LiquidationHunt) -> None:
        self.plugin = plugin
        self.rule = LiquidationRule(plugin.params)
        self.pending: deque[Liquidation | OpenInterest] = deque()

    # Events are held until the candle that closes their window arrives: a live feed
    # may deliver the previous window's candle after them, and that window must not
    # see them (the batch form buckets by time the same way).
    def on_liquidation(self, event: Liquidation) -> None:
        self.pending.append(event)

    def on_open_interest(self, event: OpenInterest) -> None:
        self.pending.append(event)

    def on_candle(self, candle: Candle, now_ns: int) -> Signal | None:
        pending = self.pending
        while pending and pending[0].ts_event < candle.ts_event:
            event = pending.popleft()
            if isinstance(event, OpenInterest):
                self.rule.on_open_interest(event)
            elif event.ts_event >= candle.ts_open:
                self.rule.on_liquidation(event)
        fired = self.rule.close()
        return None if fired is None else _signal(self.plugin, fired, candle, now_ns)
