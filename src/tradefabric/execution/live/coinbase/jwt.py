"""Coinbase CDP API key auth: an ES256 JWT per request (and per WebSocket subscribe).

The token is ``base64url(header).base64url(claims).base64url(signature)``:

- header ``{"alg": "ES256", "kid": <key name>, "nonce": <random hex>, "typ": "JWT"}``
- claims ``{"sub": <key name>, "iss": "cdp", "nbf": now, "exp": now + 120,
  "uri": "POST api.coinbase.com/api/v3/brokerage/orders"}`` (no ``uri`` for WebSocket)
- signature: ECDSA P-256 over SHA-256 of the first two parts, as the raw 64-byte
  ``r || s`` JWS wants (``cryptography`` gives DER; it is unpacked here).

The key name is ``organizations/{org}/apiKeys/{key}``; the secret is the EC private
key in PEM (``-----BEGIN EC PRIVATE KEY-----``).
"""

from __future__ import annotations

import base64
import secrets
import time

import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from tradefabric.core.errors import AuthenticationError

LIFETIME_S = 120


def b64url(data: bytes) -> str:
    """Return ``data`` in unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class JwtSigner:
    """Sign Coinbase JWTs with one CDP key (the PEM is parsed once; never logged)."""

    def __init__(self, key_name: str, private_pem: str) -> None:
        try:
            key = load_pem_private_key(private_pem.replace("\\n", "\n").encode(), password=None)
        except ValueError as exc:
            raise AuthenticationError("coinbase: the API secret is not an EC private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise AuthenticationError("coinbase: the API secret is not an EC (ES256) key")
        self.key_name = key_name
        self._key = key

    def __repr__(self) -> str:
        return f"JwtSigner({self.key_name!r}, <hidden>)"

    def token(self, method: str = "", host: str = "", path: str = "") -> str:
        """Return a JWT for ``METHOD host/path`` (no ``uri`` claim when ``method`` is empty)."""
        now = int(time.time())
        header = {
            "alg": "ES256",
            "kid": self.key_name,
            "nonce": secrets.token_hex(16),
            "typ": "JWT",
        }
        claims: dict[str, object] = {
            "sub": self.key_name, "iss": "cdp", "nbf": now, "exp": now + LIFETIME_S,
        }  # fmt: skip
        if method:
            claims["uri"] = f"{method} {host}{path}"
        signing_input = (
            f"{b64url(msgspec.json.encode(header))}.{b64url(msgspec.json.encode(claims))}"
        )
        der = self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
