"""Enumerations shared by the domain model."""

from __future__ import annotations

import enum


class AggressorSide(enum.StrEnum):
    """Which side took liquidity in a trade."""

    BUY = "buy"
    SELL = "sell"


class InstrumentKind(enum.StrEnum):
    """What kind of contract an instrument is."""

    SPOT = "spot"
    PERPETUAL = "perpetual"


class EmptyCandlePolicy(enum.StrEnum):
    """What a candle aggregator emits for an interval with no trades."""

    SKIP = "skip"
    """Emit nothing: the candle series has a hole where no trade happened."""
    CARRY = "carry"
    """Emit a flat candle at the previous close with zero volume and zero trades."""
