"""The ``dashboard:`` section of a trading config, and where its token comes from."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path
from typing import Literal

import msgspec

from tradefabric.core.errors import ConfigError

LOOPBACK = "127.0.0.1"
MIN_TOKEN_CHARS = 8


class DashboardConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Serve the web dashboard (``ops.dashboard``) from a paper/live node.

    The token is, in order: ``token_env`` (an environment variable's name),
    ``token_file`` (a file only its owner may read), ``token``, else the
    ``control:`` token. ``auth: none`` serves without a token, allowed only on
    127.0.0.1 (commands still need the dashboard's own Origin).
    """

    host: str = LOOPBACK
    port: int = 8781
    """0 picks a free port (tests); the bound one is ``DashboardServer.url``."""
    auth: Literal["token", "none"] = "token"
    token: str = ""
    token_env: str = ""
    token_file: str = ""
    refresh_s: float = 1.0
    """How often the live stream sends a fresh snapshot (when something changed)."""
    allowed_origins: tuple[str, ...] = ()
    """Origins besides the dashboard's own that may send commands (a reverse proxy's)."""

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.host)
        except ValueError as exc:
            raise ConfigError(f"dashboard.host: {self.host!r} is not an IP address") from exc
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"dashboard.port: {self.port} is not a TCP port")
        if self.auth == "none" and self.host != LOOPBACK:
            raise ConfigError(f"dashboard.auth: none is allowed only on {LOOPBACK}")
        if self.token and len(self.token) < MIN_TOKEN_CHARS:
            raise ConfigError(f"dashboard.token: give at least {MIN_TOKEN_CHARS} characters")
        if not 0.05 <= self.refresh_s <= 60:
            raise ConfigError("dashboard.refresh_s: must be within 0.05..60 s")


def resolve_token(config: DashboardConfig, control_token: str | None) -> str | None:
    """Return the token the dashboard checks (None: ``auth: none``); raise if there is none."""
    if config.auth == "none":
        return None
    if config.token_env:
        token = os.environ.get(config.token_env, "").strip()
        if not token:
            raise ConfigError(f"dashboard.token_env: ${config.token_env} is not set")
        return _long_enough(token, f"${config.token_env}")
    if config.token_file:
        return _long_enough(
            _read_owner_only(Path(config.token_file).expanduser()), config.token_file
        )
    if config.token:
        return config.token
    if control_token:
        return control_token
    raise ConfigError(
        "dashboard: give token_env, token_file or token (or a control: section), "
        "or auth: none on 127.0.0.1"
    )


def _read_owner_only(path: Path) -> str:
    try:
        info = path.stat()
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"dashboard.token_file: cannot read {path}: {exc}") from exc
    # A token others can read is no secret: refuse it rather than serve with it.
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or info.st_uid != os.getuid():
        raise ConfigError(
            f"dashboard.token_file: {path} must be owned by this user and not readable by "
            f"others (chmod 600; it is {stat.filemode(info.st_mode)})"
        )
    return text.strip()


def _long_enough(token: str, where: str) -> str:
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"dashboard token from {where}: give at least {MIN_TOKEN_CHARS} chars")
    return token
