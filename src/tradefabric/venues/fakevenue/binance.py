"""Binance (spot and USD-M) as the fake venue speaks it, from a recording.

Streams the recorded frames byte for byte on ``/stream?streams=...`` (combined
streams) and ``/ws`` (``SUBSCRIBE`` method), and keeps the venue's own book
from the same frames, so REST depth snapshots are what Binance would answer at
that moment. The recording's own inline snapshot seeds that book; streaming
starts right after it.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
from aiohttp import web

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import DataError
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import Trade
from tradefabric.venues.binance.live import raw_symbol
from tradefabric.venues.binance.markets import BinanceMarket, sequence_rules
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.binance.symbols import unified_symbol
from tradefabric.venues.binance.wire import StreamFrame
from tradefabric.venues.fakevenue.binance_history import BinanceHistory
from tradefabric.venues.fakevenue.binance_trades import BinanceTrades
from tradefabric.venues.fakevenue.server import ClientConnection, VenueFrame
from tradefabric.venues.replay.recording import read_recording

_SNAPSHOT_LOOKAHEAD = 5000
_SYNTHETIC_OPEN_INTEREST = 80_000.0


class _MethodCall(msgspec.Struct, frozen=True):
    method: str
    id: int | str | None = None
    params: list[str] = []


class BinanceScript:
    """Serve one Binance recording (``<ts_ns> <raw>`` lines) as spot or USD-M Binance."""

    ws_paths: tuple[str, ...] = ("/stream", "/ws")

    def __init__(
        self,
        recording: Path,
        market: BinanceMarket,
        server_time_offset_ms: int = 0,
        *,
        trade_retention: int | None = None,
    ):
        """Serve ``recording`` as ``market``; ``trade_retention`` bounds the old trade
        lookup to that many newest trades (None: all; 0: a venue serving no history)."""
        self.name = market.venue
        self._recording = recording
        self._market = market
        self._time_offset_ms = server_time_offset_ms
        self._bus = MessageBus()
        self._clock = SimClock()
        self._books = OrderBooks(self._bus, self._clock, sequence_rules())
        self._parser = BinanceStreamParser(self._bus, market)
        self._frame_decoder = msgspec.json.Decoder(StreamFrame)
        self._call_decoder = msgspec.json.Decoder(_MethodCall)
        self.trades = BinanceTrades(market, trade_retention)
        """Every trade matched so far, served by ``/trades`` and ``/historicalTrades``."""
        self._bus.subscribe(topics.TRADES, self.trades.add)
        self.trades_streamed = 0
        self._last_mark_second = -1
        self._signed_volume: dict[str, float] = {}
        self._bus.subscribe(topics.TRADES, self._track_open_interest)
        self.history = BinanceHistory(market, trade_recordings=(recording,))
        """History endpoints (exchangeInfo, klines, aggTrades); add candle files to serve klines."""

    @property
    def market(self) -> BinanceMarket:
        """Return the market this script serves."""
        return self._market

    @property
    def bus(self) -> MessageBus:
        """Return the private bus the replay's books and trades are published on."""
        return self._bus

    def rest_routes(self) -> list[web.RouteDef]:
        """Return depth, time, recent trades, exchange info, klines and aggTrades (``history``)."""
        prefix = self._market.depth_snapshot_path.rsplit("/", 1)[0]
        routes = [
            web.get(f"{prefix}/depth", self._on_depth),
            web.get(f"{prefix}/time", self._on_time),
            web.get(f"{prefix}/ping", self._on_ping),
            *self.trades.rest_routes(prefix),
        ]
        if self._market.open_interest_path:
            routes.append(web.get(self._market.open_interest_path, self._on_open_interest))
        return routes + self.history.rest_routes(prefix)

    def initial_streams(self, request: web.Request) -> set[str]:
        """Return the streams named in ``?streams=a/b/c`` (combined-stream URL)."""
        return {s for s in request.query.get("streams", "").split("/") if s}

    def on_client_message(self, client: ClientConnection, text: str) -> list[str]:
        """Answer SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS as Binance does."""
        try:
            call = self._call_decoder.decode(text)
        except msgspec.DecodeError:
            return [msgspec.json.encode({"error": {"code": 2, "msg": "Invalid request"}}).decode()]
        if call.method == "SUBSCRIBE":
            client.streams.update(call.params)
            result: object = None
        elif call.method == "UNSUBSCRIBE":
            client.streams.difference_update(call.params)
            result = None
        elif call.method == "LIST_SUBSCRIPTIONS":
            result = sorted(client.streams)
        else:
            return [msgspec.json.encode({"error": {"code": 1, "msg": "Unknown method"}}).decode()]
        return [msgspec.json.encode({"result": result, "id": call.id}).decode()]

    def frames(self) -> Iterator[VenueFrame]:
        """Yield the recording, keeping the venue's book current.

        A recording with an inline depth snapshot near its start streams from just
        after it (the venue's book is known from there); one without (the capture
        files) streams everything, and REST depth stays unavailable.
        """
        lines = iter(read_recording(self._recording))
        head = list(itertools.islice(lines, _SNAPSHOT_LOOKAHEAD))
        seeded = not any(line.raw.startswith(b'{"lastUpdateId"') for line in head)
        for line in itertools.chain(head, lines):
            if line.ts_recv < 0:
                continue
            frame = self._decode_frame(line.raw)
            self._clock.advance_to(line.ts_recv)
            self._apply(line.raw, line.ts_recv)
            if frame is None or not frame.stream:
                seeded = seeded or (frame is not None and frame.last_update_id >= 0)
                continue
            if seeded:
                yield from self._derived(line.ts_recv)
                yield self._venue_frame(line.ts_recv, frame.stream, line.raw)

    def _venue_frame(self, ts: int, stream: str, raw: bytes) -> VenueFrame:
        if "@trade" in stream or "@aggTrade" in stream:
            self.trades_streamed += 1
        return VenueFrame(ts, stream, raw.decode(), "@depth" in stream)

    def _derived(self, ts: int) -> Iterator[VenueFrame]:
        # Mark prices are not in the recordings: derive one per second from the real book.
        second = ts // 1_000_000_000
        if not self._market.open_interest_path or second == self._last_mark_second:
            return
        self._last_mark_second = second
        for synced in self._books.all_books():
            book = synced.book
            if not book.valid:
                continue
            raw = raw_symbol(book.symbol)
            mid = book.mid()
            payload = {
                "e": "markPriceUpdate", "E": ts // 1_000_000, "s": raw, "p": f"{mid:.2f}",
                "i": f"{mid:.2f}", "P": f"{mid:.2f}", "r": "0.00010000",
                "T": (second // 28_800 + 1) * 28_800_000,
            }  # fmt: skip
            stream = f"{raw.lower()}@markPrice@1s"
            text = msgspec.json.encode({"stream": stream, "data": payload}).decode()
            yield VenueFrame(ts, stream, text, False)

    def _decode_frame(self, raw: bytes) -> StreamFrame | None:
        try:
            return self._frame_decoder.decode(raw)
        except msgspec.DecodeError:
            return None

    def venue_book(self, symbol: str) -> OrderBook | None:
        """Return the venue's own book of a unified symbol."""
        return self._books.book(self._market.venue, symbol)

    def book(self, raw_symbol: str) -> OrderBook | None:
        """Return the venue's own book of ``raw_symbol`` (e.g. ``BTCUSDT``)."""
        return self._books.book(self._market.venue, unified_symbol(raw_symbol, self._market))

    def _apply(self, raw: bytes, ts_recv: int) -> None:
        # The venue streams whatever it recorded; coping with bad frames is the client's job.
        with contextlib.suppress(DataError):
            self._parser.on_frame(raw, ts_recv)

    async def _on_depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "")
        limit = int(request.query.get("limit", "1000"))
        book = self.book(symbol) if symbol else None
        if book is None or not book.valid:
            raise web.HTTPBadRequest(text='{"code":-1121,"msg":"Invalid symbol."}')
        depth = book.depth(min(limit, 5000))
        now_ms = time.time_ns() // 1_000_000 + self._time_offset_ms
        body = {
            "lastUpdateId": book.sequence,
            "E": now_ms,
            "T": now_ms,
            "bids": [[repr(p), repr(q)] for p, q in depth.bids],
            "asks": [[repr(p), repr(q)] for p, q in depth.asks],
        }
        return web.Response(body=msgspec.json.encode(body), content_type="application/json")

    def _track_open_interest(self, trade: Trade) -> None:
        # No open interest is recorded; a stand-in that moves with real taker flow.
        signed = trade.size if trade.side == "buy" else -trade.size
        self._signed_volume[trade.symbol] = self._signed_volume.get(trade.symbol, 0.0) + signed

    async def _on_open_interest(self, request: web.Request) -> web.Response:
        raw = request.query.get("symbol", "")
        symbol = unified_symbol(raw, self._market) if raw else ""
        if symbol not in self._signed_volume:
            raise web.HTTPBadRequest(text='{"code":-1121,"msg":"Invalid symbol."}')
        value = _SYNTHETIC_OPEN_INTEREST + self._signed_volume[symbol]
        body = {"openInterest": f"{value:.3f}", "symbol": raw, "time": time.time_ns() // 1_000_000}
        return web.Response(body=msgspec.json.encode(body), content_type="application/json")

    async def _on_time(self, _request: web.Request) -> web.Response:
        server_ms = time.time_ns() // 1_000_000 + self._time_offset_ms
        return web.json_response({"serverTime": server_ms})

    async def _on_ping(self, _request: web.Request) -> web.Response:
        return web.json_response({})
