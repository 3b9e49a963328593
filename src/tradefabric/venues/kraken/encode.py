"""Domain events -> Kraken spot WebSocket v2 frames, for a local fake venue.

Numbers are printed as Kraken prints them: from the pair's precision (never a
float's repr) when it is known. ``KrakenBookView`` turns a full-depth source book
(e.g. another venue's real traffic) into exactly what Kraken sends a client
subscribed at depth N: a snapshot of the top N, then for every change of the top
N the changed levels, ``qty: 0`` for levels removed from the book, nothing for
levels merely pushed out of scope, and the CRC32 of the top 10 after each frame.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from tradefabric.core.time import NS_PER_MINUTE, interval_to_ns
from tradefabric.model.data import Candle, OrderBookDeltas, OrderBookSnapshot, PriceLevel, Quote
from tradefabric.model.data import Trade as DomainTrade
from tradefabric.venues.kraken.book import KrakenPairs, levels_checksum
from tradefabric.venues.kraken.markets import PairPrecision
from tradefabric.venues.kraken.timestamps import ns_to_rfc3339


class _Frame(msgspec.Struct, frozen=True):
    channel: str
    type: str
    data: Any


class _Trade(msgspec.Struct, frozen=True):
    symbol: str
    side: str
    price: msgspec.Raw
    qty: msgspec.Raw
    ord_type: str
    trade_id: int
    timestamp: str


class _Ticker(msgspec.Struct, frozen=True):
    symbol: str
    bid: msgspec.Raw
    bid_qty: msgspec.Raw
    ask: msgspec.Raw
    ask_qty: msgspec.Raw
    timestamp: str


class _Level(msgspec.Struct, frozen=True):
    price: msgspec.Raw
    qty: msgspec.Raw


class _Book(msgspec.Struct, frozen=True):
    symbol: str
    bids: list[_Level]
    asks: list[_Level]
    checksum: int
    timestamp: str


class _Ohlc(msgspec.Struct, frozen=True):
    symbol: str
    open: msgspec.Raw
    high: msgspec.Raw
    low: msgspec.Raw
    close: msgspec.Raw
    trades: int
    volume: msgspec.Raw
    vwap: msgspec.Raw
    interval_begin: str
    interval: int
    timestamp: str


class _Pair(msgspec.Struct, frozen=True):
    symbol: str
    base: str
    quote: str
    status: str
    price_precision: int
    qty_precision: int


class _Instruments(msgspec.Struct, frozen=True):
    assets: list[str]
    pairs: list[_Pair]


class _AckResult(msgspec.Struct, frozen=True, omit_defaults=True):
    channel: str
    symbol: str = ""
    depth: int = 0
    interval: int = 0
    snapshot: bool = True


class _Ack(msgspec.Struct, frozen=True):
    method: str
    result: _AckResult
    success: bool
    time_in: str
    time_out: str
    req_id: int


def _num(value: float, decimals: int | None) -> msgspec.Raw:
    if decimals is None:
        return msgspec.Raw(msgspec.json.encode(value))
    return msgspec.Raw(f"{value:.{decimals}f}".encode())


class KrakenEncoder:
    """Encode domain events as Kraken v2 frames, printing numbers from ``pairs``' precisions."""

    def __init__(self, pairs: KrakenPairs) -> None:
        self._pairs = pairs

    def _decimals(self, symbol: str) -> tuple[int | None, int | None]:
        precision = self._pairs.precision(symbol)
        return (None, None) if precision is None else (precision.price, precision.qty)

    def trades(self, trades: Sequence[DomainTrade], frame_type: str = "update") -> bytes:
        """Return one ``trade`` frame holding ``trades`` (Kraken's ``ord_type`` is not kept)."""
        data = []
        for trade in trades:
            price, qty = self._decimals(trade.symbol)
            data.append(_Trade(trade.symbol, str(trade.side), _num(trade.price, price),
                               _num(trade.size, qty), "market", int(trade.trade_id),
                               ns_to_rfc3339(trade.ts_event)))  # fmt: skip
        return msgspec.json.encode(_Frame("trade", frame_type, data))

    def ticker(self, quote: Quote, frame_type: str = "update") -> bytes:
        """Return a ``ticker`` frame with ``quote``'s best bid/ask."""
        price, qty = self._decimals(quote.symbol)
        data = _Ticker(quote.symbol, _num(quote.bid, price), _num(quote.bid_size, qty),
                       _num(quote.ask, price), _num(quote.ask_size, qty),
                       ns_to_rfc3339(quote.ts_event))  # fmt: skip
        return msgspec.json.encode(_Frame("ticker", frame_type, [data]))

    def book(
        self,
        symbol: str,
        *,
        bids: Iterable[PriceLevel],
        asks: Iterable[PriceLevel],
        ts_event: int,
        frame_type: str,
        checksum: int,
    ) -> bytes:
        """Return a ``book`` frame of levels as given, with ``checksum``."""
        price, qty = self._decimals(symbol)
        data = _Book(symbol, [_Level(_num(p, price), _num(q, qty)) for p, q in bids],
                     [_Level(_num(p, price), _num(q, qty)) for p, q in asks], checksum,
                     ns_to_rfc3339(ts_event))  # fmt: skip
        return msgspec.json.encode(_Frame("book", frame_type, [data]))

    def ohlc(self, candle: Candle, frame_type: str = "update") -> bytes:
        """Return an ``ohlc`` frame with ``candle`` as its (running or last) bar."""
        price, qty = self._decimals(candle.symbol)
        minutes = interval_to_ns(candle.interval) // NS_PER_MINUTE
        begin = ns_to_rfc3339(candle.ts_open, nanos=True)
        data = _Ohlc(candle.symbol, _num(candle.open, price), _num(candle.high, price),
                     _num(candle.low, price), _num(candle.close, price), candle.trades,
                     _num(candle.volume, qty), _num(candle.vwap, None), begin, minutes,
                     ns_to_rfc3339(candle.ts_event))  # fmt: skip
        return msgspec.json.encode(_Frame("ohlc", frame_type, [data]))

    def instrument(self, precisions: Mapping[str, PairPrecision]) -> bytes:
        """Return an ``instrument`` snapshot listing ``precisions``' pairs."""
        pairs = [
            _Pair(
                symbol, symbol.partition("/")[0], symbol.partition("/")[2], "online", p.price, p.qty
            )
            for symbol, p in precisions.items()
        ]
        return msgspec.json.encode(_Frame("instrument", "snapshot", _Instruments([], pairs)))

    def subscribe_ack(
        self, channel: str, symbol: str = "", *, depth: int = 0, req_id: int = 0, ts: int = 0
    ) -> bytes:
        """Return a successful ``subscribe`` response (``depth`` for ``book``)."""
        when = ns_to_rfc3339(ts)
        ack = _Ack("subscribe", _AckResult(channel, symbol, depth), True, when, when, req_id)
        return msgspec.json.encode(ack)


class _ViewSide:
    """One side of a full book: levels plus prices kept sorted best first (bids negated)."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.levels: dict[float, float] = {}
        self.keys: list[float] = []

    def apply(self, updates: Iterable[PriceLevel]) -> None:
        for price, size in updates:
            key = self.sign * price
            if size > 0.0:
                if price not in self.levels:
                    bisect.insort(self.keys, key)
                self.levels[price] = size
            elif self.levels.pop(price, None) is not None:
                del self.keys[bisect.bisect_left(self.keys, key)]

    def top(self, n: int) -> list[PriceLevel]:
        return [(k * self.sign, self.levels[k * self.sign]) for k in self.keys[:n]]

    def changes(self, before: list[PriceLevel], after: list[PriceLevel]) -> list[PriceLevel]:
        """Return what Kraken sends when this side's view goes from ``before`` to ``after``."""
        old = dict(before)
        out = [(p, 0.0) for p in old if p not in self.levels]
        out.extend((p, q) for p, q in after if old.get(p) != q)
        return out


class KrakenBookView:
    """What a client subscribed to ``symbol``'s book at ``depth`` receives from Kraken."""

    def __init__(
        self, encoder: KrakenEncoder, symbol: str, precision: PairPrecision, depth: int = 10
    ) -> None:
        self._encoder = encoder
        self._symbol = symbol
        self._precision = precision
        self._depth = depth
        self._bids = _ViewSide(-1)
        self._asks = _ViewSide(1)

    def top(self, levels: int) -> tuple[list[PriceLevel], list[PriceLevel]]:
        """Return the best ``levels`` (bids, asks) of the full source book."""
        return self._bids.top(levels), self._asks.top(levels)

    def checksum(self) -> int:
        """Return Kraken's CRC32 of the current view."""
        return levels_checksum(self._asks.top(10), self._bids.top(10), self._precision)

    def snapshot(self, event: OrderBookSnapshot) -> bytes:
        """Load the full book ``event`` and return Kraken's snapshot frame of its top ``depth``."""
        self._bids = _ViewSide(-1)
        self._asks = _ViewSide(1)
        self._bids.apply(event.bids)
        self._asks.apply(event.asks)
        bids, asks = self.top(self._depth)
        return self._encoder.book(
            self._symbol,
            bids=bids,
            asks=asks,
            ts_event=event.ts_event,
            frame_type="snapshot",
            checksum=self.checksum(),
        )

    def update(self, event: OrderBookDeltas) -> bytes | None:
        """Apply full-book changes; return Kraken's update frame, None if the view is unchanged."""
        bids_before, asks_before = self.top(self._depth)
        self._bids.apply(event.bids)
        self._asks.apply(event.asks)
        bids_after, asks_after = self.top(self._depth)
        bids = self._bids.changes(bids_before, bids_after)
        asks = self._asks.changes(asks_before, asks_after)
        if not bids and not asks:
            return None
        return self._encoder.book(
            self._symbol,
            bids=bids,
            asks=asks,
            ts_event=event.ts_event,
            frame_type="update",
            checksum=self.checksum(),
        )
