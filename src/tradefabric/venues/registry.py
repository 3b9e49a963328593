"""Every venue tradefabric speaks, and how to build its parts: one table, no branches.

Each venue package contributes its entries through ``<package>/entry.py``
(``venue_entries() -> list[VenueProfile]``); the packages are listed here.
"""

from __future__ import annotations

import importlib

from tradefabric.core.errors import ConfigError
from tradefabric.data.book_sync import SequenceRule
from tradefabric.venues.profile import VenueProfile

VENUE_PACKAGES = ("binance", "coinbase", "bybit", "kraken")


def _load() -> tuple[dict[str, VenueProfile], dict[str, str]]:
    entries: dict[str, VenueProfile] = {}
    unavailable: dict[str, str] = {}
    for package in VENUE_PACKAGES:
        name = f"tradefabric.venues.{package}"
        try:
            module = importlib.import_module(f"{name}.entry")
        except ModuleNotFoundError as exc:
            if exc.name not in (name, f"{name}.entry"):
                raise
            # Kept out of VENUES so the other venues still work, but recorded: the
            # conformance suite fails on every entry here instead of losing the venue.
            unavailable[package] = str(exc)
            continue
        entries.update((e.name, e) for e in module.venue_entries())
    return entries, unavailable


VENUES: dict[str, VenueProfile]
UNAVAILABLE: dict[str, str]
"""Venue packages of ``VENUE_PACKAGES`` that failed to import, with the error."""
VENUES, UNAVAILABLE = _load()


def venue_profile(name: str) -> VenueProfile:
    """Return the entry of venue ``name``; an unknown name is a ``ConfigError``."""
    entry = VENUES.get(name)
    if entry is None:
        broken = "".join(f"; package {p!r} failed to import: {e}" for p, e in UNAVAILABLE.items())
        raise ConfigError(f"unknown venue {name!r}; expected one of {sorted(VENUES)}{broken}")
    return entry


def sequence_rules() -> dict[str, SequenceRule]:
    """Return every venue's book sequence rule, keyed by venue name."""
    return {name: entry.sequence_rule for name, entry in VENUES.items()}
