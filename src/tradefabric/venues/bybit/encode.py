"""Domain events -> Bybit v5 public frames, so the local fake venue speaks Bybit's protocol.

The inverse of ``BybitStreamParser``: parsing what ``BybitEncoder`` writes gives
back the same events (the frame time ``ts`` is whole milliseconds, as Bybit's).
Numbers are printed as plain decimals (``0.00001``, never ``1e-05``), in the
shortest form that reads back as the same float. Bybit numbers each book
message with one update id ``u``: a delta batch is written with its ``last_id``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    PriceLevel,
    Quote,
    Trade,
)
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.bybit.markets import BybitMarket
from tradefabric.venues.bybit.routes import KLINE_INTERVALS
from tradefabric.venues.bybit.symbols import raw_symbol

_MS = 1_000_000
_INTERVAL_CODES = {name: code for code, name in KLINE_INTERVALS.items()}
_SIDES = {AggressorSide.BUY: "Buy", AggressorSide.SELL: "Sell"}
_POSITION_SIDES = {AggressorSide.SELL: "Buy", AggressorSide.BUY: "Sell"}


class _Trade(msgspec.Struct, frozen=True):
    T: int
    s: str
    S: str
    v: str
    p: str
    i: str
    BT: bool = False


class _Book(msgspec.Struct, frozen=True):
    s: str
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    u: int
    seq: int


class _Ticker(msgspec.Struct, frozen=True, omit_defaults=True, rename="camel"):
    symbol: str
    mark_price: str | None = None
    index_price: str | None = None
    open_interest: str | None = None
    next_funding_time: str | None = None
    funding_rate: str | None = None
    bid1_price: str | None = None
    bid1_size: str | None = None
    ask1_price: str | None = None
    ask1_size: str | None = None


class _Kline(msgspec.Struct, frozen=True):
    start: int
    end: int
    interval: str
    open: str
    close: str
    high: str
    low: str
    volume: str
    turnover: str
    confirm: bool
    timestamp: int


class _Liquidation(msgspec.Struct, frozen=True):
    T: int
    s: str
    S: str
    v: str
    p: str


class _Frame(msgspec.Struct, frozen=True, omit_defaults=True):
    topic: str
    type: str
    ts: int
    data: object
    cs: int | None = None


class _OpReply(msgspec.Struct, frozen=True):
    success: bool
    ret_msg: str
    conn_id: str
    req_id: str
    op: str


def number(value: float) -> str:
    """Return ``value`` as a plain decimal string that reads back as the same float."""
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} in a Bybit frame")
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def _levels(levels: Sequence[PriceLevel]) -> list[tuple[str, str]]:
    return [(number(price), number(size)) for price, size in levels]


class BybitEncoder:
    """Write domain events of one market as Bybit v5 frames (bytes, one frame each).

    Tickers are stateful on Bybit's linear streams: the first frame of a symbol is a
    ``snapshot``, later ones ``delta`` frames carrying only what they change.
    """

    def __init__(self, market: BybitMarket) -> None:
        self._market = market
        self._encoder = msgspec.json.Encoder()
        self._tickers_started: set[str] = set()
        self._cross_seq = 0

    def trades(self, trades: Sequence[Trade]) -> bytes:
        """Return one ``publicTrade`` frame holding ``trades`` (all of one symbol)."""
        raw = raw_symbol(trades[0].symbol)
        data = [
            _Trade(t.ts_event // _MS, raw, _SIDES[t.side], number(t.size), number(t.price),
                   t.trade_id)
            for t in trades
        ]  # fmt: skip
        return self._frame(f"publicTrade.{raw}", "snapshot", trades[-1].ts_event, data)

    def book(self, event: OrderBookSnapshot | OrderBookDeltas, depth: int) -> bytes:
        """Return an ``orderbook.<depth>`` snapshot or delta frame; ``u`` is the event's id."""
        raw = raw_symbol(event.symbol)
        if isinstance(event, OrderBookSnapshot):
            kind, update_id = "snapshot", event.sequence
        else:
            kind, update_id = "delta", event.last_id
        self._cross_seq += 1
        data = _Book(raw, _levels(event.bids), _levels(event.asks), update_id, self._cross_seq)
        return self._frame(f"orderbook.{depth}.{raw}", kind, event.ts_event, data)

    def quote(self, quote: Quote) -> bytes:
        """Return a linear ``tickers`` frame carrying the quote's best bid and ask."""
        data = _Ticker(
            raw_symbol(quote.symbol),
            bid1_price=number(quote.bid),
            bid1_size=number(quote.bid_size),
            ask1_price=number(quote.ask),
            ask1_size=number(quote.ask_size),
        )
        return self._ticker(data, quote.ts_event, quote.sequence)

    def mark_price(self, mark: MarkPrice, cross_seq: int = -1) -> bytes:
        """Return a linear ``tickers`` frame carrying mark, index and funding."""
        data = _Ticker(
            raw_symbol(mark.symbol),
            mark_price=number(mark.mark_price),
            index_price=number(mark.index_price),
            funding_rate=number(mark.funding_rate),
            next_funding_time=str(mark.next_funding_ts // _MS),
        )
        return self._ticker(data, mark.ts_event, cross_seq)

    def open_interest(self, event: OpenInterest, cross_seq: int = -1) -> bytes:
        """Return a linear ``tickers`` frame carrying open interest."""
        data = _Ticker(raw_symbol(event.symbol), open_interest=number(event.open_interest))
        return self._ticker(data, event.ts_event, cross_seq)

    def candle(self, candle: Candle) -> bytes:
        """Return a confirmed ``kline`` frame for a closed candle."""
        code = _INTERVAL_CODES.get(candle.interval)
        if code is None:
            raise ConfigError(f"Bybit has no kline interval {candle.interval!r}")
        raw = raw_symbol(candle.symbol)
        end_ms = candle.ts_event // _MS - 1
        kline = _Kline(
            candle.ts_open // _MS, end_ms, code, number(candle.open), number(candle.close),
            number(candle.high), number(candle.low), number(candle.volume),
            number(candle.vwap * candle.volume), True, end_ms,
        )  # fmt: skip
        return self._frame(f"kline.{code}.{raw}", "snapshot", candle.ts_event, [kline])

    def liquidations(self, events: Sequence[Liquidation]) -> bytes:
        """Return one ``allLiquidation`` frame (Bybit's ``S`` is the liquidated position)."""
        raw = raw_symbol(events[0].symbol)
        data = [
            _Liquidation(e.ts_event // _MS, raw, _POSITION_SIDES[e.side], number(e.size),
                         number(e.price))
            for e in events
        ]  # fmt: skip
        return self._frame(f"allLiquidation.{raw}", "snapshot", events[-1].ts_event, data)

    def op_reply(self, op: str, req_id: str = "", success: bool = True, ret_msg: str = "") -> bytes:
        """Return Bybit's reply to a request: ``subscribe`` ack, or ``pong`` for ``ping``."""
        message = "pong" if op == "ping" and success else ret_msg
        return self._encoder.encode(_OpReply(success, message, "fake-conn", req_id, op))

    def _ticker(self, data: _Ticker, ts_event: int, cross_seq: int) -> bytes:
        if self._market.category != "linear":
            raise ConfigError(f"{self._market.venue}: spot tickers carry no book or derivatives")
        first = data.symbol not in self._tickers_started
        self._tickers_started.add(data.symbol)
        kind: Literal["snapshot", "delta"] = "snapshot" if first else "delta"
        return self._frame(f"tickers.{data.symbol}", kind, ts_event, data, cross_seq)

    def _frame(
        self, topic: str, kind: str, ts_event: int, data: object, cross_seq: int | None = None
    ) -> bytes:
        frame = _Frame(topic, kind, ts_event // _MS, data, cross_seq)
        return self._encoder.encode(frame)
