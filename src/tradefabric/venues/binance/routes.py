"""One route per Binance stream: turn its decoded payload into domain events.

A route object is made once per stream name (``btcusdt@trade``) and holds the
few things every message of that stream needs: the unified symbol and the
last id seen (to drop stale or duplicated messages). Decoding itself happens
in one pass in the parser; ``decode`` here serves the parser's slow path
(first frame of a stream, or a frame that failed validation).
"""

from __future__ import annotations

from typing import Any, Generic, NoReturn, TypeVar

import msgspec

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError, MalformedMessageError, StaleMessageError
from tradefabric.core.time import interval_to_ns
from tradefabric.data import topics
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OrderBookDeltas,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.binance.wire import (
    WireAggTrade,
    WireBookTicker,
    WireDepthUpdate,
    WireForceOrder,
    WireKline,
    WireMarkPrice,
    WireTrade,
)

W = TypeVar("W")
_MS = 1_000_000
_BUY = AggressorSide.BUY
_SELL = AggressorSide.SELL


class StreamRoute(Generic[W]):
    """Decode one stream's payloads; subclasses turn them into domain events."""

    wire_type: type[W]
    __slots__ = ("bus", "decoder", "last_id", "stream", "symbol", "venue")

    def __init__(self, bus: MessageBus, venue: str, symbol: str, stream: str) -> None:
        self.bus = bus
        self.venue = venue
        self.symbol = symbol
        self.stream = stream
        self.decoder: msgspec.json.Decoder[W] = msgspec.json.Decoder(self.wire_type, strict=False)
        self.last_id = -1

    def decode(self, data: msgspec.Raw | bytes) -> W:
        """Decode a payload, turning any decode or validation failure into a data error."""
        try:
            return self.decoder.decode(data)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"{self.stream}: {exc}") from exc

    def check_order(self, message_id: int) -> None:
        """Accept ``message_id`` as the latest, or reject it if not above the last one."""
        if message_id <= self.last_id:
            self.reject_stale(message_id)
        self.last_id = message_id

    def out_of_line(self, message_id: int, ts_event: int, ts_recv: int) -> None:
        """Handle an id that does not follow the last one: stale, or a gap to record."""
        if message_id <= self.last_id:
            self.reject_stale(message_id)
        if self.last_id >= 0:
            gap = TradeGap(
                self.venue, self.symbol, self.last_id + 1, message_id - 1, ts_event, ts_recv
            )
            self.bus.publish(topics.TRADE_GAPS, gap)

    def reject_stale(self, message_id: int) -> NoReturn:
        """Raise for a message whose id is not above the last one accepted."""
        raise StaleMessageError(
            f"{self.stream}: id {message_id} is not after the last seen {self.last_id}"
        )

    def handle(self, wire: W, ts_recv: int) -> None:
        """Publish the domain events of one decoded payload."""
        raise NotImplementedError


class TradeRoute(StreamRoute[WireTrade]):
    """``@trade`` -> ``Trade`` (aggressor is the seller when the buyer is the maker)."""

    wire_type = WireTrade
    __slots__ = ()

    def handle(self, wire: WireTrade, ts_recv: int) -> None:
        """Publish the trade unless it is a duplicate or out of order."""
        if wire.trade_id != self.last_id + 1:
            self.out_of_line(wire.trade_id, wire.trade_time_ms * _MS, ts_recv)
        self.last_id = wire.trade_id
        side = _SELL if wire.buyer_is_maker else _BUY
        trade = Trade(
            self.venue, self.symbol, wire.price, wire.size, side, str(wire.trade_id),
            wire.trade_time_ms * _MS, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.TRADES, trade)

    def merge_rest_trades(self, trades: list[Trade]) -> int:
        """Publish REST-fetched trades the stream has not delivered yet; return how many.

        The stream and REST share one last-id, so a trade is counted once whichever
        source brings it first; the later copy is stale (a dropped duplicate).
        """
        published = 0
        for trade in sorted(trades, key=lambda t: int(t.trade_id)):
            trade_id = int(trade.trade_id)
            if trade_id <= self.last_id:
                continue
            if trade_id != self.last_id + 1:
                self.out_of_line(trade_id, trade.ts_event, trade.ts_recv)
            self.last_id = trade_id
            self.bus.publish(topics.TRADES, trade)
            published += 1
        return published


class AggTradeRoute(StreamRoute[WireAggTrade]):
    """``@aggTrade`` -> ``Trade`` whose ``trade_id`` is the aggregate id."""

    wire_type = WireAggTrade
    __slots__ = ()

    def handle(self, wire: WireAggTrade, ts_recv: int) -> None:
        """Publish the aggregated trade unless it is a duplicate or out of order."""
        if wire.agg_id != self.last_id + 1:
            self.out_of_line(wire.agg_id, wire.trade_time_ms * _MS, ts_recv)
        self.last_id = wire.agg_id
        side = _SELL if wire.buyer_is_maker else _BUY
        trade = Trade(
            self.venue, self.symbol, wire.price, wire.size, side, str(wire.agg_id),
            wire.trade_time_ms * _MS, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.TRADES, trade)


class QuoteRoute(StreamRoute[WireBookTicker]):
    """``@bookTicker`` -> ``Quote``; spot has no event time, so ``ts_event`` is ``ts_recv``."""

    wire_type = WireBookTicker
    __slots__ = ()

    def handle(self, wire: WireBookTicker, ts_recv: int) -> None:
        """Publish the quote unless its update id is not newer than the last one."""
        if wire.update_id <= self.last_id:
            self.reject_stale(wire.update_id)
        self.last_id = wire.update_id
        ts_event = wire.event_time_ms * _MS if wire.event_time_ms else ts_recv
        quote = Quote(
            self.venue, self.symbol, wire.bid, wire.bid_size, wire.ask, wire.ask_size,
            wire.update_id, ts_event, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.QUOTES, quote)


class DepthRoute(StreamRoute[WireDepthUpdate]):
    """``@depth`` -> ``OrderBookDeltas``; sequencing is checked by the book synchronizer."""

    wire_type = WireDepthUpdate
    __slots__ = ()

    def handle(self, wire: WireDepthUpdate, ts_recv: int) -> None:
        """Publish the delta batch."""
        deltas = OrderBookDeltas(
            self.venue, self.symbol, wire.bids, wire.asks, wire.first_id, wire.last_id,
            wire.prev_id, wire.event_time_ms * _MS, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.BOOK_DELTAS, deltas)


class KlineRoute(StreamRoute[WireKline]):
    """``@kline_<interval>`` -> ``Candle``, once the venue marks the kline closed."""

    wire_type = WireKline
    __slots__ = ()

    def handle(self, wire: WireKline, ts_recv: int) -> None:
        """Publish the candle if the kline is closed; running updates are not candles yet."""
        kline = wire.kline
        if not kline.closed:
            return
        self.check_order(kline.open_time_ms)
        ts_open = kline.open_time_ms * _MS
        volume = kline.volume
        vwap = kline.quote_volume / volume if volume > 0 else kline.close
        candle = Candle(
            self.venue, self.symbol, kline.interval, ts_open, kline.open, kline.high, kline.low,
            kline.close, volume, kline.trades, kline.taker_buy_volume, vwap,
            ts_open + _interval_ns(kline.interval), ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.CANDLES, candle)


class MarkPriceRoute(StreamRoute[WireMarkPrice]):
    """``@markPrice`` -> ``MarkPrice`` (mark, index, funding rate)."""

    wire_type = WireMarkPrice
    __slots__ = ()

    def handle(self, wire: WireMarkPrice, ts_recv: int) -> None:
        """Publish the mark price unless it is older than the last one."""
        self.check_order(wire.event_time_ms)
        mark = MarkPrice(
            self.venue, self.symbol, wire.mark_price, wire.index_price, wire.funding_rate,
            wire.next_funding_ms * _MS, wire.event_time_ms * _MS, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.MARK_PRICES, mark)


class LiquidationRoute(StreamRoute[WireForceOrder]):
    """``@forceOrder`` -> ``Liquidation`` at the average fill price of the filled size."""

    wire_type = WireForceOrder
    __slots__ = ()

    def handle(self, wire: WireForceOrder, ts_recv: int) -> None:
        """Publish the liquidation."""
        order = wire.order
        side = _SIDES.get(order.side)
        if side is None:
            raise MalformedMessageError(f"{self.stream}: unknown side {order.side!r}")
        liquidation = Liquidation(
            self.venue, self.symbol, side, order.average_price, order.filled,
            order.trade_time_ms * _MS, ts_recv,
        )  # fmt: skip
        self.bus.publish(topics.LIQUIDATIONS, liquidation)


_SIDES = {"BUY": _BUY, "SELL": _SELL}


def _interval_ns(interval: str) -> int:
    try:
        return interval_to_ns(interval)
    except ConfigError as exc:
        raise MalformedMessageError(f"kline interval {interval!r} is not supported") from exc


ROUTES_BY_CHANNEL: dict[str, type[StreamRoute[Any]]] = {
    "trade": TradeRoute,
    "aggTrade": AggTradeRoute,
    "bookTicker": QuoteRoute,
    "depth": DepthRoute,
    "kline": KlineRoute,
    "markPrice": MarkPriceRoute,
    "forceOrder": LiquidationRoute,
}
"""Binance channel name (the part after ``<symbol>@``) -> route class."""
