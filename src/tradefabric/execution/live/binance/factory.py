"""Build a Binance live client from what a node config gives: venue, keys, instruments, URLs.

``build_client(venue, credentials, instruments, *, testnet, rest_url, ws_url)`` is the
live engine's registry signature, for ``binance`` (spot) and ``binance-usdm``
(``VENUES``). ``ws_url`` is the spot WebSocket API or the USD-M user stream base
(the listen key is appended). Testnet endpoints are the default: production needs
an explicit ``testnet: false``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.binance.config import ENDPOINTS, BinanceClientConfig, KeyPair
from tradefabric.execution.live.binance.spot import BinanceSpotClient
from tradefabric.execution.live.binance.usdm import BinanceUsdmClient
from tradefabric.execution.live.protocol import LiveExecutionClient
from tradefabric.model.instrument import Instrument

VENUES: Final = ("binance", "binance-usdm")
TESTNET_REST_URL: Final = ENDPOINTS["binance"][True].rest_url
TESTNET_WS_URL: Final = ENDPOINTS["binance"][True].ws_api_url
TESTNET_URLS: Final[dict[str, tuple[str, ...]]] = {
    venue: tuple(u for u in (e.rest_url, e.ws_api_url, e.stream_url) if u)
    for venue, by_net in ENDPOINTS.items()
    for e in (by_net[True],)
}
"""Venue -> its testnet endpoints (not production: no live confirmation needed)."""

ClientClass = Callable[[BinanceClientConfig, KeyPair], LiveExecutionClient]
CLIENTS: Final[dict[str, ClientClass]] = {
    "binance": BinanceSpotClient,
    "binance-usdm": BinanceUsdmClient,
}
"""Venue -> its client (typed as the protocol: mypy checks that each conforms)."""

_WS_FIELD: Final = {"binance": "ws_api_url", "binance-usdm": "stream_url"}


def build_client(
    venue: str,
    credentials: KeyPair,
    instruments: Mapping[str, Instrument],
    *,
    testnet: bool = True,
    rest_url: str = "",
    ws_url: str = "",
) -> LiveExecutionClient:
    """Return the native client of ``venue`` (not connected); explicit URLs win."""
    cls = CLIENTS.get(venue)
    if cls is None:
        raise ConfigError(f"no Binance client for {venue!r}; expected one of {sorted(CLIENTS)}")
    config = BinanceClientConfig(
        venue=venue, testnet=testnet, rest_url=rest_url, instruments=tuple(instruments.values())
    )
    # One ws_url: the spot WebSocket API, or the USD-M user stream base.
    config = msgspec.structs.replace(config, **{_WS_FIELD[venue]: ws_url})
    return cls(config, credentials)


def build_from_config(config: BinanceClientConfig, credentials: KeyPair) -> LiveExecutionClient:
    """Return the client of a full ``BinanceClientConfig`` (every setting, not only URLs)."""
    cls = CLIENTS.get(config.venue)
    if cls is None:
        raise ConfigError(
            f"no Binance client for {config.venue!r}; expected one of {sorted(CLIENTS)}"
        )
    return cls(config, credentials)
