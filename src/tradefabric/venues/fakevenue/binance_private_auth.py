"""Binance's request security on the fake venue: API keys, HMAC/Ed25519 signatures, recvWindow.

A SIGNED request carries ``timestamp`` (ms), an optional ``recvWindow`` (default
5000, at most 60000) and ``signature`` last: HMAC-SHA256 of the request's
parameters (the query string followed by the body) in hex with an HMAC key, or
base64 Ed25519 of the same bytes with an Ed25519 key. The WebSocket API signs
its ``params`` sorted by name as ``key=value&...``. Refusals are Binance's own:
-2014/-2015 for a key, -1022 for a signature, -1021 for a timestamp outside the
window, -1102 for a missing parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_plus

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60_000
_FUTURE_TOLERANCE_MS = 1000


class BinanceApiError(Exception):
    """A refusal as Binance answers it: HTTP ``status`` with ``{"code", "msg"}``."""

    def __init__(self, status: int, code: int, msg: str, headers: Mapping[str, str] | None = None):
        super().__init__(f"{code} {msg}")
        self.status, self.code, self.msg = status, code, msg
        self.headers = dict(headers or {})

    def body(self) -> bytes:
        """Return the JSON body Binance sends."""
        return msgspec.json.encode({"code": self.code, "msg": self.msg})


class ApiKey(msgspec.Struct, frozen=True):
    """One registered key: an HMAC secret, or an Ed25519 public key (PEM)."""

    api_key: str
    hmac_secret: str = ""
    ed25519_public_pem: str = ""


class BinanceKeys:
    """The API keys the fake venue accepts, and the checks of a signed request."""

    def __init__(self, keys: tuple[ApiKey, ...], time_offset_ms: int = 0) -> None:
        self._keys = {k.api_key: k for k in keys}
        self._ed25519: dict[str, Ed25519PublicKey] = {}
        for key in keys:
            if key.ed25519_public_pem:
                loaded = load_pem_public_key(key.ed25519_public_pem.encode())
                if not isinstance(loaded, Ed25519PublicKey):
                    raise ValueError(f"key {key.api_key}: not an Ed25519 public key")
                self._ed25519[key.api_key] = loaded
        self.time_offset_ms = time_offset_ms

    def server_ms(self) -> int:
        """Return the venue's clock in ms."""
        return time.time_ns() // 1_000_000 + self.time_offset_ms

    def key(self, api_key: str) -> ApiKey:
        """Return a registered key; raise -2015 (HTTP 401) for any other."""
        if not api_key:
            raise BinanceApiError(401, -2014, "API-key format invalid.")
        found = self._keys.get(api_key)
        if found is None:
            raise BinanceApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        return found

    def is_ed25519(self, api_key: str) -> bool:
        """Return True when ``api_key`` is an Ed25519 key."""
        return api_key in self._ed25519

    def verify_rest(self, api_key: str, query: str, body: str) -> dict[str, str]:
        """Check a signed REST request; return its parameters (signature removed).

        What is signed is the query string followed directly by the body (Binance's
        ``totalParams``); the signature is the last parameter of either.
        """
        signature = ""
        parts = []
        for text in (query, body):
            head, found, tail = text.rpartition("signature=")
            signed_here = found and (not head or head.endswith("&"))
            signature = tail if signed_here else signature
            parts.append(head.removesuffix("&") if signed_here else text)
        if not signature:
            raise BinanceApiError(400, -1102, "Mandatory parameter 'signature' was not sent.")
        params = dict(parse_qsl(parts[0], keep_blank_values=True))
        params.update(parse_qsl(parts[1], keep_blank_values=True))
        self._verify(self.key(api_key), parts[0] + parts[1], unquote_plus(signature))
        self.check_timestamp(params)
        return params

    def verify_ws(self, params: Mapping[str, object]) -> str:
        """Check a signed WebSocket API request's ``params``; return its API key."""
        api_key = str(params.get("apiKey", ""))
        signature = str(params.get("signature", ""))
        if not signature:
            raise BinanceApiError(400, -1102, "Mandatory parameter 'signature' was not sent.")
        payload = ws_payload(params)
        self._verify(self.key(api_key), payload, signature)
        self.check_timestamp({k: str(v) for k, v in params.items()})
        return api_key

    def check_timestamp(self, params: Mapping[str, str]) -> None:
        """Refuse (-1021) a request whose timestamp is outside its recvWindow."""
        try:
            timestamp = int(params["timestamp"])
            window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
        except KeyError as exc:
            raise BinanceApiError(
                400, -1102, "Mandatory parameter 'timestamp' was not sent."
            ) from exc
        except ValueError as exc:
            raise BinanceApiError(400, -1100, "Illegal characters found in a parameter.") from exc
        if window > MAX_RECV_WINDOW_MS:
            raise BinanceApiError(400, -1131, "recvWindow must be less than 60000")
        now = self.server_ms()
        if timestamp >= now + _FUTURE_TOLERANCE_MS or now - timestamp > window:
            raise BinanceApiError(
                400, -1021, "Timestamp for this request is outside of the recvWindow."
            )

    def _verify(self, key: ApiKey, payload: str, signature: str) -> None:
        if key.hmac_secret:
            wanted = hmac.new(
                key.hmac_secret.encode(), payload.encode(), hashlib.sha256
            ).hexdigest()
            if hmac.compare_digest(wanted, signature.lower()):
                return
        elif key.api_key in self._ed25519:
            try:
                self._ed25519[key.api_key].verify(base64.b64decode(signature), payload.encode())
            except (InvalidSignature, binascii.Error, ValueError):
                pass
            else:
                return
        raise BinanceApiError(400, -1022, "Signature for this request is not valid.")


def ws_payload(params: Mapping[str, object]) -> str:
    """Return what a WebSocket API request signs: its params but the signature, sorted."""
    return "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()) if k != "signature")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
