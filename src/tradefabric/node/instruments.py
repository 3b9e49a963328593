"""The instruments a live node trades, from each feed venue's own exchange info.

At the start of a paper or live run the node asks every venue it has a feed for
for its listing (``venues.instruments.InstrumentLoader``: REST through the
venue's rate limiter, cached in the catalog when ``data.catalog`` is set) and
resolves the instruments of its feeds; ``instruments:`` entries of the config
win field by field. Instruments of venues without a feed come from the config
alone. A symbol the venue does not list fails the start, naming it.
"""

from __future__ import annotations

import aiohttp

from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.node.kernel import TradingConfig
from tradefabric.store.instrument_cache import InstrumentCache
from tradefabric.venues.instruments import InstrumentLoader, resolve_instruments


async def fetch_instruments(config: TradingConfig) -> dict[InstrumentId, Instrument]:
    """Resolve every instrument of ``config``'s feeds (venue values, config overrides win)."""
    wanted = [
        InstrumentId(venue, symbol)
        for venue, feed in config.feeds.items()
        for symbol in feed.symbols
    ]
    live = [o for o in config.instruments if o.venue in config.feeds]
    offline = [o for o in config.instruments if o.venue not in config.feeds]
    rest_urls = {venue: feed.rest_url for venue, feed in config.feeds.items() if feed.rest_url}
    catalog = config.data.catalog
    cache = InstrumentCache(catalog) if catalog is not None else None
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        loader = InstrumentLoader(session, cache, rest_urls=rest_urls)
        resolved = await resolve_instruments(wanted, live, loader)
    resolved.update(await resolve_instruments((), offline, None))
    return resolved
