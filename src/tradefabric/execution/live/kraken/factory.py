"""The live venue registry's entry to the Kraken client (``build_client`` and its URLs).

Signature as the registry calls every factory::

    build_client(venue, credentials, instruments, *, testnet, rest_url, ws_url)

Prices and sizes are printed at the instruments' increments (``price_increment``,
``size_increment``), the built-in table otherwise. The nonce high-water mark lives
in ``$TRADEFABRIC_STATE_DIR`` (default ``~/.tradefabric``) as
``kraken-<sha256(api key)[:12]>.nonce``: one per key, as Kraken counts nonces per key.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final, Protocol

from tradefabric.execution.live.decimals import decimals_of
from tradefabric.execution.live.kraken.client import KrakenClientConfig, KrakenLiveClient
from tradefabric.model.instrument import Instrument
from tradefabric.venues.kraken.markets import PAIR_PRECISIONS, PairPrecision

VENUES: Final = ("kraken",)
TESTNET_REST_URL: Final = ""
"""Kraken spot has no testnet: every non-local URL is production."""
TESTNET_WS_URL: Final = ""
PRODUCTION_REST_URL: Final = "https://api.kraken.com"
PRODUCTION_WS_URL: Final = "wss://ws-auth.kraken.com/v2"


class KeyPair(Protocol):
    """Credentials as the live config loads them (``api_key``, ``api_secret``)."""

    api_key: str
    api_secret: str


def nonce_file(api_key: str, state_dir: Path | None = None) -> Path:
    """Return where the nonce of ``api_key`` is kept."""
    base = state_dir or Path(os.environ.get("TRADEFABRIC_STATE_DIR", "~/.tradefabric"))
    digest = hashlib.sha256(api_key.encode()).hexdigest()[:12]
    return base.expanduser() / f"kraken-{digest}.nonce"


def precisions(instruments: Mapping[str, Instrument]) -> dict[str, PairPrecision]:
    """Return symbol -> (price, size) decimals: the instruments', then the built-in table."""
    table = dict(PAIR_PRECISIONS)
    for symbol, inst in instruments.items():
        table[symbol] = PairPrecision(
            decimals_of(float(inst.price_increment)), decimals_of(float(inst.size_increment))
        )
    return table


def build_client(
    venue: str,
    credentials: KeyPair,
    instruments: Mapping[str, Instrument],
    *,
    testnet: bool,
    rest_url: str,
    ws_url: str,
    state_dir: Path | None = None,
) -> KrakenLiveClient:
    """Return the (unconnected) Kraken client; ``testnet`` changes nothing (Kraken has none)."""
    config = KrakenClientConfig(
        rest_url=rest_url or PRODUCTION_REST_URL,
        ws_auth_url=ws_url or PRODUCTION_WS_URL,
        nonce_file=nonce_file(credentials.api_key, state_dir),
        precisions=precisions(instruments),
    )
    return KrakenLiveClient(credentials.api_key, credentials.api_secret, config)
