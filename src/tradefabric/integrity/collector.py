"""Collect what a Triangulator publishes into one result: the batch path's output."""

from __future__ import annotations

import msgspec
import numpy as np

from tradefabric.core.bus import MessageBus
from tradefabric.integrity import topics
from tradefabric.integrity.events import (
    Anomaly,
    ArbitrageEpisode,
    ConsensusPrice,
    Correction,
    StablecoinEvent,
    VenueDeviation,
    VenueQuality,
)


class DeviationStats(msgspec.Struct, frozen=True):
    """How one series deviated from its asset's consensus, in bps, over the run."""

    venue: str
    symbol: str
    count: int
    mean_bps: float
    median_abs_bps: float
    p95_abs_bps: float
    max_abs_bps: float


class SeriesPoints(msgspec.Struct, frozen=True):
    """One series' USD prices as judged (for charts)."""

    venue: str
    symbol: str
    ts: tuple[int, ...]
    price_usd: tuple[float, ...]


class TriangulationResult(msgspec.Struct, frozen=True):
    """Everything one run published, with the selected asset's consensus and series."""

    asset: str
    candles: int
    late_candles: int
    consensus_ts: tuple[int, ...]
    consensus_price: tuple[float, ...]
    consensus_valid: tuple[bool, ...]
    consensus_venues: tuple[int, ...]
    deviations: tuple[DeviationStats, ...]
    series: tuple[SeriesPoints, ...]
    anomalies: tuple[Anomaly, ...]
    corrections: tuple[Correction, ...]
    stablecoin_events: tuple[StablecoinEvent, ...]
    arbitrage: tuple[ArbitrageEpisode, ...]
    """Closed episodes of every asset checked."""
    quality: tuple[VenueQuality, ...]


class Collector:
    """Subscribe to every integrity topic of ``bus`` and keep what the result needs."""

    def __init__(self, bus: MessageBus, asset: str) -> None:
        self._asset = asset
        self._consensus: list[ConsensusPrice] = []
        self._points: dict[tuple[str, str], tuple[list[int], list[float], list[float]]] = {}
        self._anomalies: dict[tuple[str, str, str, int], Anomaly] = {}
        self._corrections: list[Correction] = []
        self._stable: list[StablecoinEvent] = []
        self._arbitrage: list[ArbitrageEpisode] = []
        self._quality: dict[tuple[str, str], VenueQuality] = {}
        bus.subscribe(topics.CONSENSUS, self._on_consensus)
        bus.subscribe(topics.DEVIATIONS, self._on_deviation)
        bus.subscribe(topics.ANOMALIES, self._on_anomaly)
        bus.subscribe(topics.CORRECTIONS, self._corrections.append)
        bus.subscribe(topics.STABLECOINS, self._stable.append)
        bus.subscribe(topics.ARBITRAGE, self._on_arbitrage)
        bus.subscribe(topics.QUALITY, self._on_quality)

    def _on_consensus(self, event: ConsensusPrice) -> None:
        if event.asset == self._asset:
            self._consensus.append(event)

    def _on_deviation(self, event: VenueDeviation) -> None:
        key = (event.venue, event.symbol)
        points = self._points.get(key)
        if points is None:
            points = self._points[key] = ([], [], [])
        points[0].append(event.ts_event)
        points[1].append(event.price_usd)
        points[2].append(event.deviation_bps)

    def _on_anomaly(self, event: Anomaly) -> None:
        # A stale feed is published when it starts and again when it ends: keep the last.
        self._anomalies[(event.venue, event.symbol, event.kind, event.ts_event)] = event

    def _on_arbitrage(self, event: ArbitrageEpisode) -> None:
        if event.phase == "closed":
            self._arbitrage.append(event)

    def _on_quality(self, event: VenueQuality) -> None:
        self._quality[(event.venue, event.symbol)] = event

    def result(self, candles: int, late_candles: int) -> TriangulationResult:
        """Return everything collected so far."""
        consensus = self._consensus
        series = []
        stats = []
        for (venue, symbol), (ts, prices, devs) in sorted(self._points.items()):
            series.append(SeriesPoints(venue, symbol, tuple(ts), tuple(prices)))
            stats.append(_stats(venue, symbol, devs))
        return TriangulationResult(
            asset=self._asset,
            candles=candles,
            late_candles=late_candles,
            consensus_ts=tuple(c.ts_event for c in consensus),
            consensus_price=tuple(c.price for c in consensus),
            consensus_valid=tuple(c.valid for c in consensus),
            consensus_venues=tuple(c.venues for c in consensus),
            deviations=tuple(stats),
            series=tuple(series),
            anomalies=tuple(sorted(self._anomalies.values(), key=_anomaly_order)),
            corrections=tuple(self._corrections),
            stablecoin_events=tuple(self._stable),
            arbitrage=tuple(sorted(self._arbitrage, key=lambda e: (e.ts_start, e.buy_venue))),
            quality=tuple(self._quality[k] for k in sorted(self._quality)),
        )


def _anomaly_order(a: Anomaly) -> tuple[int, str, str, str]:
    return (a.ts_event, a.venue, a.symbol, a.kind)


def _stats(venue: str, symbol: str, deviations: list[float]) -> DeviationStats:
    values = np.asarray(deviations, dtype=np.float64)
    if values.size == 0:
        return DeviationStats(venue, symbol, 0, 0.0, 0.0, 0.0, 0.0)
    magnitude = np.abs(values)
    return DeviationStats(
        venue=venue,
        symbol=symbol,
        count=int(values.size),
        mean_bps=float(values.mean()),
        median_abs_bps=float(np.median(magnitude)),
        p95_abs_bps=float(np.percentile(magnitude, 95)),
        max_abs_bps=float(magnitude.max()),
    )
