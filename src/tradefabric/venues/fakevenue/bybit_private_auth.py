"""How the fake Bybit checks a private request: key, signature and recv window.

``X-BAPI-SIGN`` must be the HMAC-SHA256 of ``timestamp + key + recv_window +
payload`` (the query string as sent, or the raw JSON body) under the key's
secret, and ``server_time - recv_window <= timestamp < server_time + 1000``, as
Bybit enforces; the refusals carry Bybit's codes (10003 key, 10004 sign, 10002 time).
"""

from __future__ import annotations

import hmac
import time
from typing import NoReturn

from aiohttp import web

from tradefabric.venues.bybit.private.signing import rest_signature, ws_signature

DEFAULT_RECV_WINDOW_MS = 5000
FUTURE_TOLERANCE_MS = 1000


class RefusedError(Exception):
    """A private request refused before it acted: Bybit's ``retCode`` and ``retMsg``."""

    def __init__(self, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.headers = headers or {}


def server_ms(offset_ms: int = 0) -> int:
    """Return the venue's clock in ms."""
    return time.time_ns() // 1_000_000 + offset_ms


class KeyRing:
    """The API keys the fake venue knows, and their secrets."""

    def __init__(self, keys: dict[str, str], time_offset_ms: int = 0) -> None:
        self._keys = dict(keys)
        self._offset_ms = time_offset_ms
        self.refused = 0

    def verify_rest(self, request: web.Request, payload: str) -> None:
        """Raise ``RefusedError`` unless ``request`` is signed right and in its window."""
        headers = request.headers
        key = headers.get("X-BAPI-API-KEY", "")
        secret = self._keys.get(key)
        if secret is None:
            self._refuse(10003, "API key is invalid.")
        try:
            timestamp = int(headers.get("X-BAPI-TIMESTAMP", ""))
            window = int(headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW_MS)))
        except ValueError:
            self._refuse(10001, "timestamp and recv_window must be integers")
        now = server_ms(self._offset_ms)
        if not now - window <= timestamp < now + FUTURE_TOLERANCE_MS:
            self._refuse(
                10002,
                f"invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{timestamp}],server_timestamp[{now}],recv_window[{window}]",
            )
        expected = rest_signature(secret, timestamp, key, window, payload)
        if not hmac.compare_digest(expected, headers.get("X-BAPI-SIGN", "")):
            self._refuse(10004, "error sign! origin_string[...]")

    def verify_ws(self, args: list[object]) -> str:
        """Return the key of a valid ``auth`` op's args; raise ``RefusedError`` otherwise."""
        if len(args) != 3:
            self._refuse(10001, "Params Error")
        key, expires, signature = str(args[0]), args[1], str(args[2])
        secret = self._keys.get(key)
        if secret is None:
            self._refuse(10003, "Invalid apikey")
        if not isinstance(expires, int) or expires <= server_ms(self._offset_ms):
            self._refuse(10002, "Params Error: expires must be in the future")
        if not hmac.compare_digest(ws_signature(secret, expires), signature):
            self._refuse(10004, "Invalid sign")
        return key

    def _refuse(self, code: int, message: str) -> NoReturn:
        self.refused += 1
        raise RefusedError(code, message)
