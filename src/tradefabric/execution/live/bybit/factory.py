"""Build a Bybit live client from what a node config gives: venue, keys, endpoints.

``build_client(venue, credentials, instruments, *, testnet, rest_url, ws_url)`` is
what the live engine's venue -> client-factory registry calls for ``bybit`` (spot)
and ``bybit-linear`` (``VENUES``); testnet endpoints (``TESTNET_REST_URL``,
``TESTNET_WS_URL``) are the default, as ``mode: live`` on production needs an
explicit choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from tradefabric.execution.live.bybit.client import BybitLiveClient
from tradefabric.execution.live.protocol import LiveExecutionClient
from tradefabric.model.instrument import Instrument
from tradefabric.venues.bybit.private.categories import PRIVATE_WS_PATH, private_category
from tradefabric.venues.bybit.private.signing import Credentials

TESTNET_REST_URL = "https://api-testnet.bybit.com"
TESTNET_WS_URL = f"wss://stream-testnet.bybit.com{PRIVATE_WS_PATH}"
MAINNET_WS_URL = f"wss://stream.bybit.com{PRIVATE_WS_PATH}"
VENUES = ("bybit", "bybit-linear")


class KeyPair(Protocol):
    """Anything holding an API key and its secret (the live config's ``Credentials``)."""

    api_key: str
    api_secret: str


def build_client(
    venue: str,
    credentials: KeyPair,
    instruments: Mapping[str, Instrument],
    *,
    testnet: bool = True,
    rest_url: str = "",
    ws_url: str = "",
) -> LiveExecutionClient:
    """Return the native client of ``venue`` (not connected); explicit URLs win.

    Typed as the protocol, so mypy checks that ``BybitLiveClient`` conforms to it.
    """
    category = private_category(venue)
    default_rest = TESTNET_REST_URL if testnet else category.market.rest_url
    default_ws = TESTNET_WS_URL if testnet else MAINNET_WS_URL
    return BybitLiveClient(
        category,
        Credentials(credentials.api_key, credentials.api_secret),
        instruments,
        rest_url=rest_url or default_rest,
        ws_url=ws_url or default_ws,
    )
