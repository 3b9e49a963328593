"""Binance's history REST endpoints on the fake venue: exchangeInfo, klines, aggTrades.

Enough of Binance's REST API for a downloader (ccxt's ``binance`` class with its
URLs pointed at the fake venue) to load markets and page through candles and
trades, answering as Binance documents it:

- ``GET <prefix>/exchangeInfo``: every symbol that has klines or recorded trades.
- ``GET <prefix>/klines?symbol&interval[&startTime][&endTime][&limit]``: candles
  whose open time is in ``[startTime, endTime]``; the first ``limit`` from
  ``startTime``, else the last ``limit`` (default 500, at most 1000). Served
  from real candle files (``binance_klines``).
- ``GET <prefix>/aggTrades?symbol[&fromId | &startTime&endTime][&limit]``:
  aggregate trades built from the recording's trades, ids from ``fromId``, or
  times in ``[startTime, endTime]`` (a window of at most one hour).

Every answer carries ``X-MBX-USED-WEIGHT-1M``, the request weight used in the
current minute. Past the market's limit the venue answers 429 with
``Retry-After`` and code -1003, as Binance does; the server's injected HTTP
faults apply to these endpoints like to any other. Rejected requests are HTTP
400 with Binance's ``{"code": ..., "msg": ...}``.

Binance aggregates "trades that fill at the same time, from the same taker
order, with the same price". The taker order is not in the public trade
stream, so consecutive trade ids with equal time, price and side make one
aggregate here. Aggregate ids are contiguous and start at the symbol's first
recorded trade id (Binance numbers them on a counter of its own).
"""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Final

import msgspec
from aiohttp import web

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import DataError
from tradefabric.data import topics
from tradefabric.model.data import Trade
from tradefabric.model.enums import InstrumentKind
from tradefabric.venues.binance.live import raw_symbol
from tradefabric.venues.binance.markets import BinanceMarket
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.binance.symbols import split_symbol
from tradefabric.venues.fakevenue.binance_klines import (
    KLINE_INTERVALS_MS,
    KlineBook,
    kline_files,
    load_freqtrade_klines,
)
from tradefabric.venues.fakevenue.instrument_listings import binance_filters, listed
from tradefabric.venues.replay.recording import read_recording

USED_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"

ENDPOINT_WEIGHTS: Final[dict[str, int]] = {"exchangeInfo": 20, "klines": 2, "aggTrades": 4}
"""Request weight of each endpoint, as Binance spot documents it."""

DEFAULT_LIMIT: Final = 500
MAX_LIMIT: Final = 1000
MAX_AGG_WINDOW_MS: Final = 3_600_000
_MS: Final = 1_000_000

# What a USD-M perpetual adds to a symbol's exchangeInfo entry.
_PERPETUAL_FIELDS: Final[dict[str, object]] = {
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404800000,
    "onboardDate": 1569398400000,
    "pricePrecision": 2,
    "quantityPrecision": 3,
}

_RATE_LIMIT_MSG: Final = (
    "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)

Handler = Callable[[web.Request], Awaitable[web.Response]]


class AggTrade(
    msgspec.Struct,
    frozen=True,
    gc=False,
    omit_defaults=True,
    rename={
        "agg_id": "a", "price": "p", "qty": "q", "first_id": "f", "last_id": "l",
        "time_ms": "T", "buyer_is_maker": "m", "best_match": "M",
    },
):  # fmt: skip
    """One aggregate trade as Binance's ``aggTrades`` lists it.

    ``{"a": 3761011, "p": "61051.99000000", "q": "0.00200000", "f": 3761011,
    "l": 3761012, "T": 1723161240012, "m": true, "M": true}``; USD-M has no ``M``.
    """

    agg_id: int
    price: str
    qty: str
    first_id: int
    last_id: int
    time_ms: int
    buyer_is_maker: bool
    best_match: bool | None = None


class _RejectedError(Exception):
    """A request Binance would refuse with HTTP 400 and this code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class WeightMeter:
    """Request weight per IP and minute, counted as Binance counts it (fixed minute windows)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._minute = -1
        self.used = 0

    def charge(self, weight: int, now_s: float | None = None) -> int:
        """Add ``weight`` to the current minute and return the minute's total."""
        minute = int((time.time() if now_s is None else now_s) // 60)
        if minute != self._minute:
            self._minute, self.used = minute, 0
        self.used += weight
        return self.used


def aggregate_trades(
    trades: Sequence[Trade], first_agg_id: int, best_match: bool | None = True
) -> list[AggTrade]:
    """Group ``trades`` (one symbol, sorted by id) into Binance aggregate trades.

    Consecutive ids with the same time, price and side form one aggregate; its
    quantity is their sum, printed to Binance's 8 decimals. ``best_match`` is
    spot's ``M`` field (None leaves it out, as USD-M does).
    """
    result: list[AggTrade] = []
    group: list[Trade] = []
    for trade in trades:
        if group and not _same_fill(group[-1], trade):
            result.append(_aggregate(group, first_agg_id + len(result), best_match))
            group = []
        group.append(trade)
    if group:
        result.append(_aggregate(group, first_agg_id + len(result), best_match))
    return result


def _same_fill(previous: Trade, trade: Trade) -> bool:
    return (
        int(trade.trade_id) == int(previous.trade_id) + 1
        and trade.ts_event // _MS == previous.ts_event // _MS
        and trade.price == previous.price
        and trade.side == previous.side
    )


def _aggregate(group: list[Trade], agg_id: int, best_match: bool | None) -> AggTrade:
    first = group[0]
    return AggTrade(
        agg_id=agg_id,
        price=f"{first.price:.8f}",
        qty=f"{math.fsum(t.size for t in group):.8f}",
        first_id=int(first.trade_id),
        last_id=int(group[-1].trade_id),
        time_ms=first.ts_event // _MS,
        buyer_is_maker=first.side == "sell",
        best_match=best_match,
    )


class _AggTrades:
    """One symbol's aggregate trades with their times, for lookups by id and by time."""

    def __init__(self, trades: list[AggTrade]) -> None:
        self.trades = trades
        self.times = [t.time_ms for t in trades]
        self.first_id = trades[0].agg_id if trades else 0


class BinanceHistory:
    """Serve exchangeInfo, klines and aggTrades for one Binance market.

    Trades come from ``trade_recordings`` (read on first use); klines from the
    candle files given to ``add_klines``.
    """

    def __init__(
        self,
        market: BinanceMarket,
        trade_recordings: Sequence[Path] = (),
        weight_limit: int | None = None,
    ) -> None:
        self._market = market
        self._recordings = tuple(trade_recordings)
        self.klines = KlineBook()
        self.weight = WeightMeter(weight_limit or market.rest_weight_per_minute)
        self._agg: dict[str, _AggTrades] | None = None

    def add_klines(self, path: Path) -> list[str]:
        """Serve the candles of a freqtrade feather file, or of every one in a directory.

        Return the raw symbols added; raise ``DataSourceError`` for an unreadable file.
        """
        added = []
        for file in kline_files(path):
            series = load_freqtrade_klines(file)
            self.klines.add(series)
            added.append(series.raw_symbol)
        return added

    def agg_trades(self, raw: str) -> list[AggTrade]:
        """Return every aggregate trade of ``raw`` (e.g. ``BTCUSDT``) this venue serves."""
        found = self._agg_index().get(raw)
        return found.trades if found is not None else []

    def symbols(self) -> list[str]:
        """Return the raw symbols with klines or trades."""
        return sorted(set(self.klines.symbols) | set(self._agg_index()))

    def rest_routes(self, prefix: str) -> list[web.RouteDef]:
        """Return the history endpoints under ``prefix`` (e.g. ``/api/v3``)."""
        handlers: dict[str, Handler] = {
            "exchangeInfo": self._on_exchange_info,
            "klines": self._on_klines,
            "aggTrades": self._on_agg_trades,
        }
        return [
            web.get(f"{prefix}/{name}", self._weighed(ENDPOINT_WEIGHTS[name], handler))
            for name, handler in handlers.items()
        ]

    # --- request plumbing ---

    def _weighed(self, weight: int, handler: Handler) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            used = self.weight.charge(weight)
            headers = {USED_WEIGHT_HEADER: str(used)}
            if used > self.weight.limit:
                headers["Retry-After"] = str(60 - int(time.time()) % 60)
                body = {"code": -1003, "msg": _RATE_LIMIT_MSG.format(limit=self.weight.limit)}
                return _json(body, status=429, headers=headers)
            try:
                response = await handler(request)
            except _RejectedError as exc:
                return _json({"code": exc.code, "msg": exc.msg}, status=400, headers=headers)
            response.headers.update(headers)
            return response

        return handle

    def _agg_index(self) -> dict[str, _AggTrades]:
        if self._agg is None:
            by_symbol: dict[str, list[Trade]] = {}
            for trade in self._recorded_trades():
                by_symbol.setdefault(raw_symbol(trade.symbol), []).append(trade)
            self._agg = {}
            for raw, trades in by_symbol.items():
                trades.sort(key=lambda t: int(t.trade_id))
                first_id = int(trades[0].trade_id)
                best_match = None if self._market.kind is InstrumentKind.PERPETUAL else True
                self._agg[raw] = _AggTrades(aggregate_trades(trades, first_id, best_match))
        return self._agg

    def _recorded_trades(self) -> Iterator[Trade]:
        bus = MessageBus()
        trades: list[Trade] = []
        bus.subscribe(topics.TRADES, trades.append)
        parser = BinanceStreamParser(bus, self._market)
        for path in self._recordings:
            for line in read_recording(path):
                if line.ts_recv < 0 or b'@trade"' not in line.raw[:64]:
                    continue
                try:
                    parser.on_frame(line.raw, line.ts_recv)
                except DataError:
                    continue  # the venue keeps whatever the recording printed correctly
            yield from trades
            trades.clear()

    def _raw_symbol(self, request: web.Request, known: Sequence[str]) -> str:
        raw = request.query.get("symbol", "")
        if not raw:
            raise _RejectedError(
                -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        if raw not in known:
            raise _RejectedError(-1121, "Invalid symbol.")
        return raw

    # --- endpoints ---

    async def _on_exchange_info(self, request: web.Request) -> web.Response:
        listed_raw = (pair.replace("/", "") for pair in listed(self._market.venue))
        symbols = sorted(set(self.symbols()) | set(listed_raw))
        if "symbol" in request.query:
            symbols = [self._raw_symbol(request, symbols)]
        body = {
            "timezone": "UTC",
            "serverTime": time.time_ns() // _MS,
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.weight.limit},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
                 "limit": 61000},
            ],
            "exchangeFilters": [],
            "symbols": [self._symbol_info(raw) for raw in symbols],
        }  # fmt: skip
        return _json(body)

    def _symbol_info(self, raw: str) -> dict[str, object]:
        base, quote = split_symbol(raw)
        info: dict[str, object] = {
            "symbol": raw, "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
            "quoteAsset": quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT",
                           "TAKE_PROFIT_LIMIT"],
            "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
            "filters": binance_filters(self._market.venue, f"{base}/{quote}"),
            "permissions": ["SPOT"],
        }  # fmt: skip
        if self._market.kind is InstrumentKind.PERPETUAL:
            info |= _PERPETUAL_FIELDS | {"marginAsset": quote, "permissions": []}
        return info

    async def _on_klines(self, request: web.Request) -> web.Response:
        raw = self._raw_symbol(request, self.klines.symbols)
        interval = request.query.get("interval", "")
        interval_ms = KLINE_INTERVALS_MS.get(interval)
        if interval_ms is None:
            raise _RejectedError(-1120, "Invalid interval.")
        start, end = _int_param(request, "startTime"), _int_param(request, "endTime")
        _check_order(start, end)
        limit = _limit(request)
        series = self.klines.series(raw, interval_ms)
        if series is None:
            return _json([])
        lo, hi = series.select(start, end, limit)
        return _json(series.rows(lo, hi))

    async def _on_agg_trades(self, request: web.Request) -> web.Response:
        index = self._agg_index()
        found = index[self._raw_symbol(request, sorted(index))]
        from_id = _int_param(request, "fromId")
        start, end = _int_param(request, "startTime"), _int_param(request, "endTime")
        limit = _limit(request)
        if from_id is not None and (start is not None or end is not None):
            raise _RejectedError(-1128, "Combination of optional parameters invalid.")
        _check_order(start, end)
        if start is not None and end is not None and end - start > MAX_AGG_WINDOW_MS:
            raise _RejectedError(-1127, "More than 1 hours between startTime and endTime.")
        lo, hi = _agg_range(found, from_id, start, end, limit)
        return _json(found.trades[lo:hi])


def _agg_range(
    found: _AggTrades, from_id: int | None, start: int | None, end: int | None, limit: int
) -> tuple[int, int]:
    count = len(found.trades)
    if from_id is not None:
        lo = min(count, max(0, from_id - found.first_id))
        return lo, min(count, lo + limit)
    lo = 0 if start is None else bisect.bisect_left(found.times, start)
    hi = count if end is None else bisect.bisect_right(found.times, end)
    if hi <= lo:
        return lo, lo
    if start is not None:
        return lo, min(hi, lo + limit)
    return max(lo, hi - limit), hi


def _int_param(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 20:
        raise _RejectedError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        )
    return int(text)


def _limit(request: web.Request) -> int:
    limit = _int_param(request, "limit")
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise _RejectedError(-1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def _check_order(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start > end:
        raise _RejectedError(-1023, "Start time is greater than end time.")


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=msgspec.json.encode(body),
        status=status,
        headers=headers,
        content_type="application/json",
    )
