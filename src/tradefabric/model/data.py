"""Market data events: immutable, venue-neutral, timestamped in int ns UTC.

Every event carries ``ts_event`` (when the venue says it happened) and
``ts_recv`` (when we received it), the venue name and the unified symbol.
Fields are positional in this order so hot paths can build events cheaply.
"""

from __future__ import annotations

import msgspec

from tradefabric.model.enums import AggressorSide

PriceLevel = tuple[float, float]
"""One book level as ``(price, size)``; size 0 in a delta removes the level."""


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One trade as printed by the venue; ``side`` is the aggressor's."""

    venue: str
    symbol: str
    price: float
    size: float
    side: AggressorSide
    trade_id: str
    ts_event: int
    ts_recv: int


class TradeGap(msgspec.Struct, frozen=True, gc=False):
    """Trades the venue numbered but we never received (ids ``first_missing..last_missing``).

    Published when a venue's contiguous trade ids jump, so a loss is recorded and
    can be backfilled, never hidden.
    """

    venue: str
    symbol: str
    first_missing: int
    last_missing: int
    ts_event: int
    ts_recv: int

    @property
    def missing(self) -> int:
        """Return how many trades are missing."""
        return self.last_missing - self.first_missing + 1


class GapReport(msgspec.Struct, frozen=True, gc=False):
    """What a backfill could recover of a ``TradeGap``: nothing is hidden.

    Where trade ids count up by one per symbol the hole is ``first_missing..
    last_missing`` and ``unrecoverable`` is exact. Elsewhere (Bybit: spot ids are
    shared by every symbol, linear ids are UUIDs) only its time is known: the trades
    after the one at ``ts_event`` up to the one at ``ts_until``; ids and
    ``unrecoverable`` are then -1 (``counted`` is False).
    """

    venue: str
    symbol: str
    first_missing: int
    last_missing: int
    recovered: int
    unrecoverable: int
    ts_event: int
    """When the last trade before the hole happened."""
    ts_recv: int
    ts_until: int = 0
    """When the first trade served after the hole happened (0: not known)."""

    @property
    def counted(self) -> bool:
        """Return whether the hole's trades are counted (ids that count up per symbol)."""
        return self.unrecoverable >= 0

    @property
    def missing_count(self) -> int:
        """Return how many trades the gap held (-1: not known, see ``counted``)."""
        if not self.counted:
            return -1
        return self.last_missing - self.first_missing + 1


class Quote(msgspec.Struct, frozen=True, gc=False):
    """Best bid and ask as published by the venue (e.g. Binance ``bookTicker``).

    ``sequence`` is the venue's update id for the book state shown, or -1.
    """

    venue: str
    symbol: str
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    sequence: int
    ts_event: int
    ts_recv: int


class OrderBookDeltas(msgspec.Struct, frozen=True, gc=False):
    """A batch of L2 level changes covering venue update ids ``first_id..last_id``.

    ``prev_id`` is the venue's id of the previous batch where it publishes one
    (Binance USD-M ``pu``), else -1. ``checksum`` is the venue's checksum of the
    book after this batch (Kraken's CRC32), else -1.
    """

    venue: str
    symbol: str
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    first_id: int
    last_id: int
    prev_id: int
    ts_event: int
    ts_recv: int
    checksum: int = -1


class OrderBookSnapshot(msgspec.Struct, frozen=True, gc=False):
    """A full L2 book as of venue update id ``sequence``."""

    venue: str
    symbol: str
    bids: tuple[PriceLevel, ...]
    asks: tuple[PriceLevel, ...]
    sequence: int
    ts_event: int
    ts_recv: int
    checksum: int = -1


class OrderBookStatus(msgspec.Struct, frozen=True, gc=False):
    """A local book became valid (synced) or invalid (gap, awaiting a fresh snapshot)."""

    venue: str
    symbol: str
    valid: bool
    reason: str
    ts_event: int
    ts_recv: int


class MarkPrice(msgspec.Struct, frozen=True, gc=False):
    """A perpetual's mark and index price with its current funding rate.

    ``funding_rate`` is per funding interval (e.g. 0.0001 = 0.01%); ``next_funding_ts``
    is when it is next paid (ns), 0 if unknown.
    """

    venue: str
    symbol: str
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_ts: int
    ts_event: int
    ts_recv: int


class Liquidation(msgspec.Struct, frozen=True, gc=False):
    """A forced liquidation order; ``side`` is the liquidation order's side.

    A ``sell`` liquidation closes a long position, a ``buy`` one closes a short.
    """

    venue: str
    symbol: str
    side: AggressorSide
    price: float
    size: float
    ts_event: int
    ts_recv: int


class OpenInterest(msgspec.Struct, frozen=True, gc=False):
    """Total open interest of a derivative, in contracts (base units for linear perps)."""

    venue: str
    symbol: str
    open_interest: float
    ts_event: int
    ts_recv: int


class Candle(msgspec.Struct, frozen=True, gc=False):
    """OHLCV over ``[ts_open, ts_open + interval)``; ``ts_event`` is the interval's end.

    ``buy_volume`` is the volume bought by aggressors; ``vwap`` is the
    volume-weighted average trade price (the previous close when ``volume`` is 0).
    ``revision`` is 0 when first published and counts corrections after it (trades
    recovered by a backfill); the highest revision of an interval is the right one.
    ``flags`` is a ``CandleFlag`` bit set: 0 for a candle built from real data,
    INTERPOLATED or CORRECTED when the data layer filled or repaired it.
    """

    venue: str
    symbol: str
    interval: str
    ts_open: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int
    buy_volume: float
    vwap: float
    ts_event: int
    ts_recv: int
    revision: int = 0
    flags: int = 0
