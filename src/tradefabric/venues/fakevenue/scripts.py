"""Which fake-venue script serves which venue: the test doubles' own table.

Kept apart from the venue registry (``venues.registry``) so that production code,
which builds parsers and live endpoints from the registry, never imports a fake
venue. Only the test-double tools (``tradefabric venue serve``, the demo, tests)
read this table.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.venues.binance import markets as binance_markets
from tradefabric.venues.bybit import markets as bybit_markets
from tradefabric.venues.coinbase import markets as coinbase_markets
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.binance_private import BinancePrivateScript
from tradefabric.venues.fakevenue.binance_private_auth import ApiKey
from tradefabric.venues.fakevenue.bybit import BybitScript
from tradefabric.venues.fakevenue.coinbase import CoinbaseScript
from tradefabric.venues.fakevenue.kraken import KrakenScript
from tradefabric.venues.fakevenue.server import FakeVenueScript
from tradefabric.venues.kraken import markets as kraken_markets

ScriptFactory = Callable[[Path], FakeVenueScript]


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


def script_for(venue: str, recording: Path) -> FakeVenueScript:
    """Return the fake-venue script serving ``recording`` as ``venue`` speaks."""
    factory = SCRIPTS.get(venue)
    if factory is None:
        raise ConfigError(f"no fake venue for {venue!r}; expected one of {sorted(SCRIPTS)}")
    return factory(recording)


PrivateFactory = Callable[[FakeVenueScript, tuple[ApiKey, ...]], FakeVenueScript]


def _binance_private(script: FakeVenueScript, keys: tuple[ApiKey, ...]) -> FakeVenueScript:
    if not isinstance(script, BinanceScript):
        raise ConfigError(f"{script.name}: not a Binance script")
    return BinancePrivateScript(script, keys)


PRIVATE: dict[str, PrivateFactory] = {name: _binance_private for name in binance_markets.MARKETS}
"""Venue -> how its fake venue adds its private API to the public script."""


def with_private_api(script: FakeVenueScript, keys_file: Path) -> FakeVenueScript:
    """Return ``script`` serving its venue's private API too, for the keys in ``keys_file``.

    ``keys_file`` is JSON: ``[{"api_key": "k1", "hmac_secret": "s1"},
    {"api_key": "k2", "ed25519_public_pem": "-----BEGIN PUBLIC KEY-----..."}]``
    (throwaway keys: the fake venue is a test double).
    """
    factory = PRIVATE.get(script.name)
    if factory is None:
        raise ConfigError(f"no fake private API for {script.name!r} yet; have {sorted(PRIVATE)}")
    try:
        keys = msgspec.json.decode(keys_file.read_bytes(), type=tuple[ApiKey, ...])
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(f"--private-keys {keys_file}: {exc}") from exc
    return factory(script, keys)
