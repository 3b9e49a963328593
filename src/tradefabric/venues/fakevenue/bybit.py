"""Bybit v5 (spot or linear) as the fake venue speaks it, from real Binance traffic.

We hold no Bybit recordings, so the script replays a real Binance recording
(spot for ``bybit``, USD-M for ``bybit-linear``) re-encoded as Bybit v5 frames:
the book Binance's own procedure rebuilds becomes Bybit's in-stream snapshot,
and every diff applied after it one ``orderbook`` delta numbered ``u``, ``u + 1``,
...; trades become ``publicTrade`` frames and USD-M best bid/ask linear
``tickers`` deltas. Mark price, funding and open interest are not recorded; a
linear ticker delta derived from the real book and taker flow carries them once
a second.

The venue's own book is tradefabric's Bybit parser and ``OrderBooks`` run over
the very frames it streams, so it is exactly what a perfect client would hold.
Clients subscribe by message, as on Bybit; a book subscription is answered with
a snapshot of that book. Only the market's ``depth`` topic is streamed (Bybit's
200 levels), but its snapshots carry every level the venue knows.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import (
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    Quote,
    Trade,
)
from tradefabric.venues.binance import markets as binance_markets
from tradefabric.venues.bybit.encode import BybitEncoder, number
from tradefabric.venues.bybit.markets import BybitMarket, sequence_rules
from tradefabric.venues.bybit.parser import BybitStreamParser
from tradefabric.venues.bybit.symbols import raw_symbol, unified_symbol
from tradefabric.venues.fakevenue.binance_source import BinanceSource
from tradefabric.venues.fakevenue.instrument_listings import bybit_instruments_route
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame
from tradefabric.venues.replay.recording import read_recording

_RECENT_TRADES = 1000
_SOURCE_MARKETS = {"spot": binance_markets.BINANCE_SPOT, "linear": binance_markets.BINANCE_USDM}
"""Bybit category -> the Binance market whose recordings feed it."""
_FIRST_UPDATE_ID = 1_000_000
_SYNTHETIC_OPEN_INTEREST = 80_000.0
_FUNDING_PERIOD_MS = 28_800_000
_RECENT_TRADE_LIMITS = {"spot": (60, 60), "linear": (500, 1000)}
"""Category -> (default, maximum) ``limit`` of ``/v5/market/recent-trade``."""
_MS = 1_000_000
_NS = 1_000_000_000


class _Request(msgspec.Struct, frozen=True):
    op: str
    args: list[str] = []
    req_id: str = ""


class _BybitEvents:
    """Real Binance events, with the book Binance's procedure rebuilds, as Bybit events.

    Emits, per recording line, what Bybit would stream: trades, quotes (linear), and for the
    book a snapshot when it (re)becomes valid, then one delta per applied diff.
    """

    def __init__(self, category: str, venue: str) -> None:
        self.source = BinanceSource(_SOURCE_MARKETS[category])
        self.clock = self.source.clock
        self._venue = venue
        self._next_u: dict[str, int] = {}
        self.pending: list[Trade | Quote | OrderBookSnapshot | OrderBookDeltas] = []
        bus = self.source.bus
        bus.subscribe(topics.TRADES, self.pending.append)
        if category == "linear":  # spot tickers carry no best bid/ask
            bus.subscribe(topics.QUOTES, self.pending.append)
        bus.subscribe(topics.BOOK_SNAPSHOTS, self._on_snapshot)
        bus.subscribe(topics.BOOK_DELTAS, self._on_deltas)

    def read(self, raw: bytes, ts_recv: int) -> None:
        """Parse one recorded frame; its Bybit events land in ``pending``."""
        self.source.read(raw, ts_recv)

    def _on_snapshot(self, snapshot: OrderBookSnapshot) -> None:
        book = self.source.take_snapshot(snapshot)
        if book is None:
            return
        u = self._next_u.get(book.symbol, _FIRST_UPDATE_ID)
        self._next_u[book.symbol] = u + 1
        depth = book.depth(sum(book.level_count()))
        self.pending.append(
            OrderBookSnapshot(
                self._venue, book.symbol, tuple(depth.bids), tuple(depth.asks), u,
                book.ts_event, snapshot.ts_recv,
            )
        )  # fmt: skip

    def _on_deltas(self, deltas: OrderBookDeltas) -> None:
        if not self.source.take_deltas(deltas):
            return  # buffered before a snapshot, or stale: not part of the Bybit stream
        symbol = deltas.symbol
        u = self._next_u[symbol]
        self._next_u[symbol] = u + 1
        self.pending.append(
            OrderBookDeltas(
                self._venue, symbol, deltas.bids, deltas.asks, u, u, -1, deltas.ts_event,
                deltas.ts_recv,
            )
        )  # fmt: skip


class BybitScript:
    """Serve a Binance recording (``<ts_ns> <raw>`` lines) as Bybit v5 spot or linear."""

    def __init__(
        self,
        recording: Path,
        market: BybitMarket,
        server_time_offset_ms: int = 0,
        instruments_page_max: int = 1000,
    ):
        """Serve ``recording``; ``instruments_page_max`` caps an instruments-info page."""
        self._instruments_page_max = instruments_page_max
        self.name = market.venue
        self.ws_paths: tuple[str, ...] = (urlsplit(market.ws_url).path,)
        self._recording = recording
        self._market = market
        self._time_offset_ms = server_time_offset_ms
        self._depth = int(market.channels["depth"].rsplit(".", 1)[1])
        self._streamed_prefixes = {"publicTrade", market.channels["depth"]}
        if market.category == "linear":
            self._streamed_prefixes.add("tickers")
        self._encoder = BybitEncoder(market)
        self._bus = MessageBus()
        self._books = OrderBooks(self._bus, SimClock(), sequence_rules())
        self._parser = BybitStreamParser(self._bus, market)
        self._trades: deque[Trade] = deque(maxlen=_RECENT_TRADES)
        self._bus.subscribe(topics.TRADES, self._trades.append)
        self._signed_volume: dict[str, float] = {}
        self._bus.subscribe(topics.TRADES, self._track_open_interest)
        self._request_decoder = msgspec.json.Decoder(_Request)
        self._ticker_ts: dict[str, int] = {}
        self._ticker_cs: dict[str, int] = {}
        self._last_mark_second = -1
        self.trades_streamed = 0

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the venue's own book of a unified symbol."""
        return self._books.book(self._market.venue, symbol)

    def rest_routes(self) -> list[web.RouteDef]:
        """Return server time, recent trades and the order book, at Bybit's v5 paths."""
        market = self._market
        return [
            web.get(market.server_time_path, self._on_time),
            web.get(market.recent_trades_path, self._on_recent_trades),
            web.get(market.orderbook_path, self._on_orderbook),
            bybit_instruments_route(market, self._streamed_symbols, self._instruments_page_max),
        ]

    def _streamed_symbols(self) -> list[str]:
        return [synced.book.symbol for synced in self._books.all_books()]

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return nothing: Bybit subscribes by message, never by URL."""
        return set()

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer ``subscribe`` / ``unsubscribe`` / ``ping`` as Bybit does.

        A book subscription is answered with the book's snapshot *before* the ack:
        the server may yield between replies, and no delta may overtake the snapshot.
        """
        try:
            request = self._request_decoder.decode(text)
        except msgspec.DecodeError:
            return [self._reply("", "", False, f"error:invalid request {text[:80]!r}")]
        if request.op == "ping":
            return [self._reply("ping", request.req_id)]
        if request.op == "unsubscribe":
            client.streams.difference_update(request.args)
            return [self._reply("unsubscribe", request.req_id)]
        if request.op != "subscribe":
            return [self._reply(request.op, request.req_id, False, "error:unknown op")]
        unknown = [topic for topic in request.args if not self._serves(topic)]
        if unknown:
            return [self._reply("subscribe", request.req_id, False, f"error:topic:{unknown[0]}")]
        client.streams.update(request.args)
        replies = [snap for topic in request.args if (snap := self._snapshot_text(topic))]
        return [*replies, self._reply("subscribe", request.req_id)]

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the recording as Bybit frames, keeping the venue's book current."""
        source = _BybitEvents(self._market.category, self._market.venue)
        for line in read_recording(self._recording):
            if line.ts_recv < 0:
                continue
            source.read(line.raw, line.ts_recv)
            events, source.pending[:] = list(source.pending), []
            for event in events:
                yield self._frame(event, line.ts_recv)
            if self._market.category == "linear":
                yield from self._derived(line.ts_recv)

    def _serves(self, topic: str) -> bool:
        prefix, _, raw = topic.rpartition(".")
        return prefix in self._streamed_prefixes and bool(raw)

    def _reply(self, op: str, req_id: str, success: bool = True, message: str = "") -> str:
        return self._encoder.op_reply(op, req_id, success, message).decode()

    def _snapshot_text(self, topic: str) -> str:
        if not topic.startswith("orderbook."):
            return ""
        symbol = unified_symbol(topic.rpartition(".")[2], self._market)
        book = self.venue_book(symbol)
        if book is None or not book.valid:
            return ""  # the stream's first snapshot will reach this client
        depth = book.depth(sum(book.level_count()))
        snapshot = OrderBookSnapshot(
            self._market.venue, symbol, tuple(depth.bids), tuple(depth.asks), book.sequence,
            book.ts_event, book.ts_event,
        )  # fmt: skip
        return self._encoder.book(snapshot, self._depth).decode()

    def _frame(
        self, event: Trade | Quote | OrderBookSnapshot | OrderBookDeltas, ts: int
    ) -> VenueFrame:
        raw = raw_symbol(event.symbol)
        if isinstance(event, Trade):
            self.trades_streamed += 1
            return self._apply(ts, f"publicTrade.{raw}", self._encoder.trades([event]), False)
        if isinstance(event, Quote):
            self._ticker_ts[event.symbol] = max(
                event.ts_event, self._ticker_ts.get(event.symbol, 0)
            )
            self._ticker_cs[event.symbol] = event.sequence
            return VenueFrame(ts, f"tickers.{raw}", self._encoder.quote(event).decode(), False)
        topic = f"{self._market.channels['depth']}.{raw}"
        sequenced = isinstance(event, OrderBookDeltas)
        return self._apply(ts, topic, self._encoder.book(event, self._depth), sequenced)

    def _apply(self, ts: int, topic: str, frame: bytes, sequenced: bool) -> VenueFrame:
        # The venue's state is its own stream: parsed as a client would, before it is sent.
        self._parser.on_frame(frame, ts)
        return VenueFrame(ts, topic, frame.decode(), sequenced)

    def _derived(self, ts: int) -> Iterator[VenueFrame]:
        # Mark price, funding and open interest are not recorded: derive them once a second.
        second = ts // _NS
        if second == self._last_mark_second:
            return
        self._last_mark_second = second
        for synced in self._books.all_books():
            book = synced.book
            symbol = book.symbol
            if not book.valid or symbol not in self._ticker_cs:
                continue
            raw = raw_symbol(symbol)
            ts_event = self._ticker_ts[symbol]
            cross_seq = self._ticker_cs[symbol]
            mid = round(book.mid(), 2)
            next_funding_ms = (ts_event // _MS // _FUNDING_PERIOD_MS + 1) * _FUNDING_PERIOD_MS
            mark = MarkPrice(
                self._market.venue, symbol, mid, mid, 0.0001, next_funding_ms * _MS, ts_event, ts
            )
            interest = _SYNTHETIC_OPEN_INTEREST + self._signed_volume.get(symbol, 0.0)
            open_interest = OpenInterest(
                self._market.venue, symbol, round(interest, 3), ts_event, ts
            )
            for frame in (
                self._encoder.mark_price(mark, cross_seq),
                self._encoder.open_interest(open_interest, cross_seq),
            ):
                yield VenueFrame(ts, f"tickers.{raw}", frame.decode(), False)

    def _track_open_interest(self, trade: Trade) -> None:
        # No open interest is recorded; a stand-in that moves with real taker flow.
        signed = trade.size if trade.side == "buy" else -trade.size
        self._signed_volume[trade.symbol] = self._signed_volume.get(trade.symbol, 0.0) + signed

    def _query_symbol(self, request: web.Request) -> str | web.Response:
        """Return the query's raw symbol, or Bybit's error reply for a bad category/symbol."""
        query = request.query
        if query.get("category") != self._market.category:
            return _reply(10001, f"category must be {self._market.category}", {})
        symbol = query.get("symbol", "")
        return symbol.upper() if symbol else _reply(10001, "symbol is required", {})

    async def _on_time(self, _request: web.Request) -> web.Response:
        now_ns = time.time_ns() + self._time_offset_ms * _MS
        result = {"timeSecond": str(now_ns // _NS), "timeNano": str(now_ns)}
        return _reply(0, "OK", result)

    async def _on_recent_trades(self, request: web.Request) -> web.Response:
        raw = self._query_symbol(request)
        if isinstance(raw, web.Response):
            return raw
        default, most = _RECENT_TRADE_LIMITS[self._market.category]
        limit = min(int(request.query.get("limit", str(default))), most)
        symbol = unified_symbol(raw, self._market)
        trades = [t for t in self._trades if t.symbol == symbol][-limit:]
        listed = [
            {
                "execId": t.trade_id, "symbol": raw, "price": number(t.price),
                "size": number(t.size), "side": "Buy" if t.side == "buy" else "Sell",
                "time": str(t.ts_event // _MS), "isBlockTrade": False,
            }
            for t in reversed(trades)
        ]  # fmt: skip
        return _reply(0, "OK", {"category": self._market.category, "list": listed})

    async def _on_orderbook(self, request: web.Request) -> web.Response:
        raw = self._query_symbol(request)
        if isinstance(raw, web.Response):
            return raw
        book = self.venue_book(unified_symbol(raw, self._market))
        if book is None or not book.valid:
            return _reply(10001, f"no book for {raw}", {})
        depth = book.depth(int(request.query.get("limit", "25")))
        now_ms = time.time_ns() // _MS + self._time_offset_ms
        result = {
            "s": raw,
            "b": [[number(p), number(q)] for p, q in depth.bids],
            "a": [[number(p), number(q)] for p, q in depth.asks],
            "ts": now_ms,
            "u": book.sequence,
            "seq": book.sequence,
            "cts": book.ts_event // _MS,
        }
        return _reply(0, "OK", result)


def _reply(code: int, message: str, result: Any) -> web.Response:
    """Return a v5 REST reply; Bybit reports errors with HTTP 200 and a non-zero ``retCode``."""
    body = {
        "retCode": code, "retMsg": message, "result": result, "retExtInfo": {},
        "time": time.time_ns() // _MS,
    }  # fmt: skip
    return web.Response(body=msgspec.json.encode(body), content_type="application/json")
