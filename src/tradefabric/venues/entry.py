"""What the registry knows about a venue: how to build its parts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.data.book_sync import SequenceRule
from tradefabric.data.feed.venue import FrameParser, LiveVenue
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
