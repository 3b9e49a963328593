"""The one exception tree of tradefabric.

Callers decide what to do by exception *type*, never by message text:

- ``RetryableError``: the operation may succeed if tried again later
  (a venue is unreachable, a rate limit was hit, a book needs a fresh snapshot).
- ``FatalError``: retrying cannot help (bad config, unreadable file).
- ``DataError``: one piece of input was rejected; the stream it came from goes on.
- ``OrderStatusUnknownError``: a request reached a venue and may have acted; neither
  retry it nor give up on it: ask the venue (query by client order id) what happened.
"""

from __future__ import annotations


class TradefabricError(Exception):
    """Base of every error raised by tradefabric."""


class RetryableError(TradefabricError):
    """An operation failed for a reason that may go away; retry with backoff."""


class VenueUnavailableError(RetryableError):
    """A venue could not be reached or dropped the connection."""


class RateLimitedError(RetryableError):
    """A venue refused a request because a rate limit was hit."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CommitConflictError(RetryableError):
    """Another writer committed to the same catalog partitions first; re-check and retry.

    The catalog writer rebases on it itself (re-reads the keys now stored, drops
    rows already present, commits again); it escapes only when that keeps losing.
    """


class FatalError(TradefabricError):
    """An operation failed for a reason retrying cannot fix."""


class ConfigError(FatalError):
    """Configuration is missing, unknown or invalid."""


class RequestRejectedError(FatalError):
    """A venue refused a request as invalid (HTTP 4xx other than rate limits)."""


class DataSourceError(FatalError):
    """A data file or directory is missing or unreadable."""


class DataError(TradefabricError):
    """One input message was rejected; the stream it belongs to continues."""


class MalformedMessageError(DataError):
    """A message could not be decoded or holds an invalid value (NaN, negative size...)."""


class UnknownStreamError(DataError):
    """A message belongs to a stream or channel this adapter does not handle."""


class StaleMessageError(DataError):
    """A message is older than (or a duplicate of) one already applied."""


class SequenceGapError(DataError):
    """A sequenced stream skipped updates; the state built from it is no longer valid."""


class AuditWriteError(FatalError):
    """The audit log could not be written (disk full, I/O error): trading must halt.

    Never a ``RetryableError``: a node that cannot record what it does must stop
    doing it, not reconnect and carry on.
    """


class OrderStatusUnknownError(TradefabricError):
    """A request reached the venue, but whether it acted is unknown (timeout, -1006/-1007).

    Neither retryable nor fatal: the order stays submitted until a query by its
    client order id settles it. Resubmitting blindly could send it twice.
    """


class AuthenticationError(FatalError):
    """A venue refused our credentials or signature (bad key, clock skew past recvWindow)."""


class OrderRejectedError(RequestRejectedError):
    """A venue refused an order; ``code`` is the venue's own error code ("" when none)."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code
