"""What a Binance live client needs: endpoints per market (live and testnet), keys, timings."""

from __future__ import annotations

from typing import Final, Protocol

import msgspec

from tradefabric.model.instrument import Instrument


class BinanceEndpoints(msgspec.Struct, frozen=True, kw_only=True):
    """One market's private endpoints: REST, and the WebSocket API (spot) or user stream (USD-M)."""

    rest_url: str
    ws_api_url: str = ""
    stream_url: str = ""
    """USD-M: the user stream base; the listen key is appended (``<stream_url>/<key>``)."""


ENDPOINTS: Final[dict[str, dict[bool, BinanceEndpoints]]] = {
    "binance": {
        False: BinanceEndpoints(
            rest_url="https://api.binance.com", ws_api_url="wss://ws-api.binance.com:443/ws-api/v3"
        ),
        True: BinanceEndpoints(
            rest_url="https://testnet.binance.vision",
            ws_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
        ),
    },
    "binance-usdm": {
        False: BinanceEndpoints(
            rest_url="https://fapi.binance.com", stream_url="wss://fstream.binance.com/ws"
        ),
        True: BinanceEndpoints(
            rest_url="https://testnet.binancefuture.com",
            stream_url="wss://fstream.binancefuture.com/ws",
        ),
    },
}
"""Venue -> testnet? -> endpoints."""


class BinanceClientConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A Binance live client's settings (the keys come apart, in ``Credentials``).

    Empty URLs take the market's defaults (``testnet`` picks the testnet ones); a
    fake venue or a proxy sets them.
    """

    venue: str = "binance"
    testnet: bool = False
    rest_url: str = ""
    ws_api_url: str = ""
    stream_url: str = ""
    recv_window_ms: int = 5000
    request_timeout_s: float = 10.0
    order_entry: str = "websocket"
    """Spot: ``websocket`` (the WebSocket API, the low-latency path) or ``rest``."""
    keepalive_s: float = 1800.0
    """USD-M: listen key keep-alive interval (a key lives 60 minutes)."""
    reconnect_delay_s: float = 0.5
    symbols: tuple[str, ...] = ()
    """Unified symbols traded (heartbeat and mass status cover these and any traded)."""
    instruments: tuple[Instrument, ...] = ()
    """Instruments (tick, lot); empty: loaded from the venue's exchangeInfo at connect."""

    def endpoints(self) -> BinanceEndpoints:
        """Return the endpoints: the configured URLs over the market's defaults."""
        default = ENDPOINTS[self.venue][self.testnet]
        return BinanceEndpoints(
            rest_url=self.rest_url or default.rest_url,
            ws_api_url=self.ws_api_url or default.ws_api_url,
            stream_url=self.stream_url or default.stream_url,
        )


class KeyPair(Protocol):
    """An API key and its secret: an HMAC secret, or an Ed25519 private key (PEM).

    The live config's ``Credentials`` is one; so is ``Credentials`` here (tests, tools).
    """

    api_key: str
    api_secret: str


class Credentials:
    """An API key and its secret, never printed (``repr`` and ``str`` hide both)."""

    __slots__ = ("api_key", "api_secret")

    def __init__(self, api_key: str, api_secret: str) -> None:
        self.api_key = api_key
        self.api_secret = api_secret

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    __str__ = __repr__
