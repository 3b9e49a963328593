"""Kraken spot REST replies (``/0/public/Trades``, ``OHLC``, ``AssetPairs``) -> domain data.

REST still names pairs the legacy way (``XBTUSDT``, ``XXBTZUSD``); every result is
keyed by the unified symbol. Trade times are decimal seconds with up to 7
fractional digits; they are decoded as ``Decimal`` so ``ts_event`` is exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from tradefabric.core.errors import MalformedMessageError, RateLimitedError, RequestRejectedError
from tradefabric.core.time import NS_PER_MINUTE, NS_PER_SECOND
from tradefabric.model.data import Candle, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.venues.kraken.markets import PairPrecision, interval_name
from tradefabric.venues.kraken.symbols import rest_pair_to_symbol
from tradefabric.venues.kraken.wire import PositiveSize, Price, Size

_SIDES = {"b": AggressorSide.BUY, "s": AggressorSide.SELL}


class RestReply(msgspec.Struct, frozen=True):
    """The envelope of every Kraken REST reply: ``{"error":[],"result":{...}}``."""

    error: tuple[str, ...] = ()
    result: dict[str, msgspec.Raw] = {}


class RestTrade(msgspec.Struct, frozen=True, array_like=True):
    """``["105433.60000","0.00027625",1762795433.9717445,"b","l","",10218208]``."""

    price: Price
    volume: PositiveSize
    time: Decimal
    side: str
    order_type: str
    misc: str
    trade_id: int = -1


class RestOhlc(msgspec.Struct, frozen=True, array_like=True):
    """``[1762777020,"106038.2","106038.2","106038.2","106038.2","0.0","0.00000000",0]``."""

    time: int
    open: Price
    high: Price
    low: Price
    close: Price
    vwap: Size
    volume: Size
    count: Annotated[int, msgspec.Meta(ge=0)]


class RestAssetPair(msgspec.Struct, frozen=True):
    """One ``AssetPairs`` entry (only what the adapter uses)."""

    pair_decimals: int
    lot_decimals: int
    wsname: str = ""
    altname: str = ""


_reply_decoder = msgspec.json.Decoder(RestReply)
_trades_decoder = msgspec.json.Decoder(list[RestTrade], strict=False)
_ohlc_decoder = msgspec.json.Decoder(list[RestOhlc], strict=False)
_pair_decoder = msgspec.json.Decoder(RestAssetPair)


def _result(raw: bytes, what: str) -> dict[str, msgspec.Raw]:
    try:
        reply = _reply_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedMessageError(f"Kraken {what} reply: {exc}") from exc
    if reply.error:
        text = "; ".join(reply.error)
        if "Rate limit" in text or "Too many requests" in text:
            raise RateLimitedError(f"Kraken {what}: {text}")
        raise RequestRejectedError(f"Kraken {what}: {text}")
    return reply.result


def parse_rest_trades(raw: bytes, venue: str, ts_recv: int) -> list[Trade]:
    """Return the trades of a ``/0/public/Trades`` reply, oldest first."""
    return parse_rest_trades_page(raw, venue, ts_recv)[0]


def parse_rest_trades_page(raw: bytes, venue: str, ts_recv: int) -> tuple[list[Trade], str]:
    """Return the trades of a ``/0/public/Trades`` reply and its ``last`` cursor.

    ``{"error":[],"result":{"XBTUSDT":[["61837.6","0.02",1723161255.342000000,"s","m","",
    3735683259]],"last":"1723161255342000000"}}``: ``last`` (ns) is the ``since`` of the
    next page.
    """
    result = _result(raw, "Trades")
    last_raw = result.get("last")
    try:
        last = str(msgspec.json.decode(last_raw)) if last_raw is not None else ""
    except msgspec.DecodeError as exc:
        raise MalformedMessageError(f"Kraken Trades last: {exc}") from exc
    trades: list[Trade] = []
    for pair, rows_raw in result.items():
        if pair == "last":
            continue
        symbol = rest_pair_to_symbol(pair)
        try:
            rows = _trades_decoder.decode(rows_raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"Kraken Trades {pair}: {exc}") from exc
        for row in rows:
            side = _SIDES.get(row.side)
            if side is None:
                raise MalformedMessageError(f"Kraken Trades {pair}: side {row.side!r}")
            ts_event = int(row.time * NS_PER_SECOND)
            trades.append(Trade(venue, symbol, row.price, row.volume, side, str(row.trade_id),
                                ts_event, ts_recv))  # fmt: skip
    return trades, last


def parse_rest_ohlc(raw: bytes, venue: str, interval_minutes: int, ts_recv: int) -> list[Candle]:
    """Return the committed candles of an ``/0/public/OHLC`` reply.

    Kraken's last row is the current, still open interval: it is left out.
    ``buy_volume`` is NaN: Kraken does not split volume by aggressor.
    """
    interval_ns = interval_minutes * NS_PER_MINUTE
    name = interval_name(interval_minutes)
    candles: list[Candle] = []
    for pair, rows_raw in _result(raw, "OHLC").items():
        if pair == "last":
            continue
        symbol = rest_pair_to_symbol(pair)
        try:
            rows = _ohlc_decoder.decode(rows_raw)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"Kraken OHLC {pair}: {exc}") from exc
        for row in rows[:-1]:
            ts_open = row.time * NS_PER_SECOND
            vwap = row.vwap if row.volume > 0 else row.close
            candles.append(Candle(venue, symbol, name, ts_open, row.open, row.high, row.low,
                                  row.close, row.volume, row.count, float("nan"), vwap,
                                  ts_open + interval_ns, ts_recv))  # fmt: skip
    return candles


def asset_pair_precisions(raw: bytes) -> dict[str, PairPrecision]:
    """Return unified symbol -> precisions from an ``/0/public/AssetPairs`` reply.

    Pairs without a ``wsname`` (dark pool ``.d`` pairs) are not on WebSocket: left out.
    """
    precisions: dict[str, PairPrecision] = {}
    for pair, body in _result(raw, "AssetPairs").items():
        try:
            entry = _pair_decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise MalformedMessageError(f"Kraken AssetPairs {pair}: {exc}") from exc
        if not entry.wsname:
            continue
        symbol = rest_pair_to_symbol(entry.wsname)
        precisions[symbol] = PairPrecision(entry.pair_decimals, entry.lot_decimals)
    return precisions
