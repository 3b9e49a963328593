"""Binance's error codes as tradefabric's exceptions: a table, decided by code and HTTP status.

Retry decisions are the caller's, by exception type (``core.errors``): a
``RateLimitedError`` carries the venue's Retry-After, an ``OrderStatusUnknownError``
is settled by a query, never by sending again.
"""

from __future__ import annotations

from typing import Final

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TradefabricError,
    VenueUnavailableError,
)

UNKNOWN_STATUS: Final = frozenset({-1006, -1007})
"""The request reached the venue and may have acted: -1006 unexpected answer of the
message bus, -1007 backend timeout ("execution status unknown")."""
AUTH: Final = frozenset({-1021, -1022, -2014, -2015, -1125, -4056})
"""Timestamp outside recvWindow, bad signature, bad key or permissions, unknown listen key,
a key the request cannot use."""
RATE_LIMIT: Final = frozenset({-1003, -1015})
NOT_FOUND: Final = frozenset({-2013})
"""A query for an order the venue never had (or no longer knows)."""
UNKNOWN_ORDER: Final = frozenset({-2011})
"""A cancel of an order that is not open (filled, cancelled, or never there)."""
POST_ONLY_WOULD_TAKE: Final = frozenset({-5022})


def error_for(
    status: int, code: int, msg: str, *, order_entry: bool, retry_after_s: float | None = None
) -> TradefabricError:
    """Return the exception of a Binance error answer (``code`` 0 when the body had none)."""
    text = f"binance {status} {code}: {msg}"
    if status in (418, 429) or code in RATE_LIMIT:
        return RateLimitedError(text, retry_after_s if retry_after_s is not None else 1.0)
    if code in UNKNOWN_STATUS or (status >= 500 and order_entry):
        return OrderStatusUnknownError(text)
    if code in AUTH or status in (401, 403):
        return AuthenticationError(text)
    if status >= 500:
        return VenueUnavailableError(text)
    return OrderRejectedError(text, str(code))


def lost(reason: str, *, order_entry: bool) -> TradefabricError:
    """Return the exception of a request whose answer never came (timeout, connection lost)."""
    if order_entry:
        return OrderStatusUnknownError(f"binance: no answer ({reason}); the order may be live")
    return VenueUnavailableError(f"binance: no answer ({reason})")
