"""Binance request signatures: HMAC-SHA256 (hex) or Ed25519 (base64) keys.

A signed REST request sends its parameters with ``timestamp`` (ms) and
``recvWindow``, and ``signature`` last, computed over the exact text sent
(the query string, or the form body). The WebSocket API signs its params sorted
by name as ``key=value&...``. Secrets are held here and never printed: the
repr of a signer names only its kind.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tradefabric.core.errors import ConfigError


class Signer(Protocol):
    """Signs the bytes of one request."""

    kind: str
    """``hmac`` or ``ed25519``."""

    def sign(self, payload: str) -> str:
        """Return the signature of ``payload`` as Binance expects it."""
        ...


class HmacSigner:
    """HMAC-SHA256 with the key's secret, hex encoded."""

    kind = "hmac"

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def sign(self, payload: str) -> str:
        """Return the hex HMAC-SHA256 of ``payload``."""
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "HmacSigner(<secret>)"


class Ed25519Signer:
    """Ed25519 with the key's private key (PEM), base64 encoded."""

    kind = "ed25519"

    def __init__(self, private_pem: str) -> None:
        key = load_pem_private_key(private_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError("the Binance private key is not an Ed25519 key")
        self._key = key

    def sign(self, payload: str) -> str:
        """Return the base64 Ed25519 signature of ``payload``."""
        return base64.b64encode(self._key.sign(payload.encode())).decode()

    def __repr__(self) -> str:
        return "Ed25519Signer(<private key>)"


def signer_for(secret: str) -> Signer:
    """Return the signer of ``secret``: a PEM private key is Ed25519, anything else HMAC."""
    if "PRIVATE KEY" in secret:
        return Ed25519Signer(secret)
    return HmacSigner(secret)


def ws_payload(params: Mapping[str, object]) -> str:
    """Return what a WebSocket API request signs: its params sorted by name."""
    return "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()))


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
