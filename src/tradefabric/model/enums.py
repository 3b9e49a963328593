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


class CandleFlag(enum.IntFlag):
    """Why a stored candle is not plain venue data; 0 means it is."""

    INTERPOLATED = 1
    """Filled in for a missing interval; no trade data stands behind it."""
    CORRECTED = 2
    """Replaced an outlier; the original row is kept beside it."""
    PARTIAL = 4
    """Built from part of its interval (a feed or replay started or stopped inside it).

    A complete candle of the same interval and open time, or the venue's own
    kline, replaces it in the catalog.
    """
