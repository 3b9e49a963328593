"""Configuration of a live venue: credentials, endpoints, and how the engine treats the venue.

In a node config::

    execution:
      binance:
        mode: live
        live:
          credentials: {api_key_env: BINANCE_KEY, api_secret_env: BINANCE_SECRET}
          # or: credentials: {file: ~/.tradefabric/binance.yaml}  (owner-only: chmod 600)
          testnet: true
          rest_url: http://127.0.0.1:9001     # overrides (a local fake venue)
          ws_url: ws://127.0.0.1:9001/ws
          reconcile_interval_s: 60
          cancel_after_s: 30                  # the venue's dead man's switch, when it has one

Secrets live only in ``Credentials``, whose ``repr`` shows neither of them.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import msgspec
import yaml

from tradefabric.core.errors import ConfigError


class CredentialsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the keys are: two environment variables, or a file only its owner can read.

    The file is YAML with ``api_key`` and ``api_secret`` (and optionally ``passphrase``).
    """

    api_key_env: str = ""
    api_secret_env: str = ""
    passphrase_env: str = ""
    file: Path | None = None

    def __post_init__(self) -> None:
        by_env = bool(self.api_key_env or self.api_secret_env)
        if by_env == (self.file is not None):
            raise ConfigError(
                "credentials: give either api_key_env and api_secret_env, or file (not both)"
            )
        if by_env and not (self.api_key_env and self.api_secret_env):
            raise ConfigError("credentials: api_key_env and api_secret_env go together")


class Credentials:
    """An API key and its secret; never printed (``repr`` and ``str`` hide both)."""

    __slots__ = ("api_key", "api_secret", "passphrase")

    def __init__(self, api_key: str, api_secret: str, passphrase: str = "") -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.passphrase = passphrase

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    __str__ = __repr__


def load_credentials(config: CredentialsConfig, venue: str) -> Credentials:
    """Read the keys from the environment or an owner-only file; refuse anything else."""
    if config.file is not None:
        return _from_file(config.file.expanduser(), venue)
    values = []
    for name in (config.api_key_env, config.api_secret_env):
        value = os.environ.get(name, "")
        if not value:
            raise ConfigError(f"execution.{venue}.live.credentials: ${name} is not set")
        values.append(value)
    passphrase = os.environ.get(config.passphrase_env, "") if config.passphrase_env else ""
    return Credentials(values[0], values[1], passphrase)


def _from_file(path: Path, venue: str) -> Credentials:
    where = f"execution.{venue}.live.credentials.file {path}"
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{where}: readable by others (mode {stat.S_IMODE(mode):03o}); "
            f"keys must be readable by their owner only: chmod 600 {path}"
        )
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{where}: not a readable YAML file") from exc
    if not isinstance(raw, dict) or not raw.get("api_key") or not raw.get("api_secret"):
        raise ConfigError(f"{where}: needs api_key and api_secret")
    return Credentials(str(raw["api_key"]), str(raw["api_secret"]), str(raw.get("passphrase", "")))


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the live engine treats one venue's client (timings in seconds)."""

    reconcile_interval_s: float = 0.0
    """Reconcile this often besides at start and after every stream reconnect (0: never)."""
    trades_lookback_s: float = 300.0
    """Ask for trades from this long before the last one known (ids deduplicate)."""
    query_backoff_s: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    """Delays between the queries settling an unknown outcome (the last one repeats)."""
    query_attempts: int = 12
    absent_after: int = 3
    """Queries answering "no such order" in a row before an unknown submit is rejected."""
    submit_retries: int = 3
    """Retries of a submit refused by a rate limit or unreachable venue (nothing sent)."""
    cancel_after_s: float = 0.0
    """The venue's dead man's switch timeout (0: not armed); re-armed every third of it."""

    def __post_init__(self) -> None:
        if self.reconcile_interval_s < 0 or self.cancel_after_s < 0:
            raise ConfigError("live: reconcile_interval_s and cancel_after_s must be >= 0")
        if not self.query_backoff_s or min(self.query_backoff_s) < 0:
            raise ConfigError("live.query_backoff_s: needs at least one delay >= 0")
        if self.query_attempts < 1 or self.absent_after < 1 or self.submit_retries < 0:
            raise ConfigError("live: query_attempts and absent_after >= 1, submit_retries >= 0")


class LiveConfig(LiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``execution.VENUE.live``: keys, endpoints and engine settings of a live venue."""

    credentials: CredentialsConfig
    testnet: bool = True
    """Use the venue's testnet/sandbox endpoints (the registry's), not production."""
    rest_url: str = ""
    """Override of the REST endpoint ("" : the registry's for ``testnet``)."""
    ws_url: str = ""
    factory: str = ""
    """``package.module:callable`` building the client (a third-party client); "" uses
    the venue registry (``execution.live.registry``)."""
    symbols: tuple[str, ...] = ()
    """Symbols reconciled even without open orders (the traded ones are always)."""

    def settings(self) -> LiveSettings:
        """Return the engine settings part."""
        fields = {f: getattr(self, f) for f in LiveSettings.__struct_fields__}
        return LiveSettings(**fields)
