"""Binance spot and USD-M as registry entries."""

from __future__ import annotations

from tradefabric.venues.binance import markets
from tradefabric.venues.binance.instruments import instrument_source
from tradefabric.venues.binance.live import DEFAULT_CHANNELS, BinanceLive
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.entry import VenueEntry, live_factory


def venue_entries() -> list[VenueEntry]:
    """Return the entries of every Binance market."""
    return [_entry(venue) for venue in markets.MARKETS]


def _entry(venue: str) -> VenueEntry:
    market = markets.market(venue)

    return VenueEntry(
        name=venue,
        trade_ids_sequential=True,
        sequence_rule=markets.sequence_rule(market),
        make_parser=lambda bus: BinanceStreamParser(bus, market),
        make_live=live_factory(venue, market, BinanceStreamParser, BinanceLive),
        default_channels=DEFAULT_CHANNELS,
        instruments=instrument_source(market),
    )
