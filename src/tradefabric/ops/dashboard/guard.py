"""Who may read and command through the dashboard: token, Host and Origin checks.

Reads need ``Authorization: Bearer <token>`` (unless ``auth: none``). Commands are
POST only and also need an ``Origin`` of the dashboard itself and a JSON body: a
page of another site cannot send that header or body without a CORS preflight,
which the dashboard never answers, so commands are CSRF-safe without cookies. The
``Host`` header must name the dashboard (DNS rebinding would otherwise let a
foreign page read an ``auth: none`` dashboard as same-origin).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

LOCAL_NAMES = ("127.0.0.1", "localhost")


class Guard:
    """Check requests against the token and the dashboard's own hosts and origins."""

    def __init__(self, token: str | None, allowed_origins: tuple[str, ...] = ()) -> None:
        """Check ``token`` (None: no token asked); hosts are known once ``bind`` is called."""
        self._token = None if token is None else token.encode()
        self._extra_origins = frozenset(o.rstrip("/") for o in allowed_origins)
        self._hosts: frozenset[str] = frozenset()
        self._any_host = False

    @property
    def asks_token(self) -> bool:
        """Return True when requests must carry the token."""
        return self._token is not None

    def bind(self, host: str, port: int) -> None:
        """Accept ``Host: host:port`` (and localhost's names on loopback) from now on.

        Bound to every interface (0.0.0.0, ::) the names are unknown: any Host is
        read (the token is required there) and a command's Origin must be its Host's.
        """
        self._any_host = ipaddress.ip_address(host).is_unspecified
        names = {host, *LOCAL_NAMES} if host in LOCAL_NAMES else {host}
        proxied = {o.split("://", 1)[-1] for o in self._extra_origins}
        self._hosts = frozenset({f"{name}:{port}" for name in names} | proxied)

    def read_refusal(self, headers: Mapping[str, str]) -> str:
        """Return why a read is refused ("" when allowed)."""
        return self._host_refusal(headers) or self._token_refusal(headers)

    def command_refusal(self, headers: Mapping[str, str]) -> str:
        """Return why a command is refused ("" when allowed).

        The Origin is checked before the token, so a forged request is named as such.
        """
        refusal = self._host_refusal(headers)
        if refusal:
            return refusal
        origin = headers.get("origin", "")
        hosts = {*self._hosts, headers.get("host", "")} if self._any_host else self._hosts
        allowed = {f"http://{h}" for h in hosts} | self._extra_origins
        if origin.rstrip("/") not in allowed:
            return f"cross-origin or missing Origin {origin!r}"
        if not headers.get("content-type", "").startswith("application/json"):
            return "commands need a JSON body (Content-Type: application/json)"
        return self._token_refusal(headers)

    def _host_refusal(self, headers: Mapping[str, str]) -> str:
        host = headers.get("host", "")
        if self._any_host or host in self._hosts:
            return ""
        return f"unknown Host {host!r}"

    def _token_refusal(self, headers: Mapping[str, str]) -> str:
        if self._token is None:
            return ""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "no token"
        if not hmac.compare_digest(token.strip().encode(), self._token):
            return "wrong token"
        return ""
