"""Binance spot and USD-M instruments from ``exchangeInfo``, as field paths.

Spot, ``GET /api/v3/exchangeInfo`` (one entry of ``symbols``, abridged)::

    {"timezone": "UTC", "serverTime": 1723161240012, "rateLimits": [...],
     "symbols": [{"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
       "quoteAsset": "USDT", "filters": [
         {"filterType": "PRICE_FILTER", "minPrice": "0.01000000",
          "maxPrice": "1000000.00000000", "tickSize": "0.01000000"},
         {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000",
          "stepSize": "0.00001000"},
         {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": true,
          "maxNotional": "9000000.00000000", "applyMaxToMarket": false, "avgPriceMins": 5}]}]}

Older listings carry ``MIN_NOTIONAL`` (``minNotional``) instead of ``NOTIONAL``.

USD-M, ``GET /fapi/v1/exchangeInfo``: the same shape, plus ``contractType`` and
``marginAsset``; its ``MIN_NOTIONAL`` filter names the value ``notional``::

    {"symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL", "status": "TRADING",
     "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT", "filters": [
       {"filterType": "PRICE_FILTER", "minPrice": "556.80", "maxPrice": "4529764",
        "tickSize": "0.10"},
       {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
       {"filterType": "MIN_NOTIONAL", "notional": "100"}]}

A USD-M contract is one unit of the base asset (``contract_size`` 1); only
perpetuals are listed (dated futures have other unified symbols).
"""

from __future__ import annotations

from tradefabric.model.instrument import Instrument
from tradefabric.venues.binance.markets import BINANCE_SPOT, BINANCE_USDM, BinanceMarket
from tradefabric.venues.exchange_info import InstrumentSource, parse_instruments

_PRICE = ("filters[filterType=PRICE_FILTER].tickSize",)
_LOT = ("filters[filterType=LOT_SIZE].stepSize",)
_MIN_QTY = ("filters[filterType=LOT_SIZE].minQty",)

SOURCES: dict[str, InstrumentSource] = {
    BINANCE_SPOT.venue: InstrumentSource(
        venue=BINANCE_SPOT.venue, kind=BINANCE_SPOT.kind, rest_url=BINANCE_SPOT.rest_url,
        path="/api/v3/exchangeInfo", weight=20, list_path="symbols", raw_symbol="symbol",
        base="baseAsset", quote="quoteAsset", price_increment=_PRICE, size_increment=_LOT,
        min_size=_MIN_QTY,
        min_notional=(
            "filters[filterType=NOTIONAL].minNotional",
            "filters[filterType=MIN_NOTIONAL].minNotional",
        ),
    ),
    BINANCE_USDM.venue: InstrumentSource(
        venue=BINANCE_USDM.venue, kind=BINANCE_USDM.kind, rest_url=BINANCE_USDM.rest_url,
        path="/fapi/v1/exchangeInfo", weight=1, list_path="symbols", raw_symbol="symbol",
        base="baseAsset", quote="quoteAsset", settle="marginAsset", price_increment=_PRICE,
        size_increment=_LOT, min_size=_MIN_QTY,
        min_notional=("filters[filterType=MIN_NOTIONAL].notional",),
        require={"contractType": "PERPETUAL"},
    ),
}  # fmt: skip


def instrument_source(market: BinanceMarket) -> InstrumentSource:
    """Return where ``market`` lists its instruments."""
    return SOURCES[market.venue]


def parse_exchange_info(raw: bytes, market: BinanceMarket) -> list[Instrument]:
    """Return the instruments of an ``exchangeInfo`` reply of ``market``."""
    return parse_instruments(instrument_source(market), raw)
