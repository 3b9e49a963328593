"""Binance combined-stream frames in, domain events on the bus out.

The same ``on_frame`` serves a live socket and a recorded file.

Speed matters here (every market data message passes through), so each known
stream name gets its own envelope struct tagged by that name, and all of them
form one tagged union: a frame is decoded in a single pass, straight into the
payload struct of its stream, with no intermediate dict. That is faster than
``msgspec.json.decode`` into plain dicts. A frame the union cannot decode
takes the slow path, which learns new streams, decodes inline REST snapshots
and turns failures into precise ``DataError`` messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Union

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import MalformedMessageError, UnknownStreamError
from tradefabric.data import topics
from tradefabric.model.data import OpenInterest, OrderBookSnapshot, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.binance.markets import BinanceMarket
from tradefabric.venues.binance.routes import (
    ROUTES_BY_CHANNEL,
    DepthRoute,
    StreamRoute,
    TradeRoute,
)
from tradefabric.venues.binance.symbols import unified_symbol
from tradefabric.venues.binance.wire import (
    StreamFrame,
    WireDepthSnapshot,
    WireOpenInterest,
    WireRestTrade,
)

_MS = 1_000_000


class BinanceStreamParser:
    """Parse Binance market data frames for one market (spot or USD-M) and publish them."""

    def __init__(self, bus: MessageBus, market: BinanceMarket) -> None:
        self._bus = bus
        self._market = market
        self._frame_decoder = msgspec.json.Decoder(StreamFrame)
        self._snapshot_decoder = msgspec.json.Decoder(WireDepthSnapshot, strict=False)
        self._open_interest_decoder = msgspec.json.Decoder(WireOpenInterest, strict=False)
        self._rest_trades_decoder = msgspec.json.Decoder(list[WireRestTrade], strict=False)
        self._routes: dict[str, StreamRoute[Any]] = {}
        self._handle_by_envelope: dict[type[Any], Callable[[Any, int], None]] = {}
        self._envelope_decoder: msgspec.json.Decoder[Any] | None = None
        self._depth_symbols: dict[str, str] = {}

    @property
    def market(self) -> BinanceMarket:
        """Return the market this parser serves."""
        return self._market

    def subscribe_streams(self, streams: list[str]) -> None:
        """Prepare routes for ``streams`` (e.g. ``btcusdt@trade``) before frames arrive."""
        for stream in streams:
            if stream not in self._routes:
                self._add_route(stream)

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one frame: a stream envelope, or a depth snapshot inline in a recording.

        Raises a ``DataError`` subclass for a frame that is malformed, stale or of
        an unknown stream; the caller counts it and goes on.
        """
        decoder = self._envelope_decoder
        if decoder is not None:
            try:
                envelope = decoder.decode(raw)
            except msgspec.DecodeError:
                pass
            else:
                self._handle_by_envelope[type(envelope)](envelope.data, ts_recv)
                return
        self._on_frame_slow(raw, ts_recv)

    def on_depth_snapshot(self, raw: bytes, raw_symbol: str, ts_recv: int) -> None:
        """Publish a REST depth snapshot of ``raw_symbol`` (e.g. ``BTCUSDT``)."""
        try:
            wire = self._snapshot_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"depth snapshot of {raw_symbol}: {exc}") from exc
        ts_event = wire.event_time_ms * _MS if wire.event_time_ms else ts_recv
        snapshot = OrderBookSnapshot(
            self._market.venue,
            unified_symbol(raw_symbol, self._market),
            wire.bids,
            wire.asks,
            wire.last_update_id,
            ts_event,
            ts_recv,
        )
        self._bus.publish(topics.BOOK_SNAPSHOTS, snapshot)

    def on_open_interest(self, raw: bytes, ts_recv: int) -> None:
        """Publish a REST open interest reply (``GET /fapi/v1/openInterest``)."""
        try:
            wire = self._open_interest_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"open interest reply: {exc}") from exc
        symbol = unified_symbol(wire.symbol, self._market)
        event = OpenInterest(
            self._market.venue, symbol, wire.open_interest, wire.time_ms * _MS, ts_recv
        )
        self._bus.publish(topics.OPEN_INTEREST, event)

    def parse_recent_trades(self, raw: bytes, raw_symbol: str, ts_recv: int) -> list[Trade]:
        """Return the trades of a REST recent-trades reply as domain events (not published)."""
        try:
            wires = self._rest_trades_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"recent trades of {raw_symbol}: {exc}") from exc
        symbol = unified_symbol(raw_symbol, self._market)
        venue = self._market.venue
        return [
            Trade(venue, symbol, w.price, w.size,
                  AggressorSide.SELL if w.buyer_is_maker else AggressorSide.BUY,
                  str(w.trade_id), w.time_ms * _MS, ts_recv)
            for w in wires
        ]  # fmt: skip

    def merge_rest_trades(self, raw_symbol: str, trades: list[Trade]) -> int:
        """Publish REST trades of ``raw_symbol`` not yet seen on the trade stream."""
        stream = f"{raw_symbol.lower()}@trade"
        route = self._routes.get(stream) or self._add_route(stream)
        assert isinstance(route, TradeRoute)
        return route.merge_rest_trades(trades)

    def _on_frame_slow(self, raw: bytes, ts_recv: int) -> None:
        try:
            frame = self._frame_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"not a Binance frame: {exc}") from exc
        if frame.stream:
            route = self._routes.get(frame.stream) or self._add_route(frame.stream)
            # For a known stream this raises the payload's precise validation error.
            route.handle(route.decode(frame.data), ts_recv)
        elif frame.last_update_id >= 0:
            self.on_depth_snapshot(raw, self._inline_snapshot_symbol(), ts_recv)
        else:
            raise UnknownStreamError("frame is neither a stream envelope nor a depth snapshot")

    def _add_route(self, stream: str) -> StreamRoute[Any]:
        raw_symbol, _, channel_spec = stream.partition("@")
        channel = channel_spec.split("@")[0].split("_")[0]
        route_type = ROUTES_BY_CHANNEL.get(channel)
        if route_type is None or not raw_symbol:
            raise UnknownStreamError(
                f"unknown Binance stream {stream!r}; handled channels: {sorted(ROUTES_BY_CHANNEL)}"
            )
        symbol = unified_symbol(raw_symbol, self._market)
        route = route_type(self._bus, self._market.venue, symbol, stream)
        if isinstance(route, DepthRoute):
            self._depth_symbols[raw_symbol.upper()] = symbol
        self._routes[stream] = route
        envelope = msgspec.defstruct(
            f"Envelope[{stream}]",
            [("data", route.wire_type)],
            tag_field="stream",
            tag=stream,
            frozen=True,
            gc=False,  # holds scalars and tuples only; skipping GC tracking saves time per frame
        )
        self._handle_by_envelope[envelope] = route.handle
        union = Union[tuple(self._handle_by_envelope)]  # type: ignore[valid-type]  # noqa: UP007
        self._envelope_decoder = msgspec.json.Decoder(union, strict=False)
        return route

    def _inline_snapshot_symbol(self) -> str:
        # A REST reply names no symbol; in a recording it belongs to the file's one depth stream.
        if len(self._depth_symbols) != 1:
            raise MalformedMessageError(
                "depth snapshot without a symbol: expected exactly one depth stream before it, "
                f"found {sorted(self._depth_symbols) or 'none'}"
            )
        return next(iter(self._depth_symbols))
