"""Kraken spot's private API: the native live execution client.

It lives under ``execution.live`` (not ``venues.kraken``) because it implements the
live protocol and reports, and ``execution`` already imports ``venues``.
``factory.build_client`` is the live venue registry's entry; ``build_client`` here is
the direct one tests and tools use::

    client = build_client(api_key, api_secret, rest_url="http://127.0.0.1:9001",
                          ws_url="ws://127.0.0.1:9001/ws-auth/v2", state_dir=Path("state"))
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tradefabric.execution.live.kraken.client import KrakenClientConfig, KrakenLiveClient
from tradefabric.venues.kraken.markets import PairPrecision

__all__ = ["KrakenClientConfig", "KrakenLiveClient", "build_client"]


def build_client(
    api_key: str,
    api_secret: str,
    *,
    rest_url: str = "",
    ws_url: str = "",
    state_dir: Path | None = None,
    precisions: Mapping[str, PairPrecision] | None = None,
) -> KrakenLiveClient:
    """Return a Kraken client; its nonce survives restarts in ``state_dir/kraken.nonce``.

    ``precisions`` (symbol -> price/size decimals) override the built-in table.
    """
    defaults = KrakenClientConfig()
    config = KrakenClientConfig(
        rest_url=rest_url or defaults.rest_url,
        ws_auth_url=ws_url or defaults.ws_auth_url,
        nonce_file=None if state_dir is None else state_dir / "kraken.nonce",
        precisions={**defaults.precisions, **(precisions or {})},
    )
    return KrakenLiveClient(api_key, api_secret, config)
