"""Kraken spot (WebSocket v2) as a registry entry."""

from __future__ import annotations

from tradefabric.core.bus import MessageBus
from tradefabric.data.feed.venue import FrameParser
from tradefabric.venues.entry import VenueEntry, live_factory
from tradefabric.venues.kraken import markets
from tradefabric.venues.kraken.book import KrakenBookRule, KrakenPairs
from tradefabric.venues.kraken.instruments import instrument_source
from tradefabric.venues.kraken.live import (
    BOOK_REFRESH_S,
    DEFAULT_CHANNELS,
    KrakenFeedParser,
    KrakenLive,
)


def venue_entries() -> list[VenueEntry]:
    """Return the entries of every Kraken market."""
    return [_entry(venue) for venue in markets.MARKETS]


def _entry(venue: str) -> VenueEntry:
    market = markets.market(venue)
    # One table for the parser (which learns precisions and depths) and the rule (which checks).
    pairs = KrakenPairs.for_market(market)

    def make_parser(bus: MessageBus) -> FrameParser:
        return KrakenFeedParser(bus, market, pairs)

    return VenueEntry(
        name=venue,
        trade_ids_sequential=True,
        book_refresh_s=BOOK_REFRESH_S,
        sequence_rule=KrakenBookRule(pairs),
        make_parser=make_parser,
        make_live=live_factory(venue, market, KrakenFeedParser, KrakenLive),
        default_channels=DEFAULT_CHANNELS,
        instruments=instrument_source(market),
    )
