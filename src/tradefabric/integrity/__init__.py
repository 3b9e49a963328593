"""Data integrity: cross-venue triangulation, anomaly detection and correction, arbitrage alerts.

One ``Triangulator`` consumes per-venue candles and quotes in time order and
publishes what it finds on the bus (``integrity/topics.py``): a consensus price
per asset from at least three venues, each venue's deviation from it, anomalies,
corrected candles, stablecoin de-pegs and arbitrage episodes. The live node
feeds it from the bus; ``triangulate_catalog`` feeds it the catalog's candles in
time order, so streaming and batch are the same code.
"""

from __future__ import annotations

from tradefabric.integrity.config import IntegrityConfig
from tradefabric.integrity.events import (
    Anomaly,
    AnomalyKind,
    ArbitrageEpisode,
    ConsensusPrice,
    Correction,
    StablecoinEvent,
    VenueDeviation,
    VenueQuality,
)
from tradefabric.integrity.triangulator import Triangulator

__all__ = [
    "Anomaly",
    "AnomalyKind",
    "ArbitrageEpisode",
    "ConsensusPrice",
    "Correction",
    "IntegrityConfig",
    "StablecoinEvent",
    "Triangulator",
    "VenueDeviation",
    "VenueQuality",
]
