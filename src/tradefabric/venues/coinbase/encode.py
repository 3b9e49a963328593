"""Domain events -> Advanced Trade frames, for the local fake venue and round-trip tests.

``CoinbaseEncoder`` numbers its frames like one connection (``sequence_num``
0, 1, 2, ...); ``skip`` leaves numbers out to inject a gap. Floats are printed
from their shortest repr (never in exponent form), so parsing a frame gives back
the very same float. Times are printed with 9 fraction digits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from tradefabric.model.data import Candle, OrderBookDeltas, OrderBookSnapshot, Quote, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.coinbase.markets import CoinbaseMarket, product_id
from tradefabric.venues.coinbase.timestamps import format_rfc3339_ns

_NS = 1_000_000_000


def decimal_text(value: float) -> str:
    """Return ``value`` as a plain decimal string that parses back to the same float."""
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


class CoinbaseEncoder:
    """Encode domain events as the frames of one Advanced Trade connection."""

    def __init__(self, market: CoinbaseMarket) -> None:
        self._market = market
        self._next_seq = 0
        self._encoder = msgspec.json.Encoder()
        taker = market.trade_side_is_taker
        self._sides = {
            AggressorSide.BUY: "BUY" if taker else "SELL",
            AggressorSide.SELL: "SELL" if taker else "BUY",
        }

    def skip(self, count: int = 1) -> None:
        """Leave ``count`` sequence numbers out (as if those messages were lost)."""
        self._next_seq += count

    def subscriptions(self, channels: Mapping[str, Sequence[str]], ts_ns: int) -> bytes:
        """Return a ``subscriptions`` ack for venue channels -> unified symbols."""
        subs = {ch: [product_id(s) for s in symbols] for ch, symbols in channels.items()}
        return self._frame("subscriptions", ts_ns, [{"subscriptions": subs}])

    def heartbeat(self, counter: int, ts_ns: int) -> bytes:
        """Return a ``heartbeats`` message."""
        event = {"current_time": format_rfc3339_ns(ts_ns), "heartbeat_counter": counter}
        return self._frame("heartbeats", ts_ns, [event])

    def trades(self, trades: Sequence[Trade], ts_ns: int, snapshot: bool = False) -> bytes:
        """Return a ``market_trades`` message holding ``trades``."""
        wire = [
            {"trade_id": t.trade_id, "product_id": product_id(t.symbol),
             "price": decimal_text(t.price), "size": decimal_text(t.size),
             "side": self._sides[t.side], "time": format_rfc3339_ns(t.ts_event)}
            for t in trades
        ]  # fmt: skip
        kind = "snapshot" if snapshot else "update"
        return self._frame("market_trades", ts_ns, [{"type": kind, "trades": wire}])

    def quote(self, quote: Quote) -> bytes:
        """Return a ``ticker`` message with the quote's best bid and ask (no last price)."""
        ticker = {
            "type": "ticker", "product_id": product_id(quote.symbol),
            "best_bid": decimal_text(quote.bid), "best_bid_quantity": decimal_text(quote.bid_size),
            "best_ask": decimal_text(quote.ask), "best_ask_quantity": decimal_text(quote.ask_size),
        }  # fmt: skip
        return self._frame("ticker", quote.ts_event, [{"type": "update", "tickers": [ticker]}])

    def book_snapshot(self, snapshot: OrderBookSnapshot) -> bytes:
        """Return an ``l2_data`` snapshot of the whole book."""
        event = self._l2_event("snapshot", snapshot.symbol, snapshot.bids, snapshot.asks,
                               snapshot.ts_event)  # fmt: skip
        return self._frame("l2_data", snapshot.ts_event, [event])

    def book_deltas(self, deltas: OrderBookDeltas) -> bytes:
        """Return an ``l2_data`` update: new absolute sizes per level (0 removes)."""
        event = self._l2_event("update", deltas.symbol, deltas.bids, deltas.asks, deltas.ts_event)
        return self._frame("l2_data", deltas.ts_event, [event])

    def candle(self, candle: Candle, ts_ns: int) -> bytes:
        """Return a ``candles`` update carrying ``candle`` (the running 5-minute candle)."""
        wire = {
            "start": str(candle.ts_open // _NS), "high": decimal_text(candle.high),
            "low": decimal_text(candle.low), "open": decimal_text(candle.open),
            "close": decimal_text(candle.close), "volume": decimal_text(candle.volume),
            "product_id": product_id(candle.symbol),
        }  # fmt: skip
        return self._frame("candles", ts_ns, [{"type": "update", "candles": [wire]}])

    def _l2_event(
        self,
        kind: str,
        symbol: str,
        bids: Sequence[tuple[float, float]],
        asks: Sequence[tuple[float, float]],
        ts_ns: int,
    ) -> dict[str, Any]:
        time = format_rfc3339_ns(ts_ns)
        updates = [_level("bid", level, time) for level in bids]
        updates += [_level("offer", level, time) for level in asks]
        return {"type": kind, "product_id": product_id(symbol), "updates": updates}

    def _frame(self, channel: str, ts_ns: int, events: list[dict[str, Any]]) -> bytes:
        seq = self._next_seq
        self._next_seq += 1
        return self._encoder.encode(
            {"channel": channel, "client_id": "", "timestamp": format_rfc3339_ns(ts_ns),
             "sequence_num": seq, "events": events}
        )  # fmt: skip


def _level(side: str, level: tuple[float, float], time: str) -> dict[str, str]:
    price, size = level
    return {
        "side": side,
        "event_time": time,
        "price_level": decimal_text(price),
        "new_quantity": decimal_text(size),
    }
