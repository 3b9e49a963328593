"""Kraken spot (WebSocket v2) as the fake venue speaks it, from a real Binance spot recording.

The recording is run through tradefabric's own Binance parser and ``OrderBooks``;
that book is the venue's own full book. What it applies, and the trades and best
bid/ask, are re-encoded with ``KrakenEncoder`` as v2 frames on the shared
timeline (``BTCUSDT`` becomes ``BTC/USDT``):

- ``book``: one ``KrakenBookView`` per (symbol, subscribed depth) turns each applied
  Binance diff into exactly what Kraken sends a client at that depth (changed
  levels of the top N, ``qty: 0`` for removed ones, the CRC32 of the top 10).
  Kraken's only loss detector is that checksum of the top 10, so an update is
  marked ``sequenced`` (the ``skip`` fault may withhold it) exactly when a client
  that misses it fails the next update's checksum: the timeline looks one book
  update ahead per stream to decide. Updates whose loss Kraken cannot reveal (deep
  levels only, or overwritten by the next update) are not withheld.
- ``trade``: one frame per trade; ``ticker``: after each trade, with the best
  bid/ask of that moment (Kraken's default ``event_trigger: trades``);
  ``heartbeat``: once a second of recording time.

Per connection, as on Kraken: ``subscribe`` / ``unsubscribe`` (one channel,
several symbols) answered with one ack per symbol (``success``), a ``book``
subscribe with a snapshot of the view at that depth, ``instrument`` with the
pairs' precisions, ``ping`` with ``pong``. Prices are printed with precisions
that represent the Binance prices exactly (``BTC/USDT``: 2 decimals), announced
on the ``instrument`` channel, so both sides' floats are the same numbers.

Streaming starts once the venue's book is known (the recording's inline depth
snapshot); a subscribe that arrives earlier reads the recording up to it first.
Each book stream keeps the book a perfect client holds after the frames yielded so
far (``_ClientBook``): a ``book`` subscribe is answered from it, so a snapshot never
includes an update still held back by the lookahead.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import msgspec
from aiohttp import web

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import MalformedMessageError
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import (
    OrderBookDeltas,
    OrderBookSnapshot,
    PriceLevel,
    Quote,
    Trade,
)
from tradefabric.venues.binance.markets import BINANCE_SPOT, BinanceMarket
from tradefabric.venues.fakevenue.binance_source import BinanceSource
from tradefabric.venues.fakevenue.instrument_listings import kraken_asset_pairs
from tradefabric.venues.fakevenue.kraken_trades import KrakenTradeHistory, encode_result
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame
from tradefabric.venues.kraken.book import KrakenPairs, levels_checksum
from tradefabric.venues.kraken.encode import KrakenBookView, KrakenEncoder
from tradefabric.venues.kraken.markets import KRAKEN_SPOT, KrakenMarket, PairPrecision
from tradefabric.venues.kraken.subscriptions import Request
from tradefabric.venues.kraken.symbols import (
    check_symbol,
    rest_pair_to_symbol,
)
from tradefabric.venues.kraken.timestamps import ns_to_rfc3339
from tradefabric.venues.kraken.wire import BookFrame, WireBook
from tradefabric.venues.replay.recording import RecordedLine, read_recording

_NS = 1_000_000_000
_TRADE_SNAPSHOT = 50
_FULL_BOOK = 1_000_000
_HEARTBEAT = "heartbeat"
_SERVED = ("instrument", "trade", "ticker", "book")

SOURCE_PRECISIONS: dict[str, PairPrecision] = {
    "BTC/USDT": PairPrecision(2, 8),
    "ETH/USDT": PairPrecision(2, 8),
}
"""Precisions that print Binance spot prices exactly (tick 0.01, lot 1e-5 for these pairs)."""
FALLBACK_PRECISION = PairPrecision(8, 8)
"""For any other pair: Binance prints at most 8 decimals, so 8 is always exact."""


class _AckResult(msgspec.Struct, frozen=True, omit_defaults=True):
    channel: str
    symbol: str = ""
    depth: int = 0
    snapshot: bool = True


class _Ack(msgspec.Struct, frozen=True, omit_defaults=True):
    method: str
    success: bool
    time_in: str
    time_out: str
    result: _AckResult | None = None
    error: str = ""
    symbol: str = ""
    req_id: int = 0


class _ClientBook:
    """The book a client of one book stream holds: levels as parsed, truncated to ``depth``."""

    __slots__ = ("asks", "bids", "depth", "precision")

    def __init__(self, depth: int, precision: PairPrecision) -> None:
        self.depth = depth
        self.precision = precision
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def copy(self) -> _ClientBook:
        other = _ClientBook(self.depth, self.precision)
        other.bids, other.asks = dict(self.bids), dict(self.asks)
        return other

    def apply(self, wire: WireBook, snapshot: bool) -> None:
        if snapshot:
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, wire.bids), (self.asks, wire.asks)):
            for level in levels:
                if level.qty > 0.0:
                    side[level.price] = level.qty
                else:
                    side.pop(level.price, None)
        bids, asks = self.top(self.depth)
        self.bids, self.asks = dict(bids), dict(asks)

    def top(self, levels: int) -> tuple[list[PriceLevel], list[PriceLevel]]:
        bids = heapq.nlargest(levels, self.bids.items())
        return bids, heapq.nsmallest(levels, self.asks.items())

    def checksum(self) -> int:
        bids, asks = self.top(10)
        return levels_checksum(asks, bids, self.precision)


class _Held(msgspec.Struct, frozen=True):
    """A timeline frame not yielded yet; ``book`` is set for book frames."""

    frame: VenueFrame
    book: WireBook | None = None
    snapshot: bool = False


def stream_key(channel: str, symbol: str, depth: int = 0) -> str:
    """Return the timeline stream of a channel and symbol (``book:100:BTC/USDT``)."""
    return f"book:{depth}:{symbol}" if channel == "book" else f"{channel}:{symbol}"


class KrakenScript:
    """Serve a Binance spot recording (``<ts_ns> <raw>`` lines) as Kraken spot WebSocket v2."""

    ws_paths: tuple[str, ...] = ("/", "/v2")

    def __init__(
        self,
        recording: Path,
        market: KrakenMarket = KRAKEN_SPOT,
        source: BinanceMarket = BINANCE_SPOT,
        book_depth: int = 100,
        server_time_offset_ms: int = 0,
        *,
        trade_retention: int | None = None,
    ) -> None:
        """Serve ``recording`` as ``market``; ``trade_retention`` bounds how many of the
        newest trades ``Trades?since=`` reaches (None: all; 0: no history)."""
        self.name = market.venue
        self.trades_streamed = 0
        self.book_depth = book_depth
        """The depth ``venue_book`` answers at: what the live side subscribes."""
        self._recording = recording
        self._market = market
        self._time_offset_ns = server_time_offset_ms * 1_000_000
        self._source = BinanceSource(source)
        self._books = self._source.books
        self._pairs = KrakenPairs(SOURCE_PRECISIONS, market.default_book_depth)
        self._encoder = KrakenEncoder(self._pairs)
        self._decoder = msgspec.json.Decoder(Request)
        self._lines: Iterator[RecordedLine] | None = None
        self._seeded = False
        self._views: dict[tuple[str, int], KrakenBookView] = {}
        self.history = KrakenTradeHistory(trade_retention)
        """Every trade matched so far, served by ``Trades`` (paged by ``since``)."""
        self._quotes: dict[str, Quote] = {}
        self._ticker_ts: dict[str, int] = {}
        self._pending: list[_Held] = []
        self._held: deque[_Held] = deque()
        self._clients: dict[str, _ClientBook] = {}
        """Book stream -> what a client holds after the frames yielded so far."""
        self._book_decoder = msgspec.json.Decoder(BookFrame)
        self._heartbeat_second = -1
        bus = self._source.bus
        bus.subscribe(topics.BOOK_SNAPSHOTS, self._on_snapshot)
        bus.subscribe(topics.BOOK_DELTAS, self._on_deltas)
        bus.subscribe(topics.TRADES, self._on_trade)
        bus.subscribe(topics.QUOTES, self._on_quote)

    @property
    def bus(self) -> MessageBus:
        """Return the bus the replay publishes its book, trades and quotes on.

        A private API (``*_private.py``) matches the account's orders on its trades.
        """
        return self._source.bus

    # -- FakeVenueScript -------------------------------------------------------------------------

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the book a client subscribed at ``book_depth`` holds, as the venue knows it.

        Levels are the venue's top ``book_depth`` re-read from the text they are
        printed as (the pair's precision), i.e. the very floats a client parses.
        """
        source = self._source.book(symbol)
        if source is None or not source.valid:
            return None
        precision = self._precision(symbol)
        top = source.depth(self.book_depth)

        def printed(levels: list[PriceLevel]) -> tuple[PriceLevel, ...]:
            price, qty = precision.price, precision.qty
            return tuple((float(f"{p:.{price}f}"), float(f"{q:.{qty}f}")) for p, q in levels)

        book = OrderBook(self.name, symbol)
        book.apply_snapshot(
            OrderBookSnapshot(self.name, symbol, printed(top.bids), printed(top.asks),
                              source.sequence, source.ts_event, source.ts_event)
        )  # fmt: skip
        return book

    def rest_routes(self) -> list[web.RouteDef]:
        """Return server time, recent trades and asset pairs under ``/0/public``."""
        return [
            web.get("/0/public/Time", self._on_time),
            web.get(self._market.recent_trades_path, self._on_trades),
            web.get(self._market.asset_pairs_path, self._on_asset_pairs),
        ]

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return no streams: Kraken subscribes by frames only."""
        return set()

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer ``subscribe`` / ``unsubscribe`` / ``ping`` as Kraken v2 does."""
        now = time.time_ns()
        try:
            request = self._decoder.decode(text)
        except msgspec.DecodeError as exc:
            return [_error("", f"EGeneral:Invalid arguments: {exc}", 0, now)]
        if request.method == "ping":
            return [_encode(_Ack("pong", True, _ts(now), _ts(now), req_id=request.req_id))]
        params = request.params
        if request.method not in ("subscribe", "unsubscribe") or params is None:
            return [_error(request.method, "EGeneral:Invalid arguments", request.req_id, now)]
        if params.channel not in _SERVED:
            message = f"EGeneral:Invalid arguments:channel {params.channel!r} not served"
            return [_error(request.method, message, request.req_id, now)]
        if params.channel == "instrument":
            return self._instrument(client, request, now)
        replies = []
        for symbol in params.symbol or []:
            replies.extend(self._channel(client, request, symbol, now))
        return replies

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the recording re-encoded, keeping the venue's book current."""
        lines = self._seed()
        for line in lines:
            self._read(line)
            self._held.extend(self._pending)
            self._pending.clear()
            yield from self._release(final=False)
        yield from self._release(final=True)

    def _release(self, final: bool) -> Iterator[VenueFrame]:
        """Yield held frames in order, up to a book update whose successor is not known yet."""
        held = self._held
        while held:
            head = held[0]
            frame = head.frame
            if head.book is not None:
                client = self._clients[frame.stream]
                if frame.sequenced:
                    following = self._next_update(head)
                    if following is None and not final:
                        return  # wait for the next update of this stream
                    shows = following is not None and self._loss_shows(client, following)
                    frame = msgspec.structs.replace(frame, sequenced=shows)
                client.apply(head.book, head.snapshot)
            held.popleft()
            if frame.stream.startswith("trade:"):
                self.trades_streamed += 1  # one trade a frame
            yield frame

    def _next_update(self, head: _Held) -> _Held | None:
        stream = head.frame.stream
        for later in itertools.islice(self._held, 1, None):
            if later.frame.stream == stream:
                return later
        return None

    @staticmethod
    def _loss_shows(client: _ClientBook, following: _Held) -> bool:
        """Return True if a client missing the head update fails ``following``'s checksum."""
        if following.book is None or following.snapshot:
            return False
        without = client.copy()
        without.apply(following.book, False)
        return without.checksum() != following.book.checksum

    # -- subscriptions -----------------------------------------------------------------------

    def _instrument(self, client: ClientConnection, request: Request, now: int) -> list[str]:
        if request.method == "unsubscribe":
            return [self._ack(request, _AckResult("instrument"), now)]
        self._seed()
        symbols = {b.book.symbol for b in self._books.all_books()} | set(SOURCE_PRECISIONS)
        table = {symbol: self._precision(symbol) for symbol in sorted(symbols)}
        return [
            self._ack(request, _AckResult("instrument"), now),
            self._encoder.instrument(table).decode(),
        ]

    def _channel(
        self, client: ClientConnection, request: Request, symbol: str, now: int
    ) -> list[str]:
        params = request.params
        assert params is not None
        channel = params.channel
        try:
            check_symbol(symbol)
        except MalformedMessageError as exc:
            return [
                _error(request.method, f"EGeneral:Invalid arguments:{exc}", request.req_id, now)
            ]
        depth = (params.depth or self._market.default_book_depth) if channel == "book" else 0
        if channel == "book" and depth not in self._market.book_depths:
            message = f"EGeneral:Invalid arguments:depth {depth}"
            return [_error(request.method, message, request.req_id, now, symbol)]
        stream = stream_key(channel, symbol, depth)
        result = _AckResult(channel, symbol, depth, params.snapshot)
        if request.method == "unsubscribe":
            client.streams.discard(stream)
            return [self._ack(request, result, now)]
        self._seed()
        if channel == "book" and self._source.book(symbol) is None:
            message = "EGeneral:Invalid arguments:Currency pair not supported"
            return [_error(request.method, message, request.req_id, now, symbol)]
        client.streams.update((stream, _HEARTBEAT))
        replies = [self._ack(request, result, now)]
        snapshot = self._snapshot(channel, symbol, depth) if params.snapshot else None
        if snapshot is not None:
            replies.append(snapshot)
        return replies

    def _snapshot(self, channel: str, symbol: str, depth: int) -> str | None:
        if channel == "book":
            self._view(symbol, depth)
            client = self._clients[stream_key("book", symbol, depth)]
            source = self._source.book(symbol)
            bids, asks = client.top(depth)
            ts = source.ts_event if source is not None else 0
            frame = self._encoder.book(
                symbol, bids=bids, asks=asks, ts_event=ts, frame_type="snapshot",
                checksum=client.checksum(),
            )  # fmt: skip
            return frame.decode()
        if channel == "trade":
            recent = self.history.recent(symbol, _TRADE_SNAPSHOT)
            return self._encoder.trades(recent, "snapshot").decode() if recent else None
        quote = self._quotes.get(symbol)
        return None if quote is None else self._encoder.ticker(quote, "snapshot").decode()

    def _ack(self, request: Request, result: _AckResult, now: int) -> str:
        return _encode(_Ack(request.method, True, _ts(now), _ts(time.time_ns()), result,
                            req_id=request.req_id))  # fmt: skip

    # -- the timeline, from the Binance traffic ----------------------------------------------

    def _seed(self) -> Iterator[RecordedLine]:
        """Read the recording until the venue's book is known; return the rest of it."""
        if self._lines is None:
            self._lines = iter(read_recording(self._recording))
        while not self._seeded:
            line = next(self._lines, None)
            if line is None:
                break
            self._read(line)
            self._pending.clear()  # nothing streams before the book is known
        return self._lines

    def _read(self, line: RecordedLine) -> None:
        if line.ts_recv < 0:
            return
        self._source.read(line.raw, line.ts_recv)
        self._heartbeat(line.ts_recv)

    def _precision(self, symbol: str) -> PairPrecision:
        precision = self._pairs.precision(symbol)
        if precision is None:
            precision = FALLBACK_PRECISION
            self._pairs.set_precision(symbol, precision)
        return precision

    def _full(self, symbol: str) -> OrderBookSnapshot | None:
        book = self._source.book(symbol)
        if book is None or not book.valid:
            return None
        depth = book.depth(_FULL_BOOK)
        return OrderBookSnapshot(self.name, symbol, tuple(depth.bids), tuple(depth.asks),
                                 book.sequence, book.ts_event, book.ts_event)  # fmt: skip

    def _view(self, symbol: str, depth: int) -> KrakenBookView:
        view = self._views.get((symbol, depth))
        if view is None:
            view = KrakenBookView(self._encoder, symbol, self._precision(symbol), depth)
            client = _ClientBook(depth, self._precision(symbol))
            full = self._full(symbol)
            if full is not None:
                wire = self._book_decoder.decode(view.snapshot(full))
                client.apply(wire.data[0], True)
            self._views[(symbol, depth)] = view
            self._clients[stream_key("book", symbol, depth)] = client
        return view

    def _emit(self, stream: str, raw: bytes, ts: int, sequenced: bool = False) -> None:
        self._pending.append(_Held(VenueFrame(ts, stream, raw.decode(), sequenced)))

    def _emit_book(self, stream: str, raw: bytes, ts: int, snapshot: bool) -> None:
        wire = self._book_decoder.decode(raw).data[0]
        frame = VenueFrame(ts, stream, raw.decode(), not snapshot)
        self._pending.append(_Held(frame, wire, snapshot))

    def _on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        # Subscribed after OrderBooks: the book now holds the snapshot and its replayed buffer.
        full = self._full(snapshot.symbol)
        if self._source.take_snapshot(snapshot) is None or full is None:
            return
        self._precision(snapshot.symbol)
        was_seeded, self._seeded = self._seeded, True
        for (symbol, depth), view in self._views.items():
            if symbol == snapshot.symbol:
                raw = view.snapshot(full)
                if was_seeded:  # a resync of the source mid-stream: everyone gets the new book
                    self._emit_book(stream_key("book", symbol, depth), raw, snapshot.ts_recv, True)

    def _on_deltas(self, deltas: OrderBookDeltas) -> None:
        if not self._source.take_deltas(deltas):
            return  # buffered or dropped by the source book: not part of the venue's book
        for (symbol, depth), view in self._views.items():
            if symbol == deltas.symbol:
                raw = view.update(deltas)
                if raw is not None:
                    stream = stream_key("book", symbol, depth)
                    self._emit_book(stream, raw, deltas.ts_recv, False)

    def _on_trade(self, trade: Trade) -> None:
        self._precision(trade.symbol)
        self.history.add(trade)
        self._emit(stream_key("trade", trade.symbol), self._encoder.trades([trade]), trade.ts_recv)
        quote = self._quotes.get(trade.symbol)
        if quote is not None:
            # Kraken's ticker speaks on every trade; its timestamps never go back.
            ts = max(self._ticker_ts.get(trade.symbol, 0), trade.ts_event)
            self._ticker_ts[trade.symbol] = ts
            raw = self._encoder.ticker(msgspec.structs.replace(quote, ts_event=ts))
            self._emit(stream_key("ticker", trade.symbol), raw, trade.ts_recv)

    def _on_quote(self, quote: Quote) -> None:
        self._quotes[quote.symbol] = quote

    def _heartbeat(self, ts: int) -> None:
        second = ts // _NS
        if second == self._heartbeat_second or not self._seeded:
            return
        self._heartbeat_second = second
        self._emit(_HEARTBEAT, b'{"channel":"heartbeat"}', ts)

    # -- REST --------------------------------------------------------------------------------

    async def _on_time(self, _request: web.Request) -> web.Response:
        now = time.time_ns() + self._time_offset_ns
        rfc1123 = time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(now // _NS))
        return _json({"error": [], "result": {"unixtime": now // _NS, "rfc1123": rfc1123}})

    async def _on_trades(self, request: web.Request) -> web.Response:
        pair = request.query.get("pair", "")
        try:
            symbol = rest_pair_to_symbol(pair)
        except MalformedMessageError:
            return _json({"error": ["EQuery:Unknown asset pair"]})
        if self._source.book(symbol) is None:
            return _json({"error": ["EQuery:Unknown asset pair"]})
        precision = self._precision(symbol)

        def row(t: Trade) -> list[object]:
            return [
                f"{t.price:.{precision.price}f}", f"{t.size:.{precision.qty}f}",
                msgspec.Raw(f"{t.ts_event // _NS}.{t.ts_event % _NS:09d}".encode()),
                "b" if t.side == "buy" else "s", "m", "", int(t.trade_id),
            ]  # fmt: skip

        try:
            result = self.history.result(symbol, pair, dict(request.query), row)
        except ValueError:
            return _json({"error": ["EGeneral:Invalid arguments"]})
        return web.Response(body=encode_result(result), content_type="application/json")

    async def _on_asset_pairs(self, request: web.Request) -> web.Response:
        symbols = {b.book.symbol for b in self._books.all_books()} | set(SOURCE_PRECISIONS)
        precisions = {symbol: self._precision(symbol) for symbol in sorted(symbols)}
        return _json(kraken_asset_pairs(self.name, precisions, request.query.get("pair", "")))


def _ts(ns: int) -> str:
    return ns_to_rfc3339(ns - ns % 1000)


def _encode(ack: _Ack) -> str:
    return msgspec.json.encode(ack).decode()


def _error(method: str, message: str, req_id: int, now: int, symbol: str = "") -> str:
    return _encode(_Ack(method or "error", False, _ts(now), _ts(time.time_ns()), None, message,
                        symbol, req_id))  # fmt: skip


def _json(body: object) -> web.Response:
    return web.Response(body=msgspec.json.encode(body), content_type="application/json")
