"""Binance spot and USD-M as registry entries."""

from __future__ import annotations

from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.data.feed.venue import FrameParser, LiveVenue
from tradefabric.venues.binance import markets
from tradefabric.venues.binance.live import DEFAULT_CHANNELS, BinanceLive
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.entry import VenueEntry
from tradefabric.venues.fakevenue.binance import BinanceScript


def venue_entries() -> list[VenueEntry]:
    """Return the entries of every Binance market."""
    return [_entry(venue) for venue in markets.MARKETS]


def _entry(venue: str) -> VenueEntry:
    market = markets.market(venue)

    def make_live(
        parser: FrameParser, clock: Clock, ws_url: str | None, rest_url: str | None
    ) -> LiveVenue:
        if not isinstance(parser, BinanceStreamParser):
            raise ConfigError(f"{venue}: live endpoints need a BinanceStreamParser")
        return BinanceLive(market, parser, clock, ws_url, rest_url)

    return VenueEntry(
        name=venue,
        sequence_rule=markets.sequence_rule(market),
        make_parser=lambda bus: BinanceStreamParser(bus, market),
        make_live=make_live,
        make_script=lambda path: BinanceScript(path, market),
        default_channels=DEFAULT_CHANNELS,
    )
