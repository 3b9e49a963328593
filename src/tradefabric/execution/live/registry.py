"""Venue name -> live client factory: which client a ``mode: live`` venue gets (data, no branches).

A venue package registers its client once, at import::

    register_live_client("binance", build_client, testnet_urls=(REST, WS))

and need not touch this module: on the first lookup of a venue not registered yet,
the registry imports ``tradefabric.venues.<base>.private.factory`` (``<base>`` is the
venue name up to its first ``-``: ``binance-usdm`` -> ``binance``). That module
either calls ``register_live_client`` itself, or exposes ``build_client`` (and
``VENUES``, the names it serves; ``TESTNET_REST_URL``/``TESTNET_WS_URL``), which is
registered for it. A config may also name any factory directly
(``live: {factory: package.module:callable}``), for a third-party client.

Every factory has one signature::

    build_client(venue, credentials, instruments, *, testnet, rest_url, ws_url)

``credentials`` has ``api_key``/``api_secret`` (``execution.live.config.Credentials``);
``instruments`` maps the venue's unified symbols to their ``Instrument``; an empty URL
means the factory's default for ``testnet``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec

from tradefabric.core.errors import ConfigError
from tradefabric.execution.live.config import Credentials, LiveConfig
from tradefabric.execution.live.protocol import LiveExecutionClient
from tradefabric.model.instrument import Instrument


class LiveClientFactory(Protocol):
    """What builds one venue's live client (see the module docstring)."""

    def __call__(
        self,
        venue: str,
        credentials: Credentials,
        instruments: Mapping[str, Instrument],
        *,
        testnet: bool,
        rest_url: str,
        ws_url: str,
    ) -> LiveExecutionClient:
        """Return the venue's client, not connected yet."""
        ...


class LiveClientEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One registered venue: its factory and the URLs that are not production."""

    venue: str
    factory: Callable[..., Any]
    testnet_urls: tuple[str, ...] = ()
    """The venue's testnet/sandbox endpoints (``mode: live`` there needs no confirmation)."""


_REGISTRY: dict[str, LiveClientEntry] = {}
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def register_live_client(
    venue: str, factory: Callable[..., Any], *, testnet_urls: tuple[str, ...] = ()
) -> None:
    """Make ``factory`` build the live client of ``venue`` (replacing any earlier one)."""
    _REGISTRY[venue] = LiveClientEntry(venue=venue, factory=factory, testnet_urls=testnet_urls)


def registered_venues() -> tuple[str, ...]:
    """Return the venues registered so far (imports by convention add more on lookup)."""
    return tuple(sorted(_REGISTRY))


def live_client_entry(venue: str, config: LiveConfig) -> LiveClientEntry:
    """Return the entry building ``venue``'s client: the config's factory or the registry's."""
    if config.factory:
        return LiveClientEntry(venue=venue, factory=_import(config.factory, venue))
    entry = _REGISTRY.get(venue)
    if entry is None:
        _import_venue_package(venue)
        entry = _REGISTRY.get(venue)
    if entry is None:
        raise ConfigError(
            f"execution.{venue}.mode: live: no live client for {venue!r} "
            f"(registered: {', '.join(registered_venues()) or 'none'}); set live.factory "
            "to package.module:callable for another client"
        )
    return entry


def build_live_client(
    venue: str,
    config: LiveConfig,
    credentials: Credentials,
    instruments: Mapping[str, Instrument],
) -> LiveExecutionClient:
    """Build ``venue``'s live client as ``config`` says; its name must be ``venue``."""
    entry = live_client_entry(venue, config)
    client: LiveExecutionClient = entry.factory(
        venue, credentials, instruments,
        testnet=config.testnet, rest_url=config.rest_url, ws_url=config.ws_url,
    )  # fmt: skip
    if client.name != venue:
        raise ConfigError(f"execution.{venue}: the live client calls itself {client.name!r}")
    return client


def needs_confirmation(venue: str, config: LiveConfig) -> str:
    """Return why trading ``venue`` live may reach production ("" when it cannot).

    Safe without ``--confirm-live``: ``testnet: true`` with no URL override (the
    factory's testnet default), or every given URL on loopback (a local fake venue)
    or among the registry's testnet URLs.
    """
    urls = [u for u in (config.rest_url, config.ws_url) if u]
    entry = None if config.factory else _REGISTRY.get(venue)
    testnet = entry.testnet_urls if entry is not None else ()
    unsafe = [u for u in urls if urlsplit(u).hostname not in _LOOPBACK and u not in testnet]
    if unsafe:
        return f"execution.{venue}: {', '.join(unsafe)} is not a testnet or local endpoint"
    if not config.testnet and not urls:
        return f"execution.{venue}: testnet: false trades on the venue's production endpoints"
    return ""


def _import(path: str, venue: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"execution.{venue}.live.factory: cannot load {path!r}: {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"execution.{venue}.live.factory: {path!r} is not callable")
    return factory  # type: ignore[no-any-return]


def _import_venue_package(venue: str) -> None:
    base = venue.split("-", 1)[0]
    name = f"tradefabric.venues.{base}.private.factory"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return  # no such venue package: the caller names what is registered
        raise
    if venue in _REGISTRY:
        return  # the module registered itself
    build = getattr(module, "build_client", None)
    served = getattr(module, "VENUES", (base,))
    if callable(build) and venue in served:
        names = ("TESTNET_REST_URL", "TESTNET_WS_URL")
        urls = tuple(u for u in (getattr(module, n, "") for n in names) if u)
        register_live_client(venue, build, testnet_urls=urls)
