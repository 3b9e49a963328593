"""Market microstructure features from trades and books.

- ``DeltaPressure``: aggressor buy minus sell volume per time bucket.
- ``WhaleDetector``: trades, and resting-size changes in the book, above a notional
  threshold per symbol.
- ``liquidity_zones`` / ``VolumeProfile``: price bands with heavy resting depth or
  heavy traded volume.

Each reads domain events (``Trade``, ``OrderBookSnapshot``, ``OrderBookDeltas``),
never wire formats.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Mapping

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, PriceLevel, Trade
from tradefabric.model.enums import AggressorSide

_BUY = AggressorSide.BUY


class DeltaBar(msgspec.Struct, frozen=True):
    """Aggressor volumes of one bucket ``[ts_open, ts_event)``."""

    venue: str
    symbol: str
    ts_open: int
    ts_event: int
    buy_volume: float
    sell_volume: float
    trades: int

    @property
    def delta(self) -> float:
        """Return buy minus sell volume."""
        return self.buy_volume - self.sell_volume

    @property
    def pressure(self) -> float:
        """Return the delta as a share of the bucket's volume, in [-1, 1]."""
        total = self.buy_volume + self.sell_volume
        return self.delta / total if total > 0.0 else 0.0


class DeltaPressure:
    """Accumulate aggressor buy and sell volume per bucket of ``interval`` for one symbol."""

    __slots__ = ("_buy", "_open", "_sell", "_trades", "interval_ns", "symbol", "venue")

    def __init__(self, venue: str, symbol: str, interval: str = "1m") -> None:
        self.venue = venue
        self.symbol = symbol
        self.interval_ns = interval_to_ns(interval)
        self._open = -1
        self._buy = self._sell = 0.0
        self._trades = 0

    def on_trade(self, trade: Trade) -> DeltaBar | None:
        """Add ``trade``; return the previous bucket when this trade opens a new one."""
        bucket = trade.ts_event - trade.ts_event % self.interval_ns
        done = None
        if bucket != self._open:
            done = self.flush()
            self._open = bucket
        if trade.side == _BUY:
            self._buy += trade.size
        else:
            self._sell += trade.size
        self._trades += 1
        return done

    def flush(self) -> DeltaBar | None:
        """Return the open bucket (if any trade is in it) and start afresh."""
        if self._open < 0 or self._trades == 0:
            return None
        bar = DeltaBar(
            self.venue, self.symbol, self._open, self._open + self.interval_ns,
            self._buy, self._sell, self._trades,
        )  # fmt: skip
        self._buy = self._sell = 0.0
        self._trades = 0
        return bar


class WhaleKind(enum.StrEnum):
    """What a whale alert saw."""

    TRADE = "trade"
    BOOK = "book"


class WhaleAlert(msgspec.Struct, frozen=True):
    """A trade or book change with notional at or above the symbol's threshold.

    ``side`` is the aggressor for a trade; for a book change it is the book side
    (``buy`` = bids) and ``size`` is signed: positive when size was added.
    """

    venue: str
    symbol: str
    kind: WhaleKind
    side: AggressorSide
    price: float
    size: float
    notional: float
    ts_event: int


class WhaleDetector:
    """Flag whale trades and book changes, with a notional threshold per symbol.

    Book levels are tracked per symbol from snapshots and deltas to know how much
    each delta added or removed; sequencing is the book synchronizer's job, so a
    gap only makes one change look larger or smaller until the next snapshot.
    """

    def __init__(self, thresholds: Mapping[str, float], default: float = math.inf) -> None:
        for symbol, value in thresholds.items():
            if not value > 0:
                raise ConfigError(f"whale threshold of {symbol} must be > 0, got {value}")
        self._thresholds = dict(thresholds)
        self._default = default
        self._levels: dict[tuple[str, str], tuple[dict[float, float], dict[float, float]]] = {}
        self._sequence: dict[tuple[str, str], int] = {}

    def threshold(self, symbol: str) -> float:
        """Return the notional threshold of ``symbol``."""
        return self._thresholds.get(symbol, self._default)

    def on_trade(self, trade: Trade) -> WhaleAlert | None:
        """Return an alert when ``trade``'s notional reaches the threshold."""
        notional = trade.price * trade.size
        if notional < self.threshold(trade.symbol):
            return None
        return WhaleAlert(
            trade.venue, trade.symbol, WhaleKind.TRADE, trade.side, trade.price, trade.size,
            notional, trade.ts_event,
        )  # fmt: skip

    def on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        """Reset the tracked levels of the snapshot's symbol."""
        key = (snapshot.venue, snapshot.symbol)
        self._levels[key] = (dict(snapshot.bids), dict(snapshot.asks))
        self._sequence[key] = snapshot.sequence

    def on_deltas(self, deltas: OrderBookDeltas) -> list[WhaleAlert]:
        """Apply ``deltas``; return an alert per level whose size changed by the threshold."""
        key = (deltas.venue, deltas.symbol)
        levels = self._levels.get(key)
        if levels is None or deltas.last_id <= self._sequence[key]:
            return []  # no snapshot yet (sizes before the change unknown), or already in it
        self._sequence[key] = deltas.last_id
        threshold = self.threshold(deltas.symbol)
        alerts: list[WhaleAlert] = []
        for side, book, updates in (
            (AggressorSide.BUY, levels[0], deltas.bids),
            (AggressorSide.SELL, levels[1], deltas.asks),
        ):
            self._apply(book, updates, threshold, alerts, side=side, deltas=deltas)
        return alerts

    @staticmethod
    def _apply(
        book: dict[float, float],
        updates: tuple[PriceLevel, ...],
        threshold: float,
        alerts: list[WhaleAlert],
        *,
        side: AggressorSide,
        deltas: OrderBookDeltas,
    ) -> None:
        for price, size in updates:
            change = size - book.get(price, 0.0)
            if size == 0.0:
                book.pop(price, None)
            else:
                book[price] = size
            notional = abs(change) * price
            if notional >= threshold:
                alerts.append(
                    WhaleAlert(
                        deltas.venue,
                        deltas.symbol,
                        WhaleKind.BOOK,
                        side,
                        price,
                        change,
                        notional,
                        deltas.ts_event,
                    )
                )


class ZoneSource(enum.StrEnum):
    """Where a liquidity zone's size comes from."""

    BIDS = "bids"
    ASKS = "asks"
    TRADED = "traded"


class LiquidityZone(msgspec.Struct, frozen=True):
    """A price band ``[price_low, price_high)`` holding ``size`` (base units)."""

    venue: str
    symbol: str
    source: ZoneSource
    price_low: float
    price_high: float
    size: float
    strength: float
    """``size`` over the median band size of the same source: how exceptional the band is."""


def _bands(levels: list[PriceLevel], width: float) -> dict[float, float]:
    bands: dict[float, float] = {}
    for price, size in levels:
        low = math.floor(price / width) * width
        bands[low] = bands.get(low, 0.0) + size
    return bands


def _heavy(
    bands: dict[float, float], width: float, factor: float, source: ZoneSource
) -> list[tuple[ZoneSource, float, float, float, float]]:
    if not bands:
        return []
    median = statistics.median(bands.values())
    return [
        (source, low, low + width, size, size / median)
        for low, size in sorted(bands.items())
        if median > 0.0 and size >= factor * median
    ]


class ZoneParams(msgspec.Struct, frozen=True, kw_only=True):
    """How liquidity zones are cut: ``levels`` per side, bands of ``band`` price units,
    and a band is heavy at ``factor`` times the median band."""

    levels: int = 500
    band: float = 1.0
    factor: float = 5.0


def liquidity_zones(book: OrderBook, params: ZoneParams) -> list[LiquidityZone]:
    """Return the bands of the book's top ``params.levels`` levels that hold heavy depth."""
    if params.band <= 0 or params.factor <= 0:
        raise ConfigError("liquidity zones: band and factor must be > 0")
    depth = book.depth(params.levels)
    rows = _heavy(_bands(depth.bids, params.band), params.band, params.factor, ZoneSource.BIDS)
    rows += _heavy(_bands(depth.asks, params.band), params.band, params.factor, ZoneSource.ASKS)
    return [LiquidityZone(book.venue, book.symbol, *row) for row in rows]


class VolumeProfile:
    """Traded volume per price band of one symbol: where the market actually traded."""

    def __init__(self, venue: str, symbol: str, band: float) -> None:
        if band <= 0:
            raise ConfigError(f"volume profile band must be > 0, got {band}")
        self.venue = venue
        self.symbol = symbol
        self.band = band
        self._volume: dict[float, float] = {}

    def on_trade(self, trade: Trade) -> None:
        """Add ``trade``'s size to its band."""
        low = math.floor(trade.price / self.band) * self.band
        self._volume[low] = self._volume.get(low, 0.0) + trade.size

    def zones(self, factor: float) -> list[LiquidityZone]:
        """Return the bands with at least ``factor`` times the median band's volume."""
        rows = _heavy(self._volume, self.band, factor, ZoneSource.TRADED)
        return [LiquidityZone(self.venue, self.symbol, *row) for row in rows]
