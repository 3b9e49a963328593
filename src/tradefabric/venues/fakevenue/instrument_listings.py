"""What each fake venue lists in its exchange info, and the replies in each venue's own shape.

The fake venues replay real Binance recordings (BTCUSDT, ETHUSDT spot and USD-M),
so each lists those pairs with the tick, lot and minimums the real venue gives
them (as of 2024), chosen so the streamed prices and sizes are on the grid:
Binance spot BTCUSDT ``0.01`` / ``0.00001``, USD-M ``0.10`` / ``0.001`` and so
on. A pair the recording streams that the table does not hold is listed with
``FALLBACK`` (8 decimals, which prints any Binance number exactly).

Numbers are strings, as the venues send them; field names are the venues' own
(see each parser's docstring in ``venues/<venue>/instruments.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, Final

import msgspec
from aiohttp import web

from tradefabric.venues.bybit.instruments import instrument_source as bybit_source
from tradefabric.venues.bybit.markets import BybitMarket
from tradefabric.venues.coinbase.instruments import instrument_source as coinbase_source
from tradefabric.venues.coinbase.markets import CoinbaseMarket, product_id
from tradefabric.venues.kraken.markets import PairPrecision
from tradefabric.venues.kraken.symbols import symbol_to_rest_pair

_MS: Final = 1_000_000


class Listing(msgspec.Struct, frozen=True):
    """One pair's filters on one venue."""

    tick: str
    lot: str
    min_qty: str
    min_notional: str


FALLBACK: Final = Listing("0.00000001", "0.00000001", "0.00000001", "0")

LISTINGS: Final[dict[str, dict[str, Listing]]] = {
    "binance": {
        "BTC/USDT": Listing("0.01000000", "0.00001000", "0.00001000", "5.00000000"),
        "ETH/USDT": Listing("0.01000000", "0.00010000", "0.00010000", "5.00000000"),
    },
    "binance-usdm": {
        "BTC/USDT": Listing("0.10", "0.001", "0.001", "100"),
        "ETH/USDT": Listing("0.01", "0.001", "0.001", "20"),
    },
    "bybit": {
        "BTC/USDT": Listing("0.01", "0.000001", "0.000048", "1"),
        "ETH/USDT": Listing("0.01", "0.00001", "0.00062", "1"),
    },
    "bybit-linear": {
        "BTC/USDT": Listing("0.10", "0.001", "0.001", "5"),
        "ETH/USDT": Listing("0.01", "0.01", "0.01", "5"),
    },
    "coinbase": {
        "BTC/USDT": Listing("0.01", "0.00000001", "0.00000001", "1"),
        "ETH/USDT": Listing("0.01", "0.00000001", "0.00000001", "1"),
    },
    "kraken": {
        "BTC/USDT": Listing("0.01", "0.00000001", "0.00005", "0.5"),
        "ETH/USDT": Listing("0.01", "0.00000001", "0.002", "0.5"),
    },
}
"""Venue -> pair (``BASE/QUOTE``, without a settle suffix) -> filters."""

BINANCE_NOTIONAL_FILTER: Final[dict[str, tuple[str, str]]] = {
    "binance": ("NOTIONAL", "minNotional"),
    "binance-usdm": ("MIN_NOTIONAL", "notional"),
}
"""Binance's minimum order value filter: spot and USD-M name it and its field differently."""

BYBIT_LOT_FIELDS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "spot": (("basePrecision", "lot"), ("quotePrecision", "0.00000001"),
             ("minOrderQty", "min_qty"), ("maxOrderQty", "71.73956243"),
             ("minOrderAmt", "min_notional"), ("maxOrderAmt", "2000000")),
    "linear": (("maxOrderQty", "1190.000"), ("minOrderQty", "min_qty"), ("qtyStep", "lot"),
               ("postOnlyMaxOrderQty", "1190.000"), ("maxMktOrderQty", "119.000"),
               ("minNotionalValue", "min_notional")),
}  # fmt: skip
"""Bybit's ``lotSizeFilter`` per category: field -> ``Listing`` attribute, or a constant."""

KRAKEN_ASSET_CODES: Final[dict[str, str]] = {"BTC": "XXBT", "ETH": "XETH", "USD": "ZUSD"}
"""Common codes -> the legacy codes Kraken's REST ``base``/``quote`` fields still use."""


def listed(venue: str, streamed: Iterable[str] = ()) -> dict[str, Listing]:
    """Return pair -> filters of every pair ``venue`` lists: its table plus what it streams."""
    table = LISTINGS.get(venue, {})
    pairs = set(table) | {symbol.split(":", 1)[0] for symbol in streamed}
    return {pair: table.get(pair, FALLBACK) for pair in sorted(pairs)}


def binance_filters(venue: str, pair: str) -> list[dict[str, object]]:
    """Return the ``filters`` of a pair in Binance's ``exchangeInfo`` on ``venue``."""
    listing = listed(venue, (pair,))[pair]
    notional_type, notional_field = BINANCE_NOTIONAL_FILTER[venue]
    return [
        {"filterType": "PRICE_FILTER", "minPrice": listing.tick, "maxPrice": "1000000.00000000",
         "tickSize": listing.tick},
        {"filterType": "LOT_SIZE", "minQty": listing.min_qty, "maxQty": "9000.00000000",
         "stepSize": listing.lot},
        {"filterType": notional_type, notional_field: listing.min_notional},
    ]  # fmt: skip


BYBIT_PAGED: Final[dict[str, bool]] = {"spot": False, "linear": True}
"""Whether a category pages (``limit``, ``cursor``): spot answers everything at once."""
BYBIT_DEFAULT_LIMIT: Final = 500
_CURSOR_PREFIX: Final = "ns_offset%3D"


def bybit_instruments_route(
    market: BybitMarket, streamed: Callable[[], Iterable[str]], page_max: int = 1000
) -> web.RouteDef:
    """Return ``GET /v5/market/instruments-info`` of ``market`` (``?category`` required).

    Linear pages as Bybit does: ``limit`` (default 500, at most ``page_max``, Bybit's
    being 1000) per page, ``nextPageCursor`` to pass back as ``cursor``.
    """
    settle = {"linear": {"contractType": "LinearPerpetual", "settleCoin": "{quote}"}}.get(
        market.category, {}
    )

    async def handle(request: web.Request) -> web.Response:
        if request.query.get("category") != market.category:
            return _bybit_reply(10001, "params error: Category is invalid", {})
        wanted = request.query.get("symbol", "").upper()
        entries = []
        for pair, listing in listed(market.venue, streamed()).items():
            base, quote = pair.split("/")
            if wanted and wanted != base + quote:
                continue
            extra = {key: value.format(quote=quote) for key, value in settle.items()}
            entries.append(_bybit_entry(market, base, quote, listing) | extra)
        try:
            page, cursor = _bybit_page(market, request, entries, page_max)
        except ValueError:
            return _bybit_reply(10001, "params error: limit or cursor is invalid", {})
        result = {"category": market.category, "list": page, "nextPageCursor": cursor}
        return _bybit_reply(0, "OK", result)

    return web.get(bybit_source(market).path, handle)


def _bybit_page(
    market: BybitMarket, request: web.Request, entries: list[dict[str, Any]], page_max: int
) -> tuple[list[dict[str, Any]], str]:
    if not BYBIT_PAGED[market.category]:
        return entries, ""
    limit = min(int(request.query.get("limit", str(BYBIT_DEFAULT_LIMIT))), page_max)
    cursor = request.query.get("cursor", "")
    if limit < 1 or (cursor and not cursor.startswith(_CURSOR_PREFIX)):
        raise ValueError(cursor)
    start = int(cursor.removeprefix(_CURSOR_PREFIX)) if cursor else 0
    end = start + limit
    return entries[start:end], f"{_CURSOR_PREFIX}{end}" if end < len(entries) else ""


def _bybit_entry(market: BybitMarket, base: str, quote: str, listing: Listing) -> dict[str, Any]:
    values = msgspec.structs.asdict(listing)
    lot = {name: values.get(field, field) for name, field in BYBIT_LOT_FIELDS[market.category]}
    return {
        "symbol": base + quote, "baseCoin": base, "quoteCoin": quote, "status": "Trading",
        "priceFilter": {"minPrice": listing.tick, "maxPrice": "1999999.80",
                        "tickSize": listing.tick},
        "lotSizeFilter": lot,
    }  # fmt: skip


def _bybit_reply(code: int, message: str, result: Any) -> web.Response:
    body = {"retCode": code, "retMsg": message, "result": result, "retExtInfo": {},
            "time": time.time_ns() // _MS}  # fmt: skip
    return web.Response(body=msgspec.json.encode(body), content_type="application/json")


def coinbase_products_route(
    market: CoinbaseMarket, streamed: Callable[[], Iterable[str]]
) -> web.RouteDef:
    """Return ``GET /api/v3/brokerage/market/products`` (``?product_type``, ``?product_ids``)."""

    async def handle(request: web.Request) -> web.Response:
        wanted = set(request.query.getall("product_ids", []))
        kind = request.query.get("product_type", "SPOT")
        products = [
            _coinbase_product(pair, listing)
            for pair, listing in listed(market.venue, streamed()).items()
            if kind == "SPOT" and (not wanted or product_id(pair) in wanted)
        ]
        body = {"products": products, "num_products": len(products)}
        return web.Response(body=msgspec.json.encode(body), content_type="application/json")

    return web.get(coinbase_source(market).path, handle)


def _coinbase_product(pair: str, listing: Listing) -> dict[str, object]:
    base, quote = pair.split("/")
    return {
        "product_id": product_id(pair), "base_increment": listing.lot,
        "quote_increment": listing.tick, "quote_min_size": listing.min_notional,
        "quote_max_size": "10000000", "base_min_size": listing.min_qty,
        "base_max_size": "3400", "base_name": base, "quote_name": quote, "status": "online",
        "trading_disabled": False, "product_type": "SPOT", "quote_currency_id": quote,
        "base_currency_id": base, "price_increment": listing.tick,
        "base_display_symbol": base, "quote_display_symbol": quote,
    }  # fmt: skip


def kraken_asset_pairs(
    venue: str, precisions: dict[str, PairPrecision], wanted: str = ""
) -> dict[str, object]:
    """Return the ``/0/public/AssetPairs`` reply for pairs with these precisions.

    ``wanted`` is the ``pair`` query (comma-separated altnames); an unknown one is
    Kraken's ``EQuery:Unknown asset pair``.
    """
    pairs = listed(venue, precisions)
    result = {}
    for pair, listing in pairs.items():
        altname = symbol_to_rest_pair(pair)
        precision = precisions.get(pair, PairPrecision(_decimals(listing.tick), 8))
        result[altname] = _kraken_pair(pair, altname, precision, listing)
    names = [name for name in wanted.split(",") if name]
    if any(name not in result for name in names):
        return {"error": ["EQuery:Unknown asset pair"]}
    if names:
        result = {name: result[name] for name in names}
    return {"error": [], "result": result}


def _kraken_pair(
    pair: str, altname: str, precision: PairPrecision, listing: Listing
) -> dict[str, object]:
    base, quote = pair.split("/")
    tick = format(Decimal(1).scaleb(-precision.price), "f")
    return {
        "altname": altname, "wsname": pair, "aclass_base": "currency",
        "base": KRAKEN_ASSET_CODES.get(base, base), "aclass_quote": "currency",
        "quote": KRAKEN_ASSET_CODES.get(quote, quote), "lot": "unit", "cost_decimals": 5,
        "pair_decimals": precision.price, "lot_decimals": precision.qty, "lot_multiplier": 1,
        "fee_volume_currency": "ZUSD", "ordermin": listing.min_qty,
        "costmin": listing.min_notional, "tick_size": tick, "status": "online",
    }  # fmt: skip


def _decimals(increment: str) -> int:
    return len(increment.partition(".")[2].rstrip("0"))
