"""Topics the integrity layer publishes on."""

from __future__ import annotations

from tradefabric.core.bus import Topic
from tradefabric.integrity.events import (
    Anomaly,
    ArbitrageEpisode,
    ConsensusPrice,
    Correction,
    StablecoinEvent,
    VenueDeviation,
    VenueQuality,
)

CONSENSUS: Topic[ConsensusPrice] = Topic("integrity.consensus", ConsensusPrice)
DEVIATIONS: Topic[VenueDeviation] = Topic("integrity.deviations", VenueDeviation)
ANOMALIES: Topic[Anomaly] = Topic("integrity.anomalies", Anomaly)
CORRECTIONS: Topic[Correction] = Topic("integrity.corrections", Correction)
STABLECOINS: Topic[StablecoinEvent] = Topic("integrity.stablecoins", StablecoinEvent)
"""A stablecoin de-peg: once when it is confirmed (``phase`` start), once when it ends."""
ARBITRAGE: Topic[ArbitrageEpisode] = Topic("integrity.arbitrage", ArbitrageEpisode)
"""An arbitrage episode: once when confirmed (``phase`` open), once when over (closed)."""
QUALITY: Topic[VenueQuality] = Topic("integrity.quality", VenueQuality)
