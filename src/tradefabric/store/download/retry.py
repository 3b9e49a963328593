"""ccxt errors mapped to tradefabric's error tree by type, and retried with backoff.

ccxt raises its own exception classes; which of ours each becomes is a table
read top to bottom (the first base class that matches wins), so retrying is
decided by type and never by reading a message:

- rate limits (HTTP 429/418, Binance -1003) -> ``RateLimitedError``, waits the
  venue's ``Retry-After`` (or the backoff, whichever is longer), then retries;
- failures retrying may fix (ccxt's ``OperationFailed``: timeouts, refused
  connections, 5xx, maintenance, Binance -1001) -> ``VenueUnavailableError``,
  retried with backoff;
- an unknown symbol -> ``ConfigError``; any other refusal -> ``RequestRejectedError``,
  not retried.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, Final, TypeVar

# ccxt ships no type information; its exception classes are Any here.
import structlog

from tradefabric.core.errors import (
    ConfigError,
    RateLimitedError,
    RequestRejectedError,
    RetryableError,
    TradefabricError,
    VenueUnavailableError,
)
from tradefabric.data.feed.backoff import Backoff

log = structlog.get_logger(__name__)

T = TypeVar("T")

ErrorFactory = Callable[[str, float], TradefabricError]
"""Build our error from the ccxt message and the venue's Retry-After (seconds)."""


@functools.cache
def ccxt_errors() -> tuple[tuple[Any, ErrorFactory], ...]:
    """Return the table: ccxt exception class -> our error, most specific first."""
    # Imported on first use: ccxt takes a third of a second to import, and every
    # command of the CLI would pay for it otherwise.
    import ccxt  # noqa: PLC0415

    return (
        (ccxt.RateLimitExceeded, RateLimitedError),
        (ccxt.DDoSProtection, RateLimitedError),
        (ccxt.OperationFailed, lambda msg, _after: VenueUnavailableError(msg)),
        (ccxt.BadSymbol, lambda msg, _after: ConfigError(msg)),
        (ccxt.BaseError, lambda msg, _after: RequestRejectedError(msg)),
    )


DEFAULT_RETRY_AFTER_S: Final = 1.0


def translate(exc: Exception, retry_after_s: float = DEFAULT_RETRY_AFTER_S) -> TradefabricError:
    """Return the tradefabric error a ccxt exception stands for (else ``RequestRejectedError``)."""
    message = _describe(exc)
    for ccxt_type, factory in ccxt_errors():
        if isinstance(exc, ccxt_type):
            return factory(message, retry_after_s)
    return RequestRejectedError(message)


def _describe(exc: BaseException) -> str:
    """Return ccxt's message, with the operating system's reason when a socket failed."""
    root: BaseException = exc
    while root.__cause__ is not None or root.__context__ is not None:
        root = root.__cause__ or root.__context__  # type: ignore[assignment]
    if root is not exc and isinstance(root, OSError) and root.strerror:
        return f"{exc}: {root.strerror}"
    return str(exc)


class Retrier:
    """Call an exchange method; retry retryable failures with backoff, count what happened."""

    def __init__(
        self,
        exchange: Any,
        max_attempts: int = 6,
        max_wait_s: float = 300.0,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._exchange = exchange
        self._max_attempts = max_attempts
        self._max_wait_s = max_wait_s
        self._backoff = backoff or Backoff(initial_s=0.5, maximum_s=30.0)
        self._sleep = sleep
        self.requests = 0
        self.rate_limited = 0
        self.failures = 0
        self.waited_s = 0.0

    def call(self, what: str, request: Callable[[], T]) -> T:
        """Return ``request()``; raise the last error once ``max_attempts`` are used up.

        ``what`` names the request in logs. Errors that retrying cannot fix are raised at
        once, and so is a rate limit whose ``Retry-After`` exceeds ``max_wait_s`` (a ban).
        """
        self._backoff.reset()
        error: RetryableError
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._once(request)
            except RateLimitedError as exc:
                self.rate_limited += 1
                if attempt == self._max_attempts or exc.retry_after_s > self._max_wait_s:
                    raise
                delay, error = max(exc.retry_after_s, self._backoff.next_delay()), exc
            except RetryableError as exc:
                self.failures += 1
                if attempt == self._max_attempts:
                    raise
                delay, error = self._backoff.next_delay(), exc
            log.warning(
                "download_retry", request=what, attempt=attempt, delay_s=round(delay, 3),
                error=str(error),
            )  # fmt: skip
            self.waited_s += delay
            self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")

    def _once(self, request: Callable[[], T]) -> T:
        self.requests += 1
        base_error = ccxt_errors()[-1][0]
        try:
            return request()
        except base_error as exc:
            raise translate(exc, self._retry_after()) from exc

    def _retry_after(self) -> float:
        headers = getattr(self._exchange, "last_response_headers", None) or {}
        try:
            return float(headers.get("Retry-After", DEFAULT_RETRY_AFTER_S))
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_S
