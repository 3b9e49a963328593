"""Coinbase CDP JWT checks on the fake venue: ES256 signature, claims, uri, nonce reuse.

A request carries ``Authorization: Bearer <jwt>``; a WebSocket subscribe carries
``"jwt"``. Checked: the header (``alg`` ES256, ``kid`` a registered key name, a
``nonce``), the signature (raw ``r || s`` over the first two parts with the key's
public key), the claims (``iss`` "cdp", ``sub`` the key name, ``nbf`` not in the
future, ``exp`` not past and at most 120 s after ``nbf``), ``uri`` equal to
``METHOD host/path`` for REST, and a nonce never seen before while its token lives.
Coinbase answers a refused JWT with HTTP 401 ``Unauthorized``; this fake also
records why (``refusals``), for tests.
"""

from __future__ import annotations

import base64
import binascii
import time

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key

_SKEW_S = 5


class JwtRefusedError(Exception):
    """A JWT the venue does not accept (Coinbase: HTTP 401)."""


class CdpKey(msgspec.Struct, frozen=True):
    """One registered key: its name and its EC public key (PEM)."""

    name: str
    public_pem: str


class _Header(msgspec.Struct, frozen=True):
    alg: str
    kid: str
    nonce: str = ""
    typ: str = "JWT"


class _Claims(msgspec.Struct, frozen=True):
    sub: str
    iss: str
    nbf: int
    exp: int
    uri: str | None = None


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class CdpKeys:
    """The keys the fake accepts and the nonces already used."""

    def __init__(self, keys: tuple[CdpKey, ...]) -> None:
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        for key in keys:
            public = load_pem_public_key(key.public_pem.encode())
            assert isinstance(public, ec.EllipticCurvePublicKey)
            self._keys[key.name] = public
        self._nonces: dict[str, int] = {}
        self.refusals: list[str] = []

    def verify(self, token: str, uri: str | None) -> str:
        """Return the key name of a valid ``token`` for ``uri`` (None: a WebSocket JWT)."""
        try:
            return self._verify(token, uri)
        except JwtRefusedError as refused:
            self.refusals.append(str(refused))
            raise

    def _verify(self, token: str, uri: str | None) -> str:
        parts = token.split(".")
        if len(parts) != 3:
            raise JwtRefusedError("not a JWT")
        try:
            header = msgspec.json.decode(_unb64(parts[0]), type=_Header)
            claims = msgspec.json.decode(_unb64(parts[1]), type=_Claims)
            signature = _unb64(parts[2])
        except (msgspec.DecodeError, binascii.Error, ValueError) as exc:
            raise JwtRefusedError(f"malformed JWT: {exc}") from exc
        key = self._keys.get(header.kid)
        if header.alg != "ES256" or key is None or claims.sub != header.kid:
            raise JwtRefusedError("unknown key or algorithm")
        self._check_signature(key, f"{parts[0]}.{parts[1]}".encode(), signature)
        self._check_claims(claims, uri)
        self._check_nonce(header.nonce, claims.exp)
        return header.kid

    @staticmethod
    def _check_signature(key: ec.EllipticCurvePublicKey, signed: bytes, raw: bytes) -> None:
        if len(raw) != 64:
            raise JwtRefusedError("signature is not 64 bytes")
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise JwtRefusedError("bad signature") from exc

    @staticmethod
    def _check_claims(claims: _Claims, uri: str | None) -> None:
        now = int(time.time())
        if claims.iss != "cdp":
            raise JwtRefusedError("iss is not cdp")
        if claims.nbf > now + _SKEW_S or claims.exp < now or claims.exp - claims.nbf > 120:
            raise JwtRefusedError("expired or not yet valid")
        if uri is not None and claims.uri != uri:
            raise JwtRefusedError(f"uri claim {claims.uri!r} is not {uri!r}")

    def _check_nonce(self, nonce: str, exp: int) -> None:
        now = int(time.time())
        self._nonces = {n: e for n, e in self._nonces.items() if e >= now}
        if not nonce or nonce in self._nonces:
            raise JwtRefusedError("nonce missing or reused")
        self._nonces[nonce] = exp
