"""Every venue tradefabric speaks, and how to build its parts: one table, no branches.

Each venue package contributes its entries through ``<venue>/entry.py``.
"""

from __future__ import annotations

from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import SequenceRule
from tradefabric.venues.binance import entry as binance
from tradefabric.venues.entry import VenueEntry

VENUES: dict[str, VenueEntry] = {e.name: e for e in binance.venue_entries()}


def venue_entry(name: str) -> VenueEntry:
    """Return the entry of venue ``name``; an unknown name is a ``ConfigError``."""
    entry = VENUES.get(name)
    if entry is None:
        raise ConfigError(f"unknown venue {name!r}; expected one of {sorted(VENUES)}")
    return entry


def sequence_rules() -> dict[str, SequenceRule]:
    """Return every venue's book sequence rule, keyed by venue name."""
    return {name: entry.sequence_rule for name, entry in VENUES.items()}
