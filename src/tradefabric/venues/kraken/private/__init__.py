"""Kraken spot's private API: the native live execution client.

``build_client`` is the factory the live venue registry calls (until the registry
lands on main, node wiring calls it directly)::

    client = build_client(api_key, api_secret, rest_url="http://127.0.0.1:9001",
                          ws_url="ws://127.0.0.1:9001/ws-auth/v2", state_dir=Path("state"))
"""

from __future__ import annotations

from pathlib import Path

from tradefabric.venues.kraken.private.client import KrakenClientConfig, KrakenLiveClient

__all__ = ["KrakenClientConfig", "KrakenLiveClient", "build_client"]


def build_client(
    api_key: str,
    api_secret: str,
    *,
    rest_url: str = "",
    ws_url: str = "",
    state_dir: Path | None = None,
    testnet: bool = False,
) -> KrakenLiveClient:
    """Return a Kraken client; its nonce survives restarts in ``state_dir/kraken.nonce``.

    Kraken has no spot testnet: ``testnet`` changes nothing, the URLs do.
    """
    defaults = KrakenClientConfig()
    config = KrakenClientConfig(
        rest_url=rest_url or defaults.rest_url,
        ws_auth_url=ws_url or defaults.ws_auth_url,
        nonce_file=None if state_dir is None else state_dir / "kraken.nonce",
    )
    return KrakenLiveClient(api_key, api_secret, config)
