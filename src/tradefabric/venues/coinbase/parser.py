"""Coinbase Advanced Trade frames in, domain events on the bus out.

One ``CoinbaseStreamParser`` serves one connection (live socket or recording):
``sequence_num`` is per connection, and a gap on it invalidates every level2
book of the connection (see ``sequencing``). A frame is decoded in one pass
into the struct of its channel (a union tagged by ``channel``); a frame the
union rejects takes the slow path, which still accounts for its
``sequence_num`` and turns the failure into a precise ``DataError``.

Timestamps: trades carry the trade's ``time``; quotes, books and heartbeats the
message ``timestamp``. Candles: the channel resends the running 5-minute candle
about every second, so a ``Candle`` is published once a later candle of the
same product shows the earlier one closed (``open_candles`` returns the ones
still running). Coinbase sends no trade count, taker-buy volume or VWAP:
those are ``-1``, NaN and NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NoReturn

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import DataError, MalformedMessageError, UnknownStreamError
from tradefabric.core.time import interval_to_ns
from tradefabric.data import topics
from tradefabric.data.recent_ids import RecentTradeIds
from tradefabric.model.data import (
    Candle,
    OrderBookDeltas,
    OrderBookSnapshot,
    PriceLevel,
    Quote,
    Trade,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.coinbase.markets import CoinbaseMarket, unified_symbol
from tradefabric.venues.coinbase.sequencing import BROKEN, ConnectionSequence
from tradefabric.venues.coinbase.timestamps import parse_rfc3339_ns
from tradefabric.venues.coinbase.wire import (
    WireCandle,
    WireCandlesMessage,
    WireEnvelope,
    WireHeartbeatsMessage,
    WireL2Event,
    WireL2Message,
    WireL2Update,
    WireMessage,
    WireSubscriptionsMessage,
    WireTickerMessage,
    WireTradesMessage,
)

_NS = 1_000_000_000
_CHANNELS = frozenset(
    ("l2_data", "market_trades", "ticker", "candles", "heartbeats", "subscriptions")
)


class CoinbaseVenueError(DataError):
    """The venue sent an error reply (``{"type":"error","message":...}``), e.g. a bad subscribe."""


class CoinbaseParserStats(msgspec.Struct, frozen=True):
    """Counters of one parser (one connection's frames)."""

    frames: int
    heartbeats: int
    last_heartbeat_counter: int
    subscription_acks: int
    connections: int
    sequence_gaps: int
    trades: int
    duplicate_trades: int
    quotes: int
    book_snapshots: int
    book_deltas: int
    candles: int
    stale_candles: int


class Subscribed(msgspec.Struct, frozen=True):
    """The subscriptions the venue acknowledged last: (channel, product ids) pairs, sorted."""

    channels: tuple[tuple[str, tuple[str, ...]], ...] = ()


class CoinbaseStreamParser:
    """Parse one Coinbase Advanced Trade connection's frames and publish domain events."""

    def __init__(self, bus: MessageBus, market: CoinbaseMarket) -> None:
        self._bus = bus
        self._market = market
        self._venue = market.venue
        self._decoder = msgspec.json.Decoder(WireMessage, strict=False)
        self._envelope_decoder = msgspec.json.Decoder(WireEnvelope, strict=False)
        self._seq = ConnectionSequence()
        self._symbols: dict[str, str] = {}
        buy, sell = AggressorSide.BUY, AggressorSide.SELL
        taker = market.trade_side_is_taker
        self._sides = {"BUY": buy if taker else sell, "SELL": sell if taker else buy}
        self._trade_ids: dict[str, RecentTradeIds] = {}
        self._running: dict[str, Candle] = {}
        self._interval_ns = interval_to_ns(market.candle_interval)
        self._subscribed = Subscribed()
        self._counts = dict.fromkeys(CoinbaseParserStats.__struct_fields__, 0)
        self._handlers: dict[type[Any], Callable[[Any, int], None]] = {
            WireL2Message: self._on_l2,
            WireTradesMessage: self._on_trades,
            WireTickerMessage: self._on_ticker,
            WireCandlesMessage: self._on_candles,
            WireHeartbeatsMessage: self._on_heartbeats,
            WireSubscriptionsMessage: self._on_subscriptions,
        }
        # A trade the catch-up recovered by REST may still sit in a lagging socket's buffer.
        bus.subscribe(topics.TRADES_BACKFILLED, self._on_backfilled)

    @property
    def market(self) -> CoinbaseMarket:
        """Return the market this parser serves."""
        return self._market

    def stats(self) -> CoinbaseParserStats:
        """Return the counters."""
        return CoinbaseParserStats(**self._counts)

    def subscribed(self) -> Subscribed:
        """Return the subscriptions of the last ``subscriptions`` ack."""
        return self._subscribed

    def open_candles(self) -> tuple[Candle, ...]:
        """Return the running (not yet closed) candle of each product."""
        return tuple(self._running.values())

    def on_connect(self, ts_recv: int) -> None:
        """Start a new connection: numbering restarts and every level2 book is invalidated.

        Call it before a new socket's first frame. (A ``sequence_num`` of 0 after
        other numbers is also taken as a new connection, so recordings replay.)
        """
        self._counts["connections"] += 1
        self._seq.new_connection()
        self._publish_breaks(ts_recv)

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one frame; raise a ``DataError`` subclass for a bad one (the stream goes on).

        ``MalformedMessageError`` (undecodable, NaN/negative values, bad time),
        ``UnknownStreamError`` (a channel not handled), ``StaleMessageError`` (a
        ``sequence_num`` not after the last), ``CoinbaseVenueError`` (an error reply).
        """
        try:
            message = self._decoder.decode(raw)
        except msgspec.DecodeError as exc:
            self._reject(raw, exc, ts_recv)
        self._counts["frames"] += 1
        self._advance(message.sequence_num, ts_recv)
        try:
            self._handlers[type(message)](message, ts_recv)
        except DataError:
            if type(message) is WireL2Message:
                self._break_books(ts_recv)
            raise

    def _advance(self, sequence_num: int, ts_recv: int) -> None:
        if self._seq.advance(sequence_num):
            self._counts["sequence_gaps"] += 1
            self._publish_breaks(ts_recv)

    def _break_books(self, ts_recv: int) -> None:
        self._seq.break_links()
        self._publish_breaks(ts_recv)

    def _publish_breaks(self, ts_recv: int) -> None:
        # An empty batch that does not follow the book: OrderBooks invalidates it now.
        message_id = self._seq.message_id()
        for symbol in self._seq.links:
            marker = OrderBookDeltas(
                self._venue, symbol, (), (), message_id, message_id, BROKEN, ts_recv, ts_recv
            )
            self._bus.publish(topics.BOOK_DELTAS, marker)

    def _reject(self, raw: bytes, exc: msgspec.DecodeError, ts_recv: int) -> NoReturn:
        try:
            envelope = self._envelope_decoder.decode(raw)
        except msgspec.DecodeError as bad:
            raise MalformedMessageError(f"not a Coinbase message: {bad}") from bad
        if envelope.type == "error":
            raise CoinbaseVenueError(f"Coinbase error reply: {envelope.message!r}")
        if envelope.sequence_num < 0:
            raise MalformedMessageError(f"message without a valid sequence_num: {exc}") from exc
        self._counts["frames"] += 1
        self._advance(envelope.sequence_num, ts_recv)
        if envelope.channel not in _CHANNELS:
            raise UnknownStreamError(
                f"unknown Coinbase channel {envelope.channel!r}; handled: {sorted(_CHANNELS)}"
            )
        if envelope.channel == "l2_data":
            self._break_books(ts_recv)
        raise MalformedMessageError(
            f"{envelope.channel} message {envelope.sequence_num}: {exc}"
        ) from exc

    def _symbol(self, product_id: str) -> str:
        symbol = self._symbols.get(product_id)
        if symbol is None:
            symbol = self._symbols[product_id] = unified_symbol(product_id)
        return symbol

    def _on_l2(self, message: WireL2Message, ts_recv: int) -> None:
        ts_event = parse_rfc3339_ns(message.timestamp)
        events = message.events
        if len(events) > 1:
            events = _merge_products(events)
        for event in events:
            self._publish_l2(event, ts_event, ts_recv)

    def _publish_l2(self, event: WireL2Event, ts_event: int, ts_recv: int) -> None:
        symbol = self._symbol(event.product_id)
        bids, asks = _split_levels(event.updates)
        message_id = self._seq.message_id()
        previous = self._seq.relink(symbol, message_id)
        if event.type == "snapshot":
            snapshot = OrderBookSnapshot(
                self._venue, symbol, bids, asks, message_id, ts_event, ts_recv
            )
            self._counts["book_snapshots"] += 1
            self._bus.publish(topics.BOOK_SNAPSHOTS, snapshot)
            return
        deltas = OrderBookDeltas(
            self._venue, symbol, bids, asks, message_id, message_id, previous, ts_event, ts_recv
        )
        self._counts["book_deltas"] += 1
        self._bus.publish(topics.BOOK_DELTAS, deltas)

    def _on_trades(self, message: WireTradesMessage, ts_recv: int) -> None:
        trades = [
            Trade(self._venue, self._symbol(w.product_id), w.price, w.size, self._sides[w.side],
                  w.trade_id, parse_rfc3339_ns(w.time), ts_recv)
            for event in message.events
            for w in event.trades
        ]  # fmt: skip
        if len(trades) > 1:
            # Snapshots list the newest trade first; publish in time (then id) order.
            trades.sort(key=_trade_order)
        for trade in trades:
            self._publish_trade(trade)

    def _first_time(self, trade: Trade) -> bool:
        number = _trade_number(trade.trade_id)
        if number < 0:
            return True
        seen = self._trade_ids.get(trade.symbol)
        if seen is None:
            seen = self._trade_ids[trade.symbol] = RecentTradeIds()
        return seen.first_time(number)

    def _on_backfilled(self, trade: Trade) -> None:
        if trade.venue == self._venue:
            self._first_time(trade)

    def _publish_trade(self, trade: Trade) -> None:
        if not self._first_time(trade):
            self._counts["duplicate_trades"] += 1
            return
        self._counts["trades"] += 1
        self._bus.publish(topics.TRADES, trade)

    def _on_ticker(self, message: WireTickerMessage, ts_recv: int) -> None:
        ts_event = parse_rfc3339_ns(message.timestamp)
        message_id = self._seq.message_id()
        for event in message.events:
            for t in event.tickers:
                quote = Quote(
                    self._venue, self._symbol(t.product_id), t.best_bid, t.best_bid_quantity,
                    t.best_ask, t.best_ask_quantity, message_id, ts_event, ts_recv,
                )  # fmt: skip
                self._counts["quotes"] += 1
                self._bus.publish(topics.QUOTES, quote)

    def _on_candles(self, message: WireCandlesMessage, ts_recv: int) -> None:
        wires = [c for event in message.events for c in event.candles]
        if len(wires) > 1:
            wires.sort(key=lambda c: c.start)
        for wire in wires:
            self._on_candle(wire, ts_recv)

    def _on_candle(self, wire: WireCandle, ts_recv: int) -> None:
        if not wire.low <= min(wire.open, wire.close) <= max(wire.open, wire.close) <= wire.high:
            raise MalformedMessageError(f"candle of {wire.product_id} is not low <= o,c <= high")
        symbol = self._symbol(wire.product_id)
        ts_open = wire.start * _NS
        running = self._running.get(symbol)
        if running is not None and ts_open != running.ts_open:
            if ts_open < running.ts_open:
                self._counts["stale_candles"] += 1
                return
            self._counts["candles"] += 1
            self._bus.publish(topics.CANDLES, running)
        self._running[symbol] = Candle(
            self._venue, symbol, self._market.candle_interval, ts_open, wire.open, wire.high,
            wire.low, wire.close, wire.volume, -1, math.nan, math.nan,
            ts_open + self._interval_ns, ts_recv,
        )  # fmt: skip

    def _on_heartbeats(self, message: WireHeartbeatsMessage, ts_recv: int) -> None:
        self._counts["heartbeats"] += len(message.events)
        if message.events:
            self._counts["last_heartbeat_counter"] = message.events[-1].heartbeat_counter

    def _on_subscriptions(self, message: WireSubscriptionsMessage, ts_recv: int) -> None:
        self._counts["subscription_acks"] += 1
        for event in message.events:
            self._subscribed = Subscribed(tuple(sorted(event.subscriptions.items())))


def _split_levels(
    updates: tuple[WireL2Update, ...],
) -> tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
    bids: list[PriceLevel] = []
    asks: list[PriceLevel] = []
    for update in updates:
        (bids if update.side == "bid" else asks).append((update.price_level, update.new_quantity))
    return tuple(bids), tuple(asks)


def _merge_products(events: tuple[WireL2Event, ...]) -> tuple[WireL2Event, ...]:
    """Fold several events of one product in one message into one (ids are per message)."""
    merged: dict[str, WireL2Event] = {}
    for event in events:
        earlier = merged.get(event.product_id)
        if earlier is not None and event.type == "update":
            updates = earlier.updates + event.updates
            merged[event.product_id] = WireL2Event(earlier.type, event.product_id, updates)
        else:
            merged[event.product_id] = event
    return tuple(merged.values())


def _trade_number(trade_id: str) -> int:
    return int(trade_id) if trade_id.isascii() and trade_id.isdigit() else -1


def _trade_order(trade: Trade) -> tuple[int, int]:
    return trade.ts_event, _trade_number(trade.trade_id)
