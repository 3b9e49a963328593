"""What the registry knows about a venue: how to build its parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import SequenceRule
from tradefabric.data.feed.venue import FrameParser, LiveVenue
from tradefabric.venues.exchange_info import InstrumentSource

ParserFactory = Callable[[MessageBus], FrameParser]
LiveFactory = Callable[[FrameParser, Clock, str | None, str | None], LiveVenue]


@dataclass(frozen=True)
class VenueEntry:
    """How to build one venue's parser and live endpoints (its fake venue is in
    ``venues.fakevenue.scripts``: production code never imports a test double)."""

    name: str
    sequence_rule: SequenceRule
    make_parser: ParserFactory
    make_live: LiveFactory
    default_channels: tuple[str, ...]
    trade_ids_sequential: bool = False
    """Trade ids count up by one per trade and symbol, so a jump is a missed trade."""
    book_refresh_s: float = 0.0
    """Rebuild books from a fresh snapshot this often (0: never). For venues whose
    sequence or checksum cannot see every lost update (Kraken's checksum covers the
    top 10 levels), this bounds how long an undetected deep-level error can live."""
    instruments: InstrumentSource | None = None
    """Where the venue lists its instruments over REST (``venues.instruments`` loads them)."""


Market = TypeVar("Market")
Parser = TypeVar("Parser")


def live_factory(
    venue: str,
    market: Market,
    parser_type: type[Parser],
    build: Callable[[Market, Parser, Clock, str | None, str | None], LiveVenue],
) -> LiveFactory:
    """Return a ``LiveFactory`` that checks the node's parser is the venue's own, then builds."""

    def make_live(
        parser: FrameParser, clock: Clock, ws_url: str | None, rest_url: str | None
    ) -> LiveVenue:
        if not isinstance(parser, parser_type):
            raise ConfigError(f"{venue}: live endpoints need a {parser_type.__name__}")
        return build(market, parser, clock, ws_url, rest_url)

    return make_live
