"""The live venue registry's entry to the Coinbase client (``build_client`` and its URLs).

``credentials.api_key`` is the CDP key name (``organizations/{org}/apiKeys/{key}``),
``credentials.api_secret`` its EC private key in PEM. Sandbox: Coinbase's REST
sandbox (``api-sandbox.coinbase.com``, static answers) when ``testnet`` and no URL is
given; it has no user WebSocket, so ``testnet`` needs an explicit ``ws_url`` (a local
fake venue, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol

from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.coinbase.client import CoinbaseClientConfig, CoinbaseLiveClient
from tradefabric.model.instrument import Instrument

VENUES: Final = ("coinbase",)
TESTNET_REST_URL: Final = "https://api-sandbox.coinbase.com"
TESTNET_WS_URL: Final = ""
"""None: the sandbox serves REST only."""
PRODUCTION_REST_URL: Final = "https://api.coinbase.com"
PRODUCTION_WS_URL: Final = "wss://advanced-trade-ws-user.coinbase.com"


class KeyPair(Protocol):
    """Credentials as the live config loads them (``api_key``, ``api_secret``)."""

    api_key: str
    api_secret: str


def build_client(
    venue: str,
    credentials: KeyPair,
    instruments: Mapping[str, Instrument],
    *,
    testnet: bool,
    rest_url: str,
    ws_url: str,
) -> CoinbaseLiveClient:
    """Return the (unconnected) Coinbase client for ``instruments``' products."""
    if testnet and not ws_url:
        raise ConfigError(
            f"execution.{venue}.live: Coinbase's sandbox has no user WebSocket; set ws_url"
        )
    config = CoinbaseClientConfig(
        rest_url=rest_url or (TESTNET_REST_URL if testnet else PRODUCTION_REST_URL),
        ws_user_url=ws_url or PRODUCTION_WS_URL,
        symbols=tuple(sorted(instruments)),
        increments={s: (i.price_increment, i.size_increment) for s, i in instruments.items()},
    )
    return CoinbaseLiveClient(credentials.api_key, credentials.api_secret, config)
