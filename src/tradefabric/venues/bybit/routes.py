"""One route per Bybit topic: turn its decoded frame into domain events.

A route object is made once per topic (``publicTrade.BTCUSDT``) and holds the
few things every message of that topic needs: the unified symbol, Bybit's
spelling of it, and what was last seen (to drop stale or duplicated messages).
Decoding happens in one pass in the parser; ``decode`` here serves the
parser's slow path (first frame of a topic, or a frame that failed validation).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Generic, NoReturn, TypeVar

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import MalformedMessageError, StaleMessageError
from tradefabric.data import topics
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    Quote,
    Trade,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.bybit.state import BybitLiquidation, BybitTicker, merge_ticker
from tradefabric.venues.bybit.wire import (
    BookFrame,
    KlineFrame,
    LiquidationFrame,
    TickerFrame,
    TradeFrame,
    WireKline,
    WireTicker,
)

F = TypeVar("F")
_MS = 1_000_000
_BUY = AggressorSide.BUY
_SELL = AggressorSide.SELL
_TAKER_SIDES = {"Buy": _BUY, "Sell": _SELL}

KLINE_INTERVALS: dict[str, str] = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h",
    "240": "4h", "360": "6h", "720": "12h", "D": "1d", "W": "1w", "M": "1M",
}  # fmt: skip
"""Bybit kline interval -> the interval name on ``Candle``."""


class TopicRoute(Generic[F]):
    """Decode one topic's frames; subclasses turn them into domain events."""

    frame_type: type[F]
    __slots__ = ("bus", "decoder", "last_ts", "raw_symbol", "symbol", "topic", "venue")

    def __init__(
        self, bus: MessageBus, venue: str, symbol: str, raw_symbol: str, topic: str
    ) -> None:
        self.bus = bus
        self.venue = venue
        self.symbol = symbol
        self.raw_symbol = raw_symbol
        self.topic = topic
        self.decoder: msgspec.json.Decoder[F] = msgspec.json.Decoder(self.frame_type, strict=False)
        self.last_ts = -1

    def decode(self, raw: bytes) -> F:
        """Decode a whole frame, turning any decode or validation failure into a data error."""
        try:
            return self.decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"{self.topic}: {exc}") from exc

    def check_time(self, ts_ms: int) -> None:
        """Accept frame time ``ts_ms`` unless it is older than the last frame's."""
        if ts_ms < self.last_ts:
            self.reject_stale(f"ts {ts_ms} is before the last seen {self.last_ts}")
        self.last_ts = ts_ms

    def check_symbol(self, raw_symbol: str) -> None:
        """Reject a payload naming another symbol than its topic."""
        if raw_symbol != self.raw_symbol:
            raise MalformedMessageError(f"{self.topic}: payload is for symbol {raw_symbol!r}")

    def reject_stale(self, why: str) -> NoReturn:
        """Raise for a message that is older than, or a repeat of, one already accepted."""
        raise StaleMessageError(f"{self.topic}: {why}")

    def handle(self, frame: F, ts_recv: int) -> None:
        """Publish the domain events of one decoded frame."""
        raise NotImplementedError


class TradeRoute(TopicRoute[TradeFrame]):
    """``publicTrade`` -> ``Trade``; Bybit's ``S`` is the taker's side, ``i`` the trade id."""

    frame_type = TradeFrame
    __slots__ = ("already_published", "last_trade_id")

    def __init__(
        self, bus: MessageBus, venue: str, symbol: str, raw_symbol: str, topic: str
    ) -> None:
        super().__init__(bus, venue, symbol, raw_symbol, topic)
        self.last_trade_id = ""
        self.already_published: Callable[[str, str], bool] | None = None
        """(symbol, trade id) -> True when another source (a REST poll) published it first."""

    def handle(self, frame: TradeFrame, ts_recv: int) -> None:
        """Publish every trade of the frame unless the frame is old or a repeat."""
        trades = frame.data
        if not trades:
            return
        if trades[-1].trade_id == self.last_trade_id:
            self.reject_stale(f"trade {self.last_trade_id} was already received")
        self.check_time(frame.ts)
        self.last_trade_id = trades[-1].trade_id
        venue, symbol, publish = self.venue, self.symbol, self.bus.publish
        already = self.already_published
        for wire in trades:
            if wire.symbol != self.raw_symbol:
                self.check_symbol(wire.symbol)
            if already is not None and already(symbol, wire.trade_id):
                continue
            trade = Trade(
                venue, symbol, wire.price, wire.size, _TAKER_SIDES[wire.side], wire.trade_id,
                wire.time_ms * _MS, ts_recv,
            )  # fmt: skip
            publish(topics.TRADES, trade)


class BookRoute(TopicRoute[BookFrame]):
    """``orderbook.<depth>`` -> ``OrderBookSnapshot`` / ``OrderBookDeltas`` with ids from ``u``.

    Sequencing (``u`` + 1 per message, ``u == 1`` after a restart) is the book
    synchronizer's job, with ``BybitBookRule``.
    """

    frame_type = BookFrame
    __slots__ = ()

    def handle(self, frame: BookFrame, ts_recv: int) -> None:
        """Publish a snapshot or a delta batch."""
        data = frame.data
        if data.symbol != self.raw_symbol:
            self.check_symbol(data.symbol)
        update_id = data.update_id
        if frame.type == "delta":
            deltas = OrderBookDeltas(
                self.venue, self.symbol, data.bids, data.asks, update_id, update_id, -1,
                frame.ts * _MS, ts_recv,
            )  # fmt: skip
            self.bus.publish(topics.BOOK_DELTAS, deltas)
            return
        snapshot = OrderBookSnapshot(
            self.venue, self.symbol, data.bids, data.asks, update_id, frame.ts * _MS, ts_recv
        )
        self.bus.publish(topics.BOOK_SNAPSHOTS, snapshot)


class TickerRoute(TopicRoute[TickerFrame]):
    """``tickers`` -> merged ``BybitTicker``; ``Quote``, ``MarkPrice`` and ``OpenInterest``.

    A ``Quote`` (sequence: the ticker's ``cs``) is published when a frame changes the
    best bid or ask and both are known; spot tickers carry none.
    """

    frame_type = TickerFrame
    __slots__ = ("last_cs", "state")

    def __init__(
        self, bus: MessageBus, venue: str, symbol: str, raw_symbol: str, topic: str
    ) -> None:
        super().__init__(bus, venue, symbol, raw_symbol, topic)
        self.last_cs = -1
        self.state = BybitTicker(venue=venue, symbol=symbol)

    def handle(self, frame: TickerFrame, ts_recv: int) -> None:
        """Merge the frame into the symbol's ticker state and publish what it changed."""
        data = frame.data
        if data.symbol != self.raw_symbol:
            self.check_symbol(data.symbol)
        if frame.cs < self.last_cs:
            self.reject_stale(f"cs {frame.cs} is before the last seen {self.last_cs}")
        self.check_time(frame.ts)
        self.last_cs = frame.cs
        ts_event = frame.ts * _MS
        state = merge_ticker(self.state, data, frame.cs, ts_event, ts_recv)
        self.state = state
        if _touches_quote(data):
            self._publish_quote(state)
        if _touches_mark(data):
            self._publish_mark(state)
        if data.open_interest is not None:
            event = OpenInterest(self.venue, self.symbol, data.open_interest, ts_event, ts_recv)
            self.bus.publish(topics.OPEN_INTEREST, event)

    def _publish_quote(self, state: BybitTicker) -> None:
        bid, ask = state.bid_price, state.ask_price
        bid_size, ask_size = state.bid_size, state.ask_size
        if not bid or not ask or bid_size is None or ask_size is None:
            return  # a side is unknown or empty: no quote to show
        quote = Quote(
            self.venue, self.symbol, bid, bid_size, ask, ask_size, state.cross_seq,
            state.ts_event, state.ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.QUOTES, quote)

    def _publish_mark(self, state: BybitTicker) -> None:
        mark, index, funding = state.mark_price, state.index_price, state.funding_rate
        if mark is None or index is None or funding is None:
            return  # dated futures have no funding: not a perpetual's mark price
        event = MarkPrice(
            self.venue, self.symbol, mark, index, funding, state.next_funding_ts or 0,
            state.ts_event, state.ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.MARK_PRICES, event)


def _touches_quote(data: WireTicker) -> bool:
    return not (
        data.bid_price is None
        and data.ask_price is None
        and data.bid_size is None
        and data.ask_size is None
    )


def _touches_mark(data: WireTicker) -> bool:
    return not (
        data.mark_price is None
        and data.index_price is None
        and data.funding_rate is None
        and data.next_funding_time is None
    )


class KlineRoute(TopicRoute[KlineFrame]):
    """``kline.<interval>`` -> ``Candle``, once Bybit confirms the kline closed.

    Bybit klines carry no trade count nor taker-buy volume: ``trades`` is -1 and
    ``buy_volume`` NaN (unknown); ``vwap`` is turnover / volume.
    """

    frame_type = KlineFrame
    __slots__ = ("last_start",)

    def __init__(
        self, bus: MessageBus, venue: str, symbol: str, raw_symbol: str, topic: str
    ) -> None:
        super().__init__(bus, venue, symbol, raw_symbol, topic)
        self.last_start = -1

    def handle(self, frame: KlineFrame, ts_recv: int) -> None:
        """Publish a candle for each confirmed kline; running updates are not candles yet."""
        for kline in frame.data:
            if kline.confirm:
                self._publish(kline, ts_recv)

    def _publish(self, kline: WireKline, ts_recv: int) -> None:
        if kline.start <= self.last_start:
            self.reject_stale(f"kline {kline.start} is not after the last one {self.last_start}")
        interval = KLINE_INTERVALS.get(kline.interval)
        if interval is None or kline.end <= kline.start:
            raise MalformedMessageError(f"{self.topic}: bad kline interval {kline.interval!r}")
        self.last_start = kline.start
        volume = kline.volume
        vwap = kline.turnover / volume if volume > 0 else kline.close
        candle = Candle(
            self.venue, self.symbol, interval, kline.start * _MS, kline.open, kline.high,
            kline.low, kline.close, volume, -1, math.nan, vwap, (kline.end + 1) * _MS, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.CANDLES, candle)


class LiquidationRoute(TopicRoute[LiquidationFrame]):
    """``allLiquidation`` -> ``Liquidation`` (the order's side) and the latest ``BybitLiquidation``.

    Bybit's ``S`` is the liquidated position's side, so ``Buy`` (a long) becomes a
    ``sell`` liquidation order; the price is Bybit's bankruptcy price.
    """

    frame_type = LiquidationFrame
    __slots__ = ("latest",)

    def __init__(
        self, bus: MessageBus, venue: str, symbol: str, raw_symbol: str, topic: str
    ) -> None:
        super().__init__(bus, venue, symbol, raw_symbol, topic)
        self.latest: BybitLiquidation | None = None

    def handle(self, frame: LiquidationFrame, ts_recv: int) -> None:
        """Publish each liquidation of the frame and keep the latest."""
        self.check_time(frame.ts)
        data = frame.data
        for wire in data if isinstance(data, tuple) else (data,):
            self.check_symbol(wire.symbol)
            long_liquidated = wire.position_side == "Buy"
            liquidation = BybitLiquidation(
                venue=self.venue,
                symbol=self.symbol,
                position_side="long" if long_liquidated else "short",
                side=_SELL if long_liquidated else _BUY,
                bankruptcy_price=wire.price,
                size=wire.size,
                ts_event=wire.time_ms * _MS,
                ts_recv=ts_recv,
            )
            self.latest = liquidation
            event = Liquidation(
                self.venue, self.symbol, liquidation.side, wire.price, wire.size,
                liquidation.ts_event, ts_recv,
            )  # fmt: skip
            self.bus.publish(topics.LIQUIDATIONS, event)


ROUTES_BY_CHANNEL: dict[str, type[TopicRoute[Any]]] = {
    "publicTrade": TradeRoute,
    "orderbook": BookRoute,
    "tickers": TickerRoute,
    "kline": KlineRoute,
    "allLiquidation": LiquidationRoute,
}
"""Bybit channel (the topic's first part) -> route class."""
