"""Every venue tradefabric speaks, and how to build its parts: one table, no branches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import SequenceRule
from tradefabric.data.feed.venue import FrameParser, LiveVenue
from tradefabric.venues.binance import markets as binance_markets
from tradefabric.venues.binance.live import DEFAULT_CHANNELS as BINANCE_CHANNELS
from tradefabric.venues.binance.live import BinanceLive
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.server import VenueScript

ParserFactory = Callable[[MessageBus], FrameParser]
LiveFactory = Callable[[FrameParser, Clock, str | None, str | None], LiveVenue]
ScriptFactory = Callable[[Path], VenueScript]


@dataclass(frozen=True)
class VenueEntry:
    """How to build one venue's parser, live endpoints and fake-venue script."""

    name: str
    sequence_rule: SequenceRule
    make_parser: ParserFactory
    make_live: LiveFactory
    make_script: ScriptFactory
    default_channels: tuple[str, ...]


def _binance(venue: str) -> VenueEntry:
    market = binance_markets.market(venue)

    def make_live(
        parser: FrameParser, clock: Clock, ws_url: str | None, rest_url: str | None
    ) -> LiveVenue:
        if not isinstance(parser, BinanceStreamParser):
            raise ConfigError(f"{venue}: live endpoints need a BinanceStreamParser")
        return BinanceLive(market, parser, clock, ws_url, rest_url)

    return VenueEntry(
        name=venue,
        sequence_rule=binance_markets.sequence_rule(market),
        make_parser=lambda bus: BinanceStreamParser(bus, market),
        make_live=make_live,
        make_script=lambda path: BinanceScript(path, market),
        default_channels=BINANCE_CHANNELS,
    )


VENUES: dict[str, VenueEntry] = {v: _binance(v) for v in binance_markets.MARKETS}


def venue_entry(name: str) -> VenueEntry:
    """Return the entry of venue ``name``; an unknown name is a ``ConfigError``."""
    entry = VENUES.get(name)
    if entry is None:
        raise ConfigError(f"unknown venue {name!r}; expected one of {sorted(VENUES)}")
    return entry


def sequence_rules() -> dict[str, SequenceRule]:
    """Return every venue's book sequence rule, keyed by venue name."""
    return {name: entry.sequence_rule for name, entry in VENUES.items()}
