"""The ``control:`` section of a trading config: where the node's control API listens."""

from __future__ import annotations

import ipaddress

import msgspec

from tradefabric.core.errors import ConfigError


class ControlConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Serve the control API (``ops.control.http``) and ``/metrics`` from a paper/live node.

    ``token`` authorizes every request (``Authorization: Bearer <token>``); the caller
    names itself as the operator (``X-Operator``), and both go to the audit log.
    """

    host: str = "127.0.0.1"
    port: int = 8780
    """0 picks a free port (tests); the bound one is ``ControlServer.url``."""
    token: str
    flat_slippage_bps: float = 50.0
    """FLAT ALL leaves a position open (and says so) when closing it would move the price
    more than this far from the mid or last price (the slippage guard)."""

    def __post_init__(self) -> None:
        if len(self.token) < 8:
            raise ConfigError("control.token: give at least 8 characters")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"control.port: {self.port} is not a TCP port")
        if not self.flat_slippage_bps > 0:
            raise ConfigError("control.flat_slippage_bps: must be > 0")
        try:
            ipaddress.ip_address(self.host)
        except ValueError as exc:
            raise ConfigError(f"control.host: {self.host!r} is not an IP address") from exc
