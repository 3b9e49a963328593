"""Instruments from the venues' own exchange info, cached in the catalog, with config overrides.

``InstrumentLoader`` fetches a venue's listing over REST (``VenueRestClient``
with the venue's rate limiter; paged where the venue pages), parses it with the
venue's ``InstrumentSource`` (``VenueProfile.instruments``) and keeps it in the
catalog (``store.instrument_cache``); a listing younger than the TTL and fetched
from the same URL is read from there instead of the venue.

``resolve_instruments`` turns the instruments a node trades into ``Instrument``
objects: the venue's values, with every field a config override sets (the
``instruments:`` entries of a trading config) winning over them. A venue or
symbol that does not exist is a ``ConfigError`` naming it.
"""

from __future__ import annotations

import asyncio
import difflib
import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Protocol

import aiohttp
import msgspec
import structlog

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import ConfigError, MalformedMessageError, RetryableError
from tradefabric.core.time import NS_PER_SECOND
from tradefabric.data.feed.rest import VenueRestClient, WeightLimiter
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument, InstrumentSnapshot
from tradefabric.venues.exchange_info import InstrumentSource, parse_page
from tradefabric.venues.registry import venue_profile

log = structlog.get_logger(__name__)

DEFAULT_TTL_S = 6 * 3600.0
"""How long a cached listing is used before the venue is asked again."""
MAX_PAGES = 100
"""A venue that pages on past this is looping: a ``MalformedMessageError``."""


class ListingCache(Protocol):
    """Where listings are kept between runs (``store.instrument_cache.InstrumentCache``)."""

    def latest(self, venue: str) -> InstrumentSnapshot | None:
        """Return the newest listing of ``venue``, or None."""
        ...

    def add(self, snapshot: InstrumentSnapshot) -> str:
        """Keep ``snapshot``; return where it went."""
        ...


class InstrumentOverride(Protocol):
    """What a config may set for one instrument (``node.kernel.InstrumentConfig`` is one)."""

    @property
    def venue(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def price_increment(self) -> str | None: ...
    @property
    def size_increment(self) -> str | None: ...
    @property
    def min_size(self) -> str | None: ...
    @property
    def min_notional(self) -> str | None: ...
    @property
    def contract_size(self) -> str | None: ...


_OVERRIDABLE = ("price_increment", "size_increment", "min_size", "min_notional", "contract_size")
_POSITIVE = frozenset({"price_increment", "size_increment", "contract_size"})


def instrument_source(venue: str) -> InstrumentSource:
    """Return where ``venue`` lists its instruments; an unknown venue is a ``ConfigError``."""
    source = venue_profile(venue).instruments
    if source is None:
        raise ConfigError(f"venue {venue!r} has no exchange info source")
    return source


class InstrumentLoader:
    """Fetch venues' instrument listings over REST, through a catalog cache when given one."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        cache: ListingCache | None = None,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        rest_urls: Mapping[str, str] | None = None,
        limiters: Mapping[str, WeightLimiter] | None = None,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        """Load through ``session``; ``rest_urls``/``limiters`` replace a venue's (by name).

        Pass the live venues' own limiters so exchange info requests share the
        weight budget with the feeds; a venue without one gets a limiter of its own.
        """
        self._session = session
        self._cache = cache
        self._ttl_ns = int(ttl_s * NS_PER_SECOND)
        self._rest_urls = dict(rest_urls or {})
        self._limiters = dict(limiters or {})
        self._now_ns = now_ns
        self._loaded: dict[str, InstrumentSnapshot] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.requests: dict[str, int] = {}
        """REST requests sent per venue (0 when the cache answered)."""

    def rest_url(self, venue: str) -> str:
        """Return the base URL ``venue``'s exchange info is fetched from."""
        return self._rest_urls.get(venue) or instrument_source(venue).rest_url

    async def load(self, venue: str) -> InstrumentSnapshot:
        """Return ``venue``'s listing: from memory or the catalog if fresh, else fetched."""
        lock = self._locks.setdefault(venue, asyncio.Lock())
        async with lock:
            snapshot = self._fresh(self._loaded.get(venue), venue)
            if snapshot is None and self._cache is not None:
                snapshot = self._fresh(self._cache.latest(venue), venue)
            if snapshot is None:
                snapshot = await self._fetch_or_stale(venue)
            self._loaded[venue] = snapshot
            return snapshot

    async def _fetch_or_stale(self, venue: str) -> InstrumentSnapshot:
        """Fetch the listing; when the venue stays unreachable, take the catalog's last one.

        A node restarting during a venue's REST outage should come up on the listing it
        traded with (tick and lot change rarely) rather than not at all; a stale one is
        logged as such, and without any the start fails as before.
        """
        try:
            snapshot = await self._fetch(venue)
        except RetryableError as exc:
            stale = self._cache.latest(venue) if self._cache is not None else None
            if stale is None or stale.url != self.rest_url(venue):
                raise
            age_s = (self._now_ns() - stale.fetched_at_ns) / NS_PER_SECOND
            log.warning("instruments_stale", venue=venue, age_s=round(age_s), error=str(exc))
            return stale
        if self._cache is not None:
            self._cache.add(snapshot)
        return snapshot

    def _fresh(self, snapshot: InstrumentSnapshot | None, venue: str) -> InstrumentSnapshot | None:
        if snapshot is None or snapshot.url != self.rest_url(venue):
            return None
        return snapshot if self._now_ns() - snapshot.fetched_at_ns < self._ttl_ns else None

    async def _fetch(self, venue: str) -> InstrumentSnapshot:
        source = instrument_source(venue)
        url = self.rest_url(venue)
        client = VenueRestClient(url, self._limiter(venue, url), self._session)
        fetched_at = self._now_ns()
        instruments: dict[str, Instrument] = {}
        params = dict(source.params)
        for _ in range(MAX_PAGES):
            page, cursor = parse_page(source, await client.get(source.path, params, source.weight))
            for instrument in page:
                instruments.setdefault(instrument.symbol, instrument)
            if not cursor:
                break
            params[source.cursor_param] = cursor
        else:
            raise MalformedMessageError(f"{venue} {source.path}: more than {MAX_PAGES} pages")
        self.requests[venue] = self.requests.get(venue, 0) + client.requests
        log.info("instruments_fetched", venue=venue, url=url, instruments=len(instruments))
        return InstrumentSnapshot(
            venue=venue, fetched_at_ns=fetched_at, url=url, instruments=tuple(instruments.values())
        )

    def _limiter(self, venue: str, url: str) -> WeightLimiter:
        limiter = self._limiters.get(venue)
        if limiter is None:
            # The venue's own limits, as its live endpoints build them.
            entry = venue_profile(venue)
            live = entry.make_live(entry.make_parser(MessageBus()), LiveClock(), None, url)
            limiter = self._limiters[venue] = live.limiter
        return limiter


async def resolve_instruments(
    wanted: Iterable[InstrumentId],
    overrides: Iterable[InstrumentOverride] = (),
    loader: InstrumentLoader | None = None,
) -> dict[InstrumentId, Instrument]:
    """Return the instrument of every id in ``wanted`` and of every override.

    Values come from the venue's exchange info (``loader``); each field an
    override sets wins. Without a loader (offline, e.g. a backtest) every
    instrument must be overridden with at least its tick and lot (its
    ``raw_symbol`` is then unknown: empty). An unknown venue, or a symbol the venue
    does not list, is a ``ConfigError`` naming it (and the closest listed symbols).
    """
    by_id = {}
    for override in overrides:
        instrument_id = InstrumentId(override.venue, override.symbol)
        by_id[instrument_id] = _checked(instrument_id, override)
    ids = sorted(set(wanted) | set(by_id))
    for venue in {i.venue for i in ids}:
        instrument_source(venue)  # an unknown venue fails before any request
    listings: dict[str, dict[str, Instrument]] = {}
    if loader is not None:
        venues = sorted({i.venue for i in ids})
        snapshots = await asyncio.gather(*(loader.load(v) for v in venues))
        listings = {s.venue: {i.symbol: i for i in s.instruments} for s in snapshots}
    return {i: _resolve(i, listings.get(i.venue), by_id.get(i)) for i in ids}


def _resolve(
    instrument_id: InstrumentId,
    listing: dict[str, Instrument] | None,
    override: InstrumentOverride | None,
) -> Instrument:
    listed = listing.get(instrument_id.symbol) if listing is not None else None
    if listed is None and listing is not None:
        close = difflib.get_close_matches(instrument_id.symbol, list(listing), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"instrument {instrument_id}: {instrument_id.venue} does not list symbol "
            f"{instrument_id.symbol!r} in its exchange info{hint}"
        )
    if listed is None:
        return _from_override(instrument_id, override)
    if override is None:
        return listed
    changes = {name: getattr(override, name) for name in _OVERRIDABLE}
    return msgspec.structs.replace(listed, **{k: v for k, v in changes.items() if v is not None})


def _checked(instrument_id: InstrumentId, override: InstrumentOverride) -> InstrumentOverride:
    for name in _OVERRIDABLE:
        value = getattr(override, name)
        if value is None:
            continue
        try:
            number = Decimal(value)
        except (InvalidOperation, TypeError) as exc:
            raise ConfigError(
                f"instruments: {instrument_id} {name}: {value!r} is not a decimal"
            ) from exc
        minimum_ok = number > 0 if name in _POSITIVE else number >= 0
        if not number.is_finite() or not minimum_ok:
            raise ConfigError(f"instruments: {instrument_id} {name}: {value!r} is out of range")
    return override


def _from_override(instrument_id: InstrumentId, override: InstrumentOverride | None) -> Instrument:
    price = override.price_increment if override is not None else None
    size = override.size_increment if override is not None else None
    if override is None or price is None or size is None:
        raise ConfigError(
            f"instrument {instrument_id}: no exchange info loaded and no override with "
            "price_increment and size_increment"
        )
    pair = instrument_id.symbol.split(":", 1)[0]
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote:
        raise ConfigError(f"instrument {instrument_id}: expected a unified symbol like BTC/USDT")
    source = instrument_source(instrument_id.venue)
    return Instrument(
        venue=instrument_id.venue, symbol=instrument_id.symbol, raw_symbol="",
        base=base, quote=quote, kind=source.kind, price_increment=price, size_increment=size,
        min_size=override.min_size or "0", min_notional=override.min_notional or "0",
        contract_size=override.contract_size or "1",
    )  # fmt: skip
