"""Binance's trade REST endpoints on the fake venue: recent trades and old trade lookup.

- ``GET <prefix>/trades?symbol[&limit]``: the newest ``limit`` trades
  (default 500, at most 1000).
- ``GET <prefix>/historicalTrades?symbol[&fromId][&limit]``: ``limit`` trades
  from id ``fromId`` on (inclusive), or the newest without ``fromId``; spot
  defaults to 500 and allows 1000, USD-M 100 and 500 (``history_trades_limit``).
  USD-M's lookup is ``MARKET_DATA``: without an ``X-MBX-APIKEY`` header it is
  refused with HTTP 401 and code -2014, as Binance does.

Both serve every trade the venue has matched so far in the replay, also those
it never streamed (a stall or a dropped socket does not stop the market).
``retention`` bounds how many of the newest trades the lookup still reaches
(``None``: all, ``0``: none, a venue without history); ``/trades`` always
serves the newest. Spot rows carry ``isBestMatch``, USD-M rows do not.
"""

from __future__ import annotations

import bisect
from typing import Final

import msgspec
from aiohttp import web

from tradefabric.model.data import Trade
from tradefabric.model.enums import InstrumentKind
from tradefabric.venues.binance.live import API_KEY_HEADER, raw_symbol
from tradefabric.venues.binance.markets import BinanceMarket

RECENT_DEFAULT: Final = 500
RECENT_MAX: Final = 1000
_DEFAULT_HISTORY_LIMIT: Final[dict[InstrumentKind, int]] = {
    InstrumentKind.SPOT: 500,
    InstrumentKind.PERPETUAL: 100,
}


class RestTrade(msgspec.Struct, frozen=True, omit_defaults=True):
    """One trade as ``/trades`` and ``/historicalTrades`` list it.

    ``{"id": 3735683259, "price": "61837.63", "qty": "0.02", "quoteQty": "1236.7526",
    "time": 1723161255342, "isBuyerMaker": true, "isBestMatch": true}``
    """

    id: int
    price: str
    qty: str
    quoteQty: str  # noqa: N815  (Binance's field names)
    time: int
    isBuyerMaker: bool  # noqa: N815
    isBestMatch: bool | None = None  # noqa: N815


class _SymbolTrades:
    __slots__ = ("ids", "rows")

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.rows: list[RestTrade] = []


class _RejectedError(Exception):
    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class BinanceTrades:
    """Every trade of the replay so far, served as Binance's trade endpoints."""

    def __init__(self, market: BinanceMarket, retention: int | None = None) -> None:
        """Serve ``market``'s trades; ``retention``: newest trades the lookup reaches."""
        self._market = market
        self._best_match = True if market.kind is InstrumentKind.SPOT else None
        self._by_symbol: dict[str, _SymbolTrades] = {}
        self.retention = retention
        self.lookups = 0

    def add(self, trade: Trade) -> None:
        """Record a trade the venue matched (in id order, as the replay yields them)."""
        raw = raw_symbol(trade.symbol)
        found = self._by_symbol.get(raw)
        if found is None:
            found = self._by_symbol[raw] = _SymbolTrades()
        trade_id = int(trade.trade_id)
        if found.ids and trade_id <= found.ids[-1]:
            return
        found.ids.append(trade_id)
        found.rows.append(
            RestTrade(
                trade_id, repr(trade.price), repr(trade.size),
                f"{trade.price * trade.size:.8f}", trade.ts_event // 1_000_000,
                trade.side == "sell", self._best_match,
            )
        )  # fmt: skip

    def rest_routes(self, prefix: str) -> list[web.RouteDef]:
        """Return ``/trades`` and ``/historicalTrades`` under ``prefix``."""
        return [
            web.get(f"{prefix}/trades", self._on_recent),
            web.get(f"{prefix}/historicalTrades", self._on_history),
        ]

    async def _on_recent(self, request: web.Request) -> web.Response:
        try:
            found = self._symbol(request)
            limit = _limit(request, RECENT_DEFAULT, RECENT_MAX)
        except _RejectedError as exc:
            return _error(exc)
        return _json(found.rows[-limit:])

    async def _on_history(self, request: web.Request) -> web.Response:
        market = self._market
        try:
            if market.history_needs_api_key and not request.headers.get(API_KEY_HEADER):
                raise _RejectedError(401, -2014, "API-key format invalid.")
            found = self._symbol(request)
            default = _DEFAULT_HISTORY_LIMIT.get(market.kind, 500)
            limit = _limit(request, default, market.history_trades_limit)
            from_id = _from_id(request)
        except _RejectedError as exc:
            return _error(exc)
        self.lookups += 1
        count = len(found.rows)
        oldest = 0 if self.retention is None else max(0, count - self.retention)
        if from_id is None:
            return _json(found.rows[max(oldest, count - limit) :])
        lo = max(oldest, bisect.bisect_left(found.ids, from_id))
        return _json(found.rows[lo : lo + limit])

    def _symbol(self, request: web.Request) -> _SymbolTrades:
        raw = request.query.get("symbol", "")
        if not raw:
            raise _RejectedError(
                400,
                -1102,
                "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.",
            )
        found = self._by_symbol.get(raw)
        if found is None:
            raise _RejectedError(400, -1121, "Invalid symbol.")
        return found


def _int(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 20:
        raise _RejectedError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        )
    return int(text)


def _from_id(request: web.Request) -> int | None:
    return _int(request, "fromId")


def _limit(request: web.Request, default: int, maximum: int) -> int:
    limit = _int(request, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise _RejectedError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def _error(exc: _RejectedError) -> web.Response:
    body = msgspec.json.encode({"code": exc.code, "msg": exc.msg})
    return web.Response(body=body, status=exc.status, content_type="application/json")


def _json(rows: list[RestTrade]) -> web.Response:
    return web.Response(body=msgspec.json.encode(rows), content_type="application/json")
