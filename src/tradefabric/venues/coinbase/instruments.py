"""Coinbase Advanced Trade products from ``/api/v3/brokerage/market/products``, as field paths.

``GET /api/v3/brokerage/market/products?product_type=SPOT`` (one product, abridged)::

    {"products": [{"product_id": "BTC-USDT", "price": "61051.99", "base_increment": "0.00000001",
       "quote_increment": "0.01", "quote_min_size": "1", "quote_max_size": "10000000",
       "base_min_size": "0.00000001", "base_max_size": "3400", "base_name": "Bitcoin",
       "quote_name": "Tether", "status": "online", "trading_disabled": false,
       "product_type": "SPOT", "quote_currency_id": "USDT", "base_currency_id": "BTC",
       "price_increment": "0.01", "base_display_symbol": "BTC",
       "quote_display_symbol": "USDT"}],
     "num_products": 1}

The price tick is ``price_increment`` (``quote_increment`` where a product has
none), the lot ``base_increment``; the minimum order is ``base_min_size`` in
base and ``quote_min_size`` in quote (the minimum notional). Only spot products.
"""

from __future__ import annotations

from tradefabric.model.instrument import Instrument
from tradefabric.venues.coinbase.markets import COINBASE, CoinbaseMarket
from tradefabric.venues.exchange_info import InstrumentSource, parse_instruments

SOURCES: dict[str, InstrumentSource] = {
    COINBASE.venue: InstrumentSource(
        venue=COINBASE.venue, kind=COINBASE.kind, rest_url=COINBASE.rest_url,
        path="/api/v3/brokerage/market/products", params={"product_type": "SPOT"},
        list_path="products", raw_symbol="product_id", base="base_currency_id",
        quote="quote_currency_id", price_increment=("price_increment", "quote_increment"),
        size_increment=("base_increment",), min_size=("base_min_size",),
        min_notional=("quote_min_size",), require={"product_type": "SPOT"},
    ),
}  # fmt: skip


def instrument_source(market: CoinbaseMarket) -> InstrumentSource:
    """Return where ``market`` lists its products."""
    return SOURCES[market.venue]


def parse_products(raw: bytes, market: CoinbaseMarket) -> list[Instrument]:
    """Return the spot instruments of a ``market/products`` reply."""
    return parse_instruments(instrument_source(market), raw)
