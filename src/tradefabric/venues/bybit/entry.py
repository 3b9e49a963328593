"""Bybit spot and linear as registry entries."""

from __future__ import annotations

from tradefabric.venues.bybit import markets
from tradefabric.venues.bybit.instruments import instrument_source
from tradefabric.venues.bybit.live import BybitFeedParser, BybitLive
from tradefabric.venues.entry import VenueEntry, live_factory

DEFAULT_CHANNELS: dict[str, tuple[str, ...]] = {
    "spot": ("trade", "depth"),
    "linear": ("trade", "ticker", "depth"),
}
"""Channels followed when none are named: spot tickers carry no best bid/ask."""


def venue_entries() -> list[VenueEntry]:
    """Return the entries of every Bybit market."""
    return [_entry(venue) for venue in markets.MARKETS]


def _entry(venue: str) -> VenueEntry:
    market = markets.market(venue)

    return VenueEntry(
        name=venue,
        sequence_rule=markets.sequence_rule(market),
        make_parser=lambda bus: BybitFeedParser(bus, market),
        make_live=live_factory(venue, market, BybitFeedParser, BybitLive),
        default_channels=DEFAULT_CHANNELS[market.category],
        instruments=instrument_source(market),
    )
