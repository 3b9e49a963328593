"""Redis clients for the streams transport: explicit timeouts, no hidden retries."""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tradefabric.core.errors import ConfigError
from tradefabric.streams.errors import RedisUnavailableError

DEFAULT_URL = "redis://127.0.0.1:6379/0"

CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)
"""What a lost, refused or timed-out connection raises (``BusyLoadingError`` included)."""


def connect(url: str = DEFAULT_URL, timeout_s: float = 5.0) -> redis.Redis:
    """Return a client for ``url`` (``redis://host:port/db``); connect lazily.

    The client does not retry by itself: the publisher and the consumer own their
    retry loops so they can count, back off and report. Raise ``ConfigError`` for
    a URL that cannot be parsed.
    """
    try:
        return redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
    except ValueError as exc:
        raise ConfigError(f"invalid Redis URL {url!r}: {exc}") from exc


def ping(client: redis.Redis) -> None:
    """Check that Redis answers; raise ``RedisUnavailableError`` otherwise."""
    try:
        client.ping()
    except CONNECTION_ERRORS as exc:
        raise RedisUnavailableError(f"Redis unavailable: {exc}") from exc
