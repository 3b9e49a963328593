"""Coinbase Advanced Trade as a registry entry."""

from __future__ import annotations

from tradefabric.core.bus import MessageBus
from tradefabric.data.feed.venue import FrameParser
from tradefabric.venues.coinbase import markets
from tradefabric.venues.coinbase.instruments import instrument_source
from tradefabric.venues.coinbase.live import DEFAULT_CHANNELS, CoinbaseFeedParser, CoinbaseLive
from tradefabric.venues.entry import VenueEntry, live_factory


def venue_entries() -> list[VenueEntry]:
    """Return the entries of every Coinbase market."""
    return [_entry(venue) for venue in markets.MARKETS]


def _entry(venue: str) -> VenueEntry:
    market = markets.market(venue)

    def make_parser(bus: MessageBus) -> FrameParser:
        return CoinbaseFeedParser(bus, market)

    return VenueEntry(
        name=venue,
        trade_ids_sequential=True,
        sequence_rule=markets.sequence_rule(market),
        make_parser=make_parser,
        make_live=live_factory(venue, market, CoinbaseFeedParser, CoinbaseLive),
        default_channels=DEFAULT_CHANNELS,
        instruments=instrument_source(market),
    )
