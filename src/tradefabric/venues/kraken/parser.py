"""Kraken spot WebSocket v2 frames in, domain events on the bus out.

Every frame is decoded in one pass by a tagged union on ``channel`` straight into
its channel's structs; a frame the union rejects takes the slow path, which
handles method responses (``subscribe``/``unsubscribe`` acks, ``pong``) and turns
failures into precise ``DataError``s. Control frames (acks, heartbeats, status,
instrument) are counted in ``stats()``, never published.

- ``trade`` -> ``Trade`` (aggressor from ``side``, ``trade_id`` as str). Kraken
  numbers trades per pair contiguously: a jump publishes a ``TradeGap``; an id at
  or below the last is skipped (snapshots resend recent trades), and an update
  made only of such trades raises ``StaleMessageError``.
- ``ticker`` -> ``Quote`` (best bid/ask, ``sequence`` -1).
- ``book`` -> ``OrderBookSnapshot`` / ``OrderBookDeltas`` with Kraken's CRC32 in
  ``checksum``; ids are a per-symbol local counter (see ``book``).
- ``ohlc`` -> ``Candle`` once an interval has closed (see ``ohlc``).
- ``instrument`` -> pair precisions learned into ``pairs``; a ``book`` subscribe
  ack records the subscribed depth there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import MalformedMessageError, StaleMessageError, UnknownStreamError
from tradefabric.data import topics
from tradefabric.model.data import (
    OrderBookDeltas,
    OrderBookSnapshot,
    PriceLevel,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.venues.kraken.book import KrakenBookRule, KrakenPairs
from tradefabric.venues.kraken.markets import KrakenMarket, PairPrecision
from tradefabric.venues.kraken.ohlc import OhlcCloser
from tradefabric.venues.kraken.symbols import check_symbol
from tradefabric.venues.kraken.timestamps import rfc3339_to_ns
from tradefabric.venues.kraken.wire import (
    BookFrame,
    ChannelFrame,
    FrameHeader,
    HeartbeatFrame,
    InstrumentFrame,
    MethodResponse,
    OhlcFrame,
    StatusFrame,
    TickerFrame,
    TradeFrame,
    WireBook,
    WireLevel,
)

_CHANNELS = frozenset(("trade", "ticker", "book", "ohlc", "instrument", "heartbeat", "status"))


class KrakenParserStats(msgspec.Struct, frozen=True):
    """Counters of the control frames a parser has seen."""

    acks: int
    ack_failures: int
    heartbeats: int
    status_updates: int
    pongs: int
    instruments: int
    system_status: str
    """The exchange's state from the last ``status`` frame (``online``, ``maintenance``...)."""
    last_error: str
    """The ``error`` of the last failed request, empty when none failed."""


def _levels(levels: tuple[WireLevel, ...]) -> tuple[PriceLevel, ...]:
    return tuple([(level.price, level.qty) for level in levels])


class KrakenStreamParser:
    """Parse Kraken spot WebSocket v2 frames and publish the domain events."""

    def __init__(
        self, bus: MessageBus, market: KrakenMarket, pairs: KrakenPairs | None = None
    ) -> None:
        self._bus = bus
        self._market = market
        self._venue = market.venue
        self._pairs = pairs if pairs is not None else KrakenPairs.for_market(market)
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(ChannelFrame)
        self._header_decoder = msgspec.json.Decoder(FrameHeader)
        self._method_decoder = msgspec.json.Decoder(MethodResponse)
        self._handlers: dict[type[Any], Callable[[Any, int], None]] = {
            TradeFrame: self._on_trades,
            TickerFrame: self._on_ticker,
            BookFrame: self._on_book,
            OhlcFrame: self._on_ohlc,
            InstrumentFrame: self._on_instruments,
            HeartbeatFrame: self._on_heartbeat,
            StatusFrame: self._on_status,
        }
        self._symbols: set[str] = set()
        self._last_trade_id: dict[str, int] = {}
        self._last_trade_ns: dict[str, int] = {}
        self._gap_since: dict[tuple[str, int], int] = {}
        """(symbol, first missing id) -> venue time (ns) of the last trade before the gap."""
        self._last_quote_ts: dict[str, int] = {}
        self._book_ids: dict[str, int] = {}
        self._ohlc = OhlcCloser(market.venue)
        self._counts = {"acks": 0, "ack_failures": 0, "heartbeats": 0, "status_updates": 0,
                        "pongs": 0, "instruments": 0}  # fmt: skip
        self._system_status = ""
        self._last_error = ""

    @property
    def market(self) -> KrakenMarket:
        """Return the market this parser serves."""
        return self._market

    @property
    def pairs(self) -> KrakenPairs:
        """Return the pair precisions and book depths this parser learns and uses."""
        return self._pairs

    def book_rule(self) -> KrakenBookRule:
        """Return the book rule to give ``OrderBooks`` for this parser's venue."""
        return KrakenBookRule(self._pairs)

    def stats(self) -> KrakenParserStats:
        """Return the control-frame counters."""
        return KrakenParserStats(
            **self._counts, system_status=self._system_status, last_error=self._last_error
        )

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one frame; raise a ``DataError`` subclass for a bad one (the caller goes on)."""
        try:
            frame = self._decoder.decode(raw)
        except msgspec.DecodeError as exc:
            self._on_frame_slow(raw, exc, ts_recv)
        else:
            self._handlers[type(frame)](frame, ts_recv)

    def flush_candles(self, now_ns: int) -> int:
        """Publish the candles of every bar whose interval ended by ``now_ns``; return how many."""
        candles = self._ohlc.flush(now_ns)
        for candle in candles:
            self._bus.publish(topics.CANDLES, candle)
        return len(candles)

    def _on_frame_slow(self, raw: bytes, error: msgspec.DecodeError, ts_recv: int) -> None:
        try:
            header = self._header_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"not a Kraken v2 frame: {exc}") from exc
        if header.channel in _CHANNELS:
            raise MalformedMessageError(f"Kraken {header.channel} frame: {error}")
        if header.channel:
            raise UnknownStreamError(
                f"unknown Kraken channel {header.channel!r}; handled: {sorted(_CHANNELS)}"
            )
        if not header.method:
            raise UnknownStreamError("Kraken frame has neither channel nor method")
        try:
            response = self._method_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"Kraken {header.method} response: {exc}") from exc
        self._on_response(response)

    def _on_response(self, response: MethodResponse) -> None:
        if response.method == "pong":
            self._counts["pongs"] += 1
            return
        if not response.success:
            self._counts["ack_failures"] += 1
            self._last_error = f"{response.method} {response.symbol}: {response.error}".strip()
            return
        self._counts["acks"] += 1
        result = response.result
        if response.method == "subscribe" and result is not None and result.channel == "book":
            self._pairs.set_depth(
                check_symbol(result.symbol), result.depth or self._pairs.default_depth
            )

    def _symbol(self, symbol: str) -> str:
        if symbol not in self._symbols:
            self._symbols.add(check_symbol(symbol))
        return symbol

    def _on_trades(self, frame: TradeFrame, ts_recv: int) -> None:
        published = 0
        for wire in frame.data:
            symbol = self._symbol(wire.symbol)
            ts_event = rfc3339_to_ns(wire.timestamp)
            if not self._take_trade(symbol, wire.trade_id, ts_event, ts_recv):
                continue
            trade = Trade(self._venue, symbol, wire.price, wire.qty, wire.side,
                          str(wire.trade_id), ts_event, ts_recv)  # fmt: skip
            self._bus.publish(topics.TRADES, trade)
            published += 1
        if not published and frame.type == "update" and frame.data:
            raise StaleMessageError(f"Kraken trades up to id {frame.data[-1].trade_id}: all seen")

    def _take_trade(self, symbol: str, trade_id: int, ts_event: int, ts_recv: int) -> bool:
        """Return True for a trade newer than the last one; publish the gap it reveals."""
        last = self._last_trade_id.get(symbol, -1)
        if trade_id <= last:
            return False
        if last >= 0 and trade_id != last + 1:
            self._gap_since[(symbol, last + 1)] = self._last_trade_ns.get(symbol, 0)
            gap = TradeGap(self._venue, symbol, last + 1, trade_id - 1, ts_event, ts_recv)
            self._bus.publish(topics.TRADE_GAPS, gap)
        self._last_trade_id[symbol] = trade_id
        self._last_trade_ns[symbol] = ts_event
        return True

    def gap_since(self, symbol: str, first_missing: int) -> int | None:
        """Return (once) the venue time of the last trade before the gap from ``first_missing``.

        That is where Kraken's ``Trades?since=`` cursor starts a backfill of the gap.
        """
        return self._gap_since.pop((symbol, first_missing), None)

    def _on_ticker(self, frame: TickerFrame, ts_recv: int) -> None:
        for wire in frame.data:
            symbol = self._symbol(wire.symbol)
            ts_event = rfc3339_to_ns(wire.timestamp) if wire.timestamp else ts_recv
            if ts_event < self._last_quote_ts.get(symbol, 0):
                raise StaleMessageError(f"Kraken ticker {symbol} at {wire.timestamp}: older")
            self._last_quote_ts[symbol] = ts_event
            quote = Quote(self._venue, symbol, wire.bid, wire.bid_qty, wire.ask, wire.ask_qty,
                          -1, ts_event, ts_recv)  # fmt: skip
            self._bus.publish(topics.QUOTES, quote)

    def _on_book(self, frame: BookFrame, ts_recv: int) -> None:
        snapshot = frame.type == "snapshot"
        for wire in frame.data:
            symbol = self._book_symbol(wire)
            book_id = self._book_ids.get(symbol, 0) + 1
            self._book_ids[symbol] = book_id
            ts_event = rfc3339_to_ns(wire.timestamp) if wire.timestamp else ts_recv
            bids, asks = _levels(wire.bids), _levels(wire.asks)
            if snapshot:
                event = OrderBookSnapshot(self._venue, symbol, bids, asks, book_id, ts_event,
                                          ts_recv, wire.checksum)  # fmt: skip
                self._bus.publish(topics.BOOK_SNAPSHOTS, event)
            else:
                deltas = OrderBookDeltas(self._venue, symbol, bids, asks, book_id, book_id, -1,
                                         ts_event, ts_recv, wire.checksum)  # fmt: skip
                self._bus.publish(topics.BOOK_DELTAS, deltas)

    def _book_symbol(self, wire: WireBook) -> str:
        symbol = self._symbol(wire.symbol)
        if self._pairs.precision(symbol) is None:
            raise UnknownStreamError(
                f"Kraken book {symbol}: price/qty precision unknown, so its checksum cannot be "
                "verified; subscribe to the instrument channel or load REST AssetPairs first"
            )
        return symbol

    def _on_ohlc(self, frame: OhlcFrame, ts_recv: int) -> None:
        stale = 0
        for bar in sorted(frame.data, key=lambda b: b.interval_begin):
            self._symbol(bar.symbol)
            candle, was_stale = self._ohlc.on_bar(bar, ts_recv)
            stale += was_stale
            if candle is not None:
                self._bus.publish(topics.CANDLES, candle)
        if stale and frame.type == "update":
            raise StaleMessageError(f"Kraken ohlc: {stale} bar(s) older than the current one")

    def _on_instruments(self, frame: InstrumentFrame, ts_recv: int) -> None:
        for pair in frame.data.pairs:
            precision = PairPrecision(pair.price_precision, pair.qty_precision)
            self._pairs.set_precision(check_symbol(pair.symbol), precision)
        self._counts["instruments"] += 1

    def _on_heartbeat(self, frame: HeartbeatFrame, ts_recv: int) -> None:
        self._counts["heartbeats"] += 1

    def _on_status(self, frame: StatusFrame, ts_recv: int) -> None:
        self._counts["status_updates"] += 1
        if frame.data:
            self._system_status = frame.data[-1].system
