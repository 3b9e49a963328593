"""Kraken's error strings as a table: each prefix maps to the exception a caller acts on.

Kraken answers ``{"error": ["EOrder:Insufficient funds"], "result": {}}`` with HTTP
200; REST and WS v2 share the strings. The table is matched on the string's
prefix (some carry details after a second colon); the first match wins, order
matters (specific before general). An order entry whose outcome the venue cannot
vouch for (``EService:Unavailable``/``Busy``, an internal error) raises
``OrderStatusUnknownError``: the order may exist, a query by its id settles it.
"""

from __future__ import annotations

import enum

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    RequestRejectedError,
    TradefabricError,
    VenueUnavailableError,
)


class Outcome(enum.Enum):
    """What an error means for the request that got it."""

    REJECTED = "rejected"
    """Refused; nothing happened (an order entry raises ``OrderRejectedError``)."""
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    UNAVAILABLE = "unavailable"
    """The venue may or may not have acted: unknown for an order entry."""
    INVALID = "invalid"


ERRORS: tuple[tuple[str, Outcome], ...] = (
    ("EAPI:Invalid key", Outcome.AUTH),
    ("EAPI:Invalid signature", Outcome.AUTH),
    ("EAPI:Invalid nonce", Outcome.AUTH),
    ("EGeneral:Permission denied", Outcome.AUTH),
    ("EAPI:Rate limit exceeded", Outcome.RATE_LIMIT),
    ("EOrder:Rate limit exceeded", Outcome.RATE_LIMIT),
    ("EGeneral:Too many requests", Outcome.RATE_LIMIT),
    ("EService:Unavailable", Outcome.UNAVAILABLE),
    ("EService:Busy", Outcome.UNAVAILABLE),
    ("EService:Market in cancel_only mode", Outcome.REJECTED),
    ("EService:Market in post_only mode", Outcome.REJECTED),
    ("EGeneral:Internal error", Outcome.UNAVAILABLE),
    ("EGeneral:Temporary lockout", Outcome.RATE_LIMIT),
    ("EOrder:Insufficient funds", Outcome.REJECTED),
    ("EOrder:Post only order", Outcome.REJECTED),
    ("EOrder:Orders limit exceeded", Outcome.REJECTED),
    ("EOrder:Unknown order", Outcome.REJECTED),
    ("EOrder:Invalid price", Outcome.REJECTED),
    ("EOrder:Invalid order", Outcome.REJECTED),
    ("EOrder:Order minimum not met", Outcome.REJECTED),
    ("EOrder:Cost minimum not met", Outcome.REJECTED),
    ("EOrder:Tick size check failed", Outcome.REJECTED),
    ("EOrder:Duplicate order", Outcome.REJECTED),
    ("EQuery:Unknown asset pair", Outcome.INVALID),
    ("EGeneral:Invalid arguments", Outcome.INVALID),
    ("ESession:Invalid session", Outcome.AUTH),
)
"""Kraken error prefix -> what it means (docs.kraken.com, "Spot REST errors")."""

RATE_LIMIT_BACKOFF_S = 2.0
"""Kraken sends no Retry-After: wait this long after a rate limit error."""


def outcome_of(error: str) -> Outcome:
    """Return what ``error`` means; an unlisted ``EService``/``EGeneral`` is unavailability."""
    for prefix, outcome in ERRORS:
        if error.startswith(prefix):
            return outcome
    if error.startswith(("EService:", "EGeneral:Internal")):
        return Outcome.UNAVAILABLE
    return Outcome.REJECTED


def as_exception(error: str, *, order_entry: bool) -> TradefabricError:
    """Return the exception of one Kraken error string, for an order entry or any request."""
    outcome = outcome_of(error)
    if outcome is Outcome.AUTH:
        return AuthenticationError(f"kraken refused the credentials: {error}")
    if outcome is Outcome.RATE_LIMIT:
        return RateLimitedError(f"kraken: {error}", RATE_LIMIT_BACKOFF_S)
    if outcome is Outcome.UNAVAILABLE:
        if order_entry:
            return OrderStatusUnknownError(f"kraken: {error}: the order may exist")
        return VenueUnavailableError(f"kraken: {error}")
    if outcome is Outcome.INVALID and not order_entry:
        return RequestRejectedError(f"kraken: {error}")
    return OrderRejectedError(f"kraken: {error}", code=error)
