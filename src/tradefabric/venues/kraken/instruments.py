"""Kraken spot instruments from ``/0/public/AssetPairs``, as field paths.

``GET /0/public/AssetPairs`` (one pair, abridged)::

    {"error": [], "result": {"XBTUSDT": {"altname": "XBTUSDT", "wsname": "XBT/USDT",
       "aclass_base": "currency", "base": "XXBT", "aclass_quote": "currency",
       "quote": "USDT", "lot": "unit", "cost_decimals": 5, "pair_decimals": 1,
       "lot_decimals": 8, "lot_multiplier": 1, "fee_volume_currency": "ZUSD",
       "ordermin": "0.00005", "costmin": "0.5", "tick_size": "0.1", "status": "online"}}}

The tick is ``tick_size`` (``10^-pair_decimals`` in replies that predate it),
the lot ``10^-lot_decimals``, the minimums ``ordermin`` (base) and ``costmin``
(quote). Assets use Kraken's legacy codes (``XXBT``, ``ZUSD``), mapped to the
common ones. Dark pool pairs (``XBTUSD.d``, no ``wsname``) are left out. A
non-empty ``error`` list is a rejection.
"""

from __future__ import annotations

from tradefabric.model.instrument import Instrument
from tradefabric.venues.exchange_info import InstrumentSource, parse_instruments
from tradefabric.venues.kraken.markets import KRAKEN_SPOT, KrakenMarket
from tradefabric.venues.kraken.symbols import ASSET_ALIASES, LEGACY_PREFIXED, common_asset

ASSETS: dict[str, str] = {code: common_asset(code) for code in (*LEGACY_PREFIXED, *ASSET_ALIASES)}
"""Kraken's legacy asset codes -> common codes (``XXBT`` and ``XBT`` -> ``BTC``)."""

SOURCES: dict[str, InstrumentSource] = {
    KRAKEN_SPOT.venue: InstrumentSource(
        venue=KRAKEN_SPOT.venue, kind=KRAKEN_SPOT.kind, rest_url=KRAKEN_SPOT.rest_url,
        path=KRAKEN_SPOT.asset_pairs_path, list_path="result", raw_symbol="altname",
        base="base", quote="quote", price_increment=("tick_size", "10^-pair_decimals"),
        size_increment=("10^-lot_decimals",), min_size=("ordermin",),
        min_notional=("costmin",), assets=ASSETS, error_path="error",
        require_present=("wsname",),
    ),
}  # fmt: skip


def instrument_source(market: KrakenMarket) -> InstrumentSource:
    """Return where ``market`` lists its pairs."""
    return SOURCES[market.venue]


def parse_asset_pairs(raw: bytes, market: KrakenMarket) -> list[Instrument]:
    """Return the instruments of an ``AssetPairs`` reply."""
    return parse_instruments(instrument_source(market), raw)
