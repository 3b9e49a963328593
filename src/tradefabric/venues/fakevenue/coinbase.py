"""Coinbase Advanced Trade as the fake venue speaks it, from a real Binance spot recording.

The recording is run through tradefabric's own Binance parser and ``OrderBooks``;
what that book applies (and the trades and best bid/ask) is re-encoded with
``CoinbaseEncoder`` as Advanced Trade frames on the shared timeline: ``l2_data``
updates, ``market_trades``, a ``ticker`` after each trade (as Coinbase sends it on
every match, with the real best bid/ask of that moment) and one ``heartbeats``
message per second. That book is the venue's own book; streaming starts once it
is known (the recording's inline depth snapshot).

Per connection, as on Coinbase:

- ``subscribe`` / ``unsubscribe`` frames, one channel each, answered with a
  ``subscriptions`` ack of the connection's whole subscription state; a
  ``level2`` subscribe is also answered with a snapshot of the venue's book.
- ``sequence_num`` counts the messages of the connection: 0, 1, 2, ... The
  server sends one text to every client, so each client's ``render`` hook
  renumbers a frame for that connection at the moment it is written. A
  frame that was meant for a client but never written (the ``skip`` and
  ``stall`` faults) still uses up its number, so the client sees the gap a
  lost message leaves. Malformed frames are written as they are.
- Replies (acks, snapshots) go out through the same numbering, from a per-client
  task: numbered, computed (a snapshot from the book as it is then) and written
  in one step, so they can never overtake or trail a frame numbered after them.

Level2 updates carry absolute sizes, so an update already contained in a
snapshot that is delivered after it changes nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Literal

import msgspec
from aiohttp import web

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, Quote, Trade
from tradefabric.venues.binance.markets import BINANCE_SPOT, BinanceMarket
from tradefabric.venues.coinbase.encode import CoinbaseEncoder, decimal_text
from tradefabric.venues.coinbase.markets import CoinbaseMarket, product_id, unified_symbol
from tradefabric.venues.coinbase.timestamps import format_rfc3339_ns
from tradefabric.venues.fakevenue.binance_source import BinanceSource
from tradefabric.venues.fakevenue.instrument_listings import coinbase_products_route
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame
from tradefabric.venues.replay.recording import read_recording

_NS = 1_000_000_000
_RECENT_TRADES = 1000
_SEEDING_WAIT_S = 30.0
_SEQ_KEY = ',"sequence_num":'
_DIGITS = "0123456789"
_HEARTBEATS = "heartbeats"
_SERVED = ("heartbeats", "level2", "market_trades", "ticker")
"""The channels this fake venue streams (candles are not derived from the recording)."""


class _ClientMessage(msgspec.Struct, frozen=True):
    type: str
    channel: str = ""
    product_ids: list[str] = []
    jwt: str = ""


def stream_key(channel: str, product: str) -> str:
    """Return the timeline stream of a venue channel and product (``level2:BTC-USD``)."""
    return _HEARTBEATS if channel == _HEARTBEATS else f"{channel}:{product}"


def with_sequence_num(text: str, sequence_num: int) -> str:
    """Return an encoded Advanced Trade message with its ``sequence_num`` replaced."""
    head, key, rest = text.partition(_SEQ_KEY)
    if not key:
        return text
    digits = len(rest) - len(rest.lstrip(_DIGITS))
    return f"{head}{key}{sequence_num}{rest[digits:]}"


class _Session:
    """One client connection as the venue numbers it."""

    def __init__(self, streams: set[str], socket: web.WebSocketResponse) -> None:
        self.streams = streams
        """The client's subscribed streams (the server's own set, changed in place)."""
        self.socket = socket
        self.next_seq = 0
        self.seen: dict[str, int] = {}
        """Stream -> how many of its timeline frames this connection is accounted for."""
        self.outbox: deque[Callable[[], Awaitable[str | None]]] = deque()
        self.writer: asyncio.Task[None] | None = None


class CoinbaseScript:
    """Serve a Binance spot recording (``<ts_ns> <raw>`` lines) as Coinbase Advanced Trade."""

    ws_paths: tuple[str, ...] = ("/", "/ws")

    def __init__(
        self,
        recording: Path,
        market: CoinbaseMarket,
        source: BinanceMarket = BINANCE_SPOT,
        server_time_offset_ms: int = 0,
    ) -> None:
        self.name = market.venue
        self.trades_streamed = 0
        self._recording = recording
        self._market = market
        self._time_offset_ns = server_time_offset_ms * 1_000_000
        self._source = BinanceSource(source)
        self._encoder = CoinbaseEncoder(market)
        self._replies = CoinbaseEncoder(market)
        self._decoder = msgspec.json.Decoder(_ClientMessage)
        self._trades: dict[str, tuple[list[Trade], list[int]]] = {}
        """Every trade matched so far per symbol, with their times (the ticker's history)."""
        self._pending: list[VenueFrame] = []
        self._quotes: dict[str, Quote] = {}
        self._counts: dict[str, int] = {}
        """Stream -> timeline frames yielded so far (the current one included)."""
        self._current: VenueFrame | None = None
        self._counted: VenueFrame | None = None
        self._heartbeat_second = -1
        self._heartbeats = 0
        self._sessions: weakref.WeakKeyDictionary[ClientConnection, _Session] = (
            weakref.WeakKeyDictionary()
        )
        self._seeded = asyncio.Event()
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
        """Return the venue's own book of a unified symbol (``BTC/USDT``)."""
        return self._source.book(symbol)

    def rest_routes(self) -> list[web.RouteDef]:
        """Return server time and public market trades."""
        return [
            web.get("/api/v3/brokerage/time", self._on_time),
            web.get("/api/v3/brokerage/market/products/{product_id}/ticker", self._on_trades),
            coinbase_products_route(self._market, self._streamed_symbols),
        ]

    def _streamed_symbols(self) -> list[str]:
        return [synced.book.symbol for synced in self._source.books.all_books()]

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return no streams: Coinbase subscribes by frames only."""
        return set()

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer subscribe / unsubscribe frames; errors at once, the rest in sequence order."""
        try:
            message = self._decoder.decode(text)
            products = [product_id(unified_symbol(p)) for p in message.product_ids]
        except (msgspec.DecodeError, MalformedMessageError, ConfigError) as exc:
            return [_error(f"malformed message: {exc}")]
        if message.type not in ("subscribe", "unsubscribe"):
            return [_error(f"unknown message type {message.type!r}")]
        if message.channel not in _SERVED:
            return [_error(f"channel {message.channel!r} is not served; served: {_SERVED}")]
        if not products and message.channel != _HEARTBEATS:
            return [_error(f"{message.channel} needs product_ids")]
        session = self._session(client)
        streams = {stream_key(message.channel, p) for p in products or [""]}
        if message.type == "subscribe":
            for stream in streams - client.streams:
                session.seen[stream] = self._counts.get(stream, 0)
            client.streams |= streams
        else:
            client.streams -= streams
            for stream in streams:
                session.seen.pop(stream, None)
        self._queue(session, functools.partial(self._ack, session.streams))
        if message.type == "subscribe" and message.channel == "level2":
            for product in products:
                self._queue(session, functools.partial(self._snapshot, product))
        return []

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the recording re-encoded, keeping the venue's book current."""
        for line in read_recording(self._recording):
            if line.ts_recv < 0:
                continue
            self._source.read(line.raw, line.ts_recv)
            self._heartbeat(line.ts_recv)
            pending, self._pending = self._pending, []
            for frame in pending:
                self._counts[frame.stream] = self._counts.get(frame.stream, 0) + 1
                self._current = frame
                yield frame
        self._current = None

    # -- numbering ---------------------------------------------------------------------------

    def render(self, session: _Session, text: str) -> str:
        """Return ``text`` numbered for ``session`` if it is the current timeline frame."""
        current = self._current
        if current is None or text is not current.text:
            return text  # e.g. an injected malformed frame: it carries no number
        if current is not self._counted and current.stream.startswith("market_trades:"):
            self.trades_streamed += 1  # one trade a frame, counted once whoever gets it
            self._counted = current
        return with_sequence_num(text, self._take_number(session, delivering=True))

    def _take_number(self, session: _Session, delivering: bool) -> int:
        # Frames this connection should have had before now (the current one excepted,
        # it may still be on its way) and did not get were lost: they use up numbers.
        current = self._current
        lost = 0
        for stream in session.streams:
            due = self._counts.get(stream, 0)
            if current is not None and stream == current.stream:
                due -= 1
            seen = session.seen.get(stream, due)
            lost += max(0, due - seen)
            session.seen[stream] = max(seen, due)
        if delivering and current is not None:
            session.seen[current.stream] = self._counts[current.stream]
        number = session.next_seq + lost
        session.next_seq = number + 1
        return number

    def _session(self, client: ClientConnection) -> _Session:
        session = self._sessions.get(client)
        if session is None:
            session = self._sessions[client] = _Session(client.streams, client.ws)
            # Broadcast frames are numbered per connection as they are written.
            client.render = functools.partial(self.render, session)
        return session

    def _queue(self, session: _Session, reply: Callable[[], Awaitable[str | None]]) -> None:
        session.outbox.append(reply)
        if session.writer is None or session.writer.done():
            session.writer = asyncio.get_running_loop().create_task(self._write_replies(session))

    async def _write_replies(self, session: _Session) -> None:
        while session.outbox and not session.socket.closed:
            text = await session.outbox.popleft()()
            if text is None:
                continue
            # Numbered and written in one step: nothing can come between.
            numbered = with_sequence_num(text, self._take_number(session, delivering=False))
            try:
                await session.socket.send_str(numbered)
            except ConnectionError:
                return

    async def _ack(self, streams: set[str]) -> str:
        subscribed: dict[str, list[str]] = {}
        for stream in sorted(streams):
            channel, _, product = stream.partition(":")
            products = subscribed.setdefault(channel, [])
            if product:
                products.append(unified_symbol(product))
        return self._replies.subscriptions(subscribed, time.time_ns()).decode()

    async def _snapshot(self, product: str) -> str | None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._seeded.wait(), _SEEDING_WAIT_S)
        book = self.venue_book(unified_symbol(product))
        if book is None or not book.valid:
            return _error(f"no order book for {product}")
        depth = book.depth(1_000_000)
        snapshot = OrderBookSnapshot(
            self.name, unified_symbol(product), tuple(depth.bids), tuple(depth.asks),
            book.sequence, book.ts_event, book.ts_event,
        )  # fmt: skip
        return self._replies.book_snapshot(snapshot).decode()

    # -- the timeline, from the Binance traffic ----------------------------------------------

    def _emit(self, channel: str, symbol: str, raw: bytes, ts: int, sequenced: bool) -> None:
        stream = stream_key(channel, product_id(symbol))
        self._pending.append(VenueFrame(ts, stream, raw.decode(), sequenced))

    def _on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        # Subscribed after OrderBooks: the book now holds the snapshot and its replayed buffer.
        book = self._source.take_snapshot(snapshot)
        if book is None:
            return
        if not self._seeded.is_set():
            self._seeded.set()  # clients get this book as their own level2 snapshot
            return
        # A resync of the source mid-stream: the venue sends its new book to everyone.
        depth = book.depth(1_000_000)
        full = OrderBookSnapshot(self.name, snapshot.symbol, tuple(depth.bids), tuple(depth.asks),
                                 book.sequence, book.ts_event, snapshot.ts_recv)  # fmt: skip
        raw = self._encoder.book_snapshot(full)
        self._emit("level2", snapshot.symbol, raw, snapshot.ts_recv, False)

    def _on_deltas(self, deltas: OrderBookDeltas) -> None:
        if not self._source.take_deltas(deltas):
            return  # buffered or dropped by the source book: not part of the venue's book
        if self._seeded.is_set():
            raw = self._encoder.book_deltas(deltas)
            self._emit("level2", deltas.symbol, raw, deltas.ts_recv, True)

    def _on_trade(self, trade: Trade) -> None:
        trades, times = self._trades.setdefault(trade.symbol, ([], []))
        trades.append(trade)
        times.append(trade.ts_event)
        if not self._seeded.is_set():
            return
        raw = self._encoder.trades([trade], trade.ts_event)
        self._emit("market_trades", trade.symbol, raw, trade.ts_recv, False)
        # Coinbase's ticker speaks on every match, with the best bid and ask of that moment.
        quote = self._quotes.get(trade.symbol)
        if quote is not None:
            self._emit("ticker", quote.symbol, self._encoder.quote(quote), trade.ts_recv, False)

    def _on_quote(self, quote: Quote) -> None:
        self._quotes[quote.symbol] = quote

    def _heartbeat(self, ts: int) -> None:
        second = ts // _NS
        if second == self._heartbeat_second or not self._seeded.is_set():
            return
        self._heartbeat_second = second
        self._heartbeats += 1
        raw = self._encoder.heartbeat(self._heartbeats, ts).decode()
        self._pending.append(VenueFrame(ts, _HEARTBEATS, raw, False))

    # -- REST --------------------------------------------------------------------------------

    async def _on_time(self, _request: web.Request) -> web.Response:
        now = time.time_ns() + self._time_offset_ns
        body = {
            "iso": format_rfc3339_ns(now, 3),
            "epochSeconds": str(now // _NS),
            "epochMillis": str(now // 1_000_000),
        }
        return web.json_response(body)

    async def _on_trades(self, request: web.Request) -> web.Response:
        product = request.match_info["product_id"]
        query = request.query
        try:
            symbol = unified_symbol(product)
            limit = min(int(query.get("limit", "")), _RECENT_TRADES)
            start = int(query["start"]) * _NS if "start" in query else None
            end = int(query["end"]) * _NS if "end" in query else None
        except (MalformedMessageError, ValueError) as exc:
            raise _http_error(web.HTTPBadRequest, "INVALID_ARGUMENT", str(exc)) from exc
        book = self.venue_book(symbol)
        if book is None:
            raise _http_error(web.HTTPNotFound, "NOT_FOUND", f"product {product} not found")
        history, times = self._trades.get(symbol, ([], []))
        # The newest ``limit`` trades with start <= time < end, newest first.
        lo = bisect.bisect_left(times, start) if start is not None else 0
        hi = bisect.bisect_left(times, end) if end is not None else len(times)
        trades = history[max(lo, hi - max(limit, 0)) : hi][::-1] if hi > lo else []
        side: dict[str, Literal["BUY", "SELL"]] = (
            {"buy": "BUY", "sell": "SELL"}
            if self._market.trade_side_is_taker
            else {"buy": "SELL", "sell": "BUY"}
        )
        body = {
            "trades": [
                {"trade_id": t.trade_id, "product_id": product, "price": decimal_text(t.price),
                 "size": decimal_text(t.size), "time": format_rfc3339_ns(t.ts_event, 6),
                 "side": side[t.side], "exchange": "FAKE"}
                for t in trades
            ],
            "best_bid": decimal_text(book.best_bid()) if book.valid else "",
            "best_ask": decimal_text(book.best_ask()) if book.valid else "",
        }  # fmt: skip
        return web.Response(body=msgspec.json.encode(body), content_type="application/json")


def _error(message: str) -> str:
    return msgspec.json.encode({"type": "error", "message": message}).decode()


def _http_error(kind: type[web.HTTPException], code: str, message: str) -> web.HTTPException:
    body = msgspec.json.encode({"error": code, "error_details": message, "message": message})
    return kind(text=body.decode(), content_type="application/json")
