"""``build_client``: the live engine's entry to the Binance clients (venue -> client class)."""

from __future__ import annotations

from typing import Final

from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.binance.client import BinanceClientBase
from tradefabric.execution.live.binance.config import BinanceClientConfig, Credentials
from tradefabric.execution.live.binance.spot import BinanceSpotClient
from tradefabric.execution.live.binance.usdm import BinanceUsdmClient
from tradefabric.execution.live.protocol import LiveExecutionClient

CLIENTS: Final[dict[str, type[BinanceClientBase]]] = {
    "binance": BinanceSpotClient,
    "binance-usdm": BinanceUsdmClient,
}


def build_client(config: BinanceClientConfig, credentials: Credentials) -> LiveExecutionClient:
    """Return the live client of ``config.venue`` (``binance`` or ``binance-usdm``)."""
    cls = CLIENTS.get(config.venue)
    if cls is None:
        raise ConfigError(
            f"no Binance client for {config.venue!r}; expected one of {sorted(CLIENTS)}"
        )
    client: LiveExecutionClient = cls(config, credentials)  # type: ignore[assignment]
    return client
