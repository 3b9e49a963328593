"""Bybit v5 public frames in, domain events on the bus out (spot and linear).

The same ``on_frame`` serves a live socket and a recorded file.

Speed matters here (every market data message passes through), so each known
topic (``orderbook.500.XRPUSDT``) gets its own frame struct tagged by that
topic, and all of them form one tagged union keyed by Bybit's ``topic`` field:
a frame is decoded in a single pass, straight into the payload struct of its
channel, with no intermediate dict. A frame the union cannot decode takes the
slow path, which learns new topics, counts op replies (subscribe acks, pongs)
and turns failures into precise ``DataError`` messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Union

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import MalformedMessageError, UnknownStreamError
from tradefabric.venues.bybit.markets import BybitMarket
from tradefabric.venues.bybit.routes import (
    KLINE_INTERVALS,
    ROUTES_BY_CHANNEL,
    BookRoute,
    KlineRoute,
    LiquidationRoute,
    TickerRoute,
    TopicRoute,
)
from tradefabric.venues.bybit.state import BybitLiquidation, BybitTicker
from tradefabric.venues.bybit.symbols import unified_symbol
from tradefabric.venues.bybit.wire import ControlFrame


class BybitParserStats(msgspec.Struct, frozen=True):
    """Control frames seen: op replies are counted, never published."""

    subscribe_acks: int
    unsubscribe_acks: int
    pongs: int
    other_acks: int
    rejected: int
    """Op replies with ``success: false`` (e.g. an invalid topic); each also raised."""
    last_rejection: str


class BybitStreamParser:
    """Parse Bybit v5 public market data frames for one market and publish them."""

    def __init__(self, bus: MessageBus, market: BybitMarket) -> None:
        self._bus = bus
        self._market = market
        self._channels = frozenset(prefix.split(".")[0] for prefix in market.channels.values())
        self._control_decoder = msgspec.json.Decoder(ControlFrame)
        self._routes: dict[str, TopicRoute[Any]] = {}
        self._handle_by_frame: dict[type[Any], Callable[[Any, int], None]] = {}
        self._decoder: msgspec.json.Decoder[Any] | None = None
        self._book_topics: dict[str, str] = {}
        self._tickers: dict[str, TickerRoute] = {}
        self._liquidations: dict[str, LiquidationRoute] = {}
        self._counts = {"subscribe": 0, "unsubscribe": 0, "pong": 0, "other": 0, "rejected": 0}
        self._last_rejection = ""

    @property
    def market(self) -> BybitMarket:
        """Return the market this parser serves."""
        return self._market

    def subscribe_topics(self, topics: Iterable[str]) -> None:
        """Prepare routes for ``topics`` (e.g. ``publicTrade.BTCUSDT``) before frames arrive."""
        for topic in topics:
            if topic not in self._routes:
                self._add_route(topic)

    def on_frame(self, raw: bytes, ts_recv: int) -> None:
        """Handle one frame: a topic's data, or an op reply (ack, pong).

        Raises a ``DataError`` subclass for a frame that is malformed, stale, of an
        unknown topic, or a rejected request; the caller counts it and goes on.
        """
        decoder = self._decoder
        if decoder is not None:
            try:
                frame = decoder.decode(raw)
            except msgspec.DecodeError:
                pass
            else:
                self._handle_by_frame[type(frame)](frame, ts_recv)
                return
        self._on_frame_slow(raw, ts_recv)

    def stats(self) -> BybitParserStats:
        """Return the counts of control frames seen so far."""
        counts = self._counts
        return BybitParserStats(
            subscribe_acks=counts["subscribe"],
            unsubscribe_acks=counts["unsubscribe"],
            pongs=counts["pong"],
            other_acks=counts["other"],
            rejected=counts["rejected"],
            last_rejection=self._last_rejection,
        )

    def ticker(self, symbol: str) -> BybitTicker | None:
        """Return the merged ticker state of unified ``symbol``, or None if none arrived."""
        route = self._tickers.get(symbol)
        return None if route is None or route.last_ts < 0 else route.state

    def liquidation(self, symbol: str) -> BybitLiquidation | None:
        """Return the latest liquidation of unified ``symbol``, or None if none arrived."""
        route = self._liquidations.get(symbol)
        return None if route is None else route.latest

    def _on_frame_slow(self, raw: bytes, ts_recv: int) -> None:
        try:
            control = self._control_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"not a Bybit frame: {exc}") from exc
        if control.topic:
            route = self._routes.get(control.topic) or self._add_route(control.topic)
            # For a known topic this raises the payload's precise validation error.
            route.handle(route.decode(raw), ts_recv)
        elif control.op:
            self._on_op(control)
        else:
            raise UnknownStreamError("frame has neither a topic nor an op")

    def _on_op(self, control: ControlFrame) -> None:
        if control.op == "pong" or control.ret_msg == "pong":
            self._counts["pong"] += 1
        elif not control.success:
            self._counts["rejected"] += 1
            self._last_rejection = f"{control.op} {control.req_id}: {control.ret_msg}".strip()
            raise UnknownStreamError(f"Bybit rejected {self._last_rejection}")
        elif control.op in ("subscribe", "unsubscribe"):
            self._counts[control.op] += 1
        else:
            self._counts["other"] += 1

    def _add_route(self, topic: str) -> TopicRoute[Any]:
        channel, *params = topic.split(".")
        route_type = ROUTES_BY_CHANNEL.get(channel)
        if route_type is None or channel not in self._channels or len(params) not in (1, 2):
            raise UnknownStreamError(
                f"unknown Bybit topic {topic!r} on {self._market.venue}; "
                f"handled channels: {sorted(self._channels)}"
            )
        raw_symbol = params[-1]
        self._check_params(topic, route_type, params[:-1])
        symbol = unified_symbol(raw_symbol, self._market)
        route = route_type(self._bus, self._market.venue, symbol, raw_symbol, topic)
        self._remember(route)
        self._routes[topic] = route
        tagged = msgspec.defstruct(
            f"Tagged[{topic}]", [], bases=(route.frame_type,), tag_field="topic", tag=topic
        )
        self._handle_by_frame[tagged] = route.handle
        union = Union[tuple(self._handle_by_frame)]  # type: ignore[valid-type]  # noqa: UP007
        self._decoder = msgspec.json.Decoder(union, strict=False)
        return route

    def _check_params(self, topic: str, route_type: type[Any], params: list[str]) -> None:
        if route_type is BookRoute:
            depth = params[0] if params else ""
            if not depth.isdigit() or int(depth) not in self._market.book_depths:
                raise UnknownStreamError(
                    f"{topic}: depth {depth!r} not served on {self._market.venue}; "
                    f"depths: {list(self._market.book_depths)}"
                )
        elif route_type is KlineRoute:
            if not params or params[0] not in KLINE_INTERVALS:
                raise UnknownStreamError(f"{topic}: unknown kline interval")
        elif params:
            raise UnknownStreamError(f"unknown Bybit topic {topic!r}")

    def _remember(self, route: TopicRoute[Any]) -> None:
        if isinstance(route, BookRoute):
            other = self._book_topics.setdefault(route.raw_symbol, route.topic)
            if other != route.topic:
                raise UnknownStreamError(
                    f"{route.topic}: the book of {route.raw_symbol} already comes from {other}; "
                    "two depths would interleave two update-id sequences in one book"
                )
        elif isinstance(route, TickerRoute):
            self._tickers[route.symbol] = route
        elif isinstance(route, LiquidationRoute):
            self._liquidations[route.symbol] = route
