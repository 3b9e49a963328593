"""Bybit v5 request signing: HMAC-SHA256 over timestamp, key, recv window and payload.

A REST request carries ``X-BAPI-API-KEY``, ``X-BAPI-TIMESTAMP`` (ms),
``X-BAPI-RECV-WINDOW`` (ms) and ``X-BAPI-SIGN``, the hex HMAC-SHA256 of
``timestamp + api_key + recv_window + payload`` where the payload is the query
string of a GET (as sent, unsorted) or the JSON body of a POST. The private
stream authenticates with ``{"op":"auth","args":[key, expires_ms, sign]}``,
``sign`` being the HMAC of ``"GET/realtime" + expires_ms``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from tradefabric.core.errors import ConfigError

DEFAULT_RECV_WINDOW_MS = 5000


class Credentials:
    """An API key and its secret; the secret never appears in a repr or a log line."""

    __slots__ = ("_secret", "api_key")

    def __init__(self, api_key: str, secret: str) -> None:
        if not api_key or not secret:
            raise ConfigError("a Bybit API key and secret are both required")
        self.api_key = api_key
        self._secret = secret.encode()

    def __repr__(self) -> str:
        return f"Credentials(api_key={self.api_key[:4]}..., secret=<hidden>)"

    @classmethod
    def from_env(cls, prefix: str = "BYBIT") -> Credentials:
        """Read ``{prefix}_API_KEY`` and ``{prefix}_API_SECRET`` from the environment."""
        key = os.environ.get(f"{prefix}_API_KEY", "")
        secret = os.environ.get(f"{prefix}_API_SECRET", "")
        if not key or not secret:
            raise ConfigError(f"set {prefix}_API_KEY and {prefix}_API_SECRET")
        return cls(key, secret)

    def sign(self, message: str) -> str:
        """Return the hex HMAC-SHA256 of ``message`` under the secret."""
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def rest_headers(self, timestamp_ms: int, recv_window_ms: int, payload: str) -> dict[str, str]:
        """Return the four authentication headers of one REST request."""
        signed = f"{timestamp_ms}{self.api_key}{recv_window_ms}{payload}"
        return {
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-TIMESTAMP": str(timestamp_ms),
            "X-BAPI-RECV-WINDOW": str(recv_window_ms),
            "X-BAPI-SIGN": self.sign(signed),
        }

    def ws_auth_args(self, expires_ms: int) -> list[str | int]:
        """Return the ``args`` of the private stream's ``auth`` op."""
        return [self.api_key, expires_ms, self.sign(f"GET/realtime{expires_ms}")]


def rest_signature(
    secret: str, timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str
) -> str:
    """Return the signature a venue expects of a REST request (the fake venue checks with it)."""
    return Credentials(api_key, secret).rest_headers(timestamp_ms, recv_window_ms, payload)[
        "X-BAPI-SIGN"
    ]


def ws_signature(secret: str, expires_ms: int) -> str:
    """Return the signature of the private stream's ``auth`` op for ``expires_ms``."""
    return hmac.new(
        secret.encode(), f"GET/realtime{expires_ms}".encode(), hashlib.sha256
    ).hexdigest()
