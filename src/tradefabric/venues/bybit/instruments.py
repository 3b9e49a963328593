"""Bybit v5 spot and linear instruments from ``/v5/market/instruments-info``, as field paths.

Spot, ``GET /v5/market/instruments-info?category=spot`` (abridged)::

    {"retCode": 0, "retMsg": "OK", "result": {"category": "spot", "list": [
      {"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT", "innovation": "0",
       "status": "Trading", "marginTrading": "utaOnly",
       "lotSizeFilter": {"basePrecision": "0.000001", "quotePrecision": "0.00000001",
         "minOrderQty": "0.000048", "maxOrderQty": "71.73956243", "minOrderAmt": "1",
         "maxOrderAmt": "2000000"},
       "priceFilter": {"tickSize": "0.01"}}]},
     "retExtInfo": {}, "time": 1723161240012}

Linear (``category=linear``): the lot step is ``qtyStep`` and the minimum order
value ``minNotionalValue``; pages are chained by ``nextPageCursor``::

    {"symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading",
     "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT",
     "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"},
     "lotSizeFilter": {"maxOrderQty": "1190.000", "minOrderQty": "0.001", "qtyStep": "0.001",
       "postOnlyMaxOrderQty": "1190.000", "maxMktOrderQty": "119.000",
       "minNotionalValue": "5"}}

A linear contract is one unit of the base asset; only perpetuals are listed.
A non-zero ``retCode`` is a rejection.
"""

from __future__ import annotations

from tradefabric.model.instrument import Instrument
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, BYBIT_SPOT, BybitMarket
from tradefabric.venues.exchange_info import InstrumentSource, parse_instruments


def _source(
    market: BybitMarket, lot: str, min_notional: str, settle: str = "", contract: str = ""
) -> InstrumentSource:
    # Spot answers in one page and takes no limit; linear pages (at most 1000 a page).
    params = {"category": market.category} | ({"limit": "1000"} if contract else {})
    return InstrumentSource(
        venue=market.venue, kind=market.kind, rest_url=market.rest_url,
        path="/v5/market/instruments-info",
        params=params, list_path="result.list",
        raw_symbol="symbol", base="baseCoin", quote="quoteCoin", settle=settle,
        price_increment=("priceFilter.tickSize",), size_increment=(f"lotSizeFilter.{lot}",),
        min_size=("lotSizeFilter.minOrderQty",),
        min_notional=(f"lotSizeFilter.{min_notional}",),
        require={"contractType": contract} if contract else {}, error_path="retCode",
        message_path="retMsg", cursor_param="cursor", cursor_path="result.nextPageCursor",
    )  # fmt: skip


SOURCES: dict[str, InstrumentSource] = {
    BYBIT_SPOT.venue: _source(BYBIT_SPOT, "basePrecision", "minOrderAmt"),
    BYBIT_LINEAR.venue: _source(
        BYBIT_LINEAR, "qtyStep", "minNotionalValue", settle="settleCoin", contract="LinearPerpetual"
    ),
}


def instrument_source(market: BybitMarket) -> InstrumentSource:
    """Return where ``market`` lists its instruments."""
    return SOURCES[market.venue]


def parse_instruments_info(raw: bytes, market: BybitMarket) -> list[Instrument]:
    """Return the instruments of one ``instruments-info`` page of ``market``."""
    return parse_instruments(instrument_source(market), raw)
