"""Which fake-venue script serves which venue: the test doubles' own table.

Kept apart from the venue registry (``venues.registry``) so that production code,
which builds parsers and live endpoints from the registry, never imports a fake
venue. Only the test-double tools (``tradefabric venue serve``, the demo, tests)
read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tradefabric.core.errors import ConfigError
from tradefabric.venues.binance import markets as binance_markets
from tradefabric.venues.bybit import markets as bybit_markets
from tradefabric.venues.coinbase import markets as coinbase_markets
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.bybit import BybitScript
from tradefabric.venues.fakevenue.coinbase import CoinbaseScript
from tradefabric.venues.fakevenue.kraken import KrakenScript
from tradefabric.venues.fakevenue.server import VenueScript
from tradefabric.venues.kraken import markets as kraken_markets

ScriptFactory = Callable[[Path], VenueScript]


def _factories() -> dict[str, ScriptFactory]:
    factories: dict[str, ScriptFactory] = {}
    for name in binance_markets.MARKETS:
        b = binance_markets.market(name)
        factories[name] = lambda path, m=b: BinanceScript(path, m)  # type: ignore[misc]
    for name in bybit_markets.MARKETS:
        y = bybit_markets.market(name)
        factories[name] = lambda path, m=y: BybitScript(path, m)  # type: ignore[misc]
    for name in coinbase_markets.MARKETS:
        c = coinbase_markets.market(name)
        factories[name] = lambda path, m=c: CoinbaseScript(path, m)  # type: ignore[misc]
    for name in kraken_markets.MARKETS:
        k = kraken_markets.market(name)
        factories[name] = lambda path, m=k: KrakenScript(path, m)  # type: ignore[misc]
    return factories


SCRIPTS: dict[str, ScriptFactory] = _factories()


def script_for(venue: str, recording: Path) -> VenueScript:
    """Return the fake-venue script serving ``recording`` as ``venue`` speaks."""
    factory = SCRIPTS.get(venue)
    if factory is None:
        raise ConfigError(f"no fake venue for {venue!r}; expected one of {sorted(SCRIPTS)}")
    return factory(recording)
