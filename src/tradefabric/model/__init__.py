"""Domain model: instruments and market data events."""

from tradefabric.model.data import (
    Candle,
    GapReport,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    OrderBookStatus,
    PriceLevel,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.model.enums import AggressorSide, EmptyCandlePolicy, InstrumentKind
from tradefabric.model.instrument import Instrument

__all__ = [
    "AggressorSide",
    "Candle",
    "EmptyCandlePolicy",
    "GapReport",
    "Instrument",
    "InstrumentKind",
    "Liquidation",
    "MarkPrice",
    "OpenInterest",
    "OrderBookDeltas",
    "OrderBookSnapshot",
    "OrderBookStatus",
    "PriceLevel",
    "Quote",
    "Trade",
    "TradeGap",
]
