"""Bybit v5 ``retCode`` values, each mapped to the exception type the caller acts on.

Bybit answers most failures with HTTP 200 and a non-zero ``retCode``; what the
caller may do next depends on the code, never on ``retMsg``:

- ``AUTH``: key, signature or timestamp refused; retrying cannot help.
- ``RATE_LIMITED``: nothing acted; wait until ``X-Bapi-Limit-Reset-Timestamp``.
- ``UNKNOWN``: the service failed mid-request; an order request may have acted,
  so it is settled by a query, never by sending it again (a read just failed).
- ``RETRY``: the venue refused for now and nothing acted (order busy).
- ``REJECTED``: a definite refusal (bad parameter, balance, filter, no such order).
"""

from __future__ import annotations

import enum

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    TradefabricError,
    VenueUnavailableError,
)


class RetKind(enum.StrEnum):
    """What a ``retCode`` means for the caller."""

    AUTH = "auth"
    RATE_LIMITED = "rate_limited"
    UNKNOWN = "unknown"
    RETRY = "retry"
    REJECTED = "rejected"


RET_CODES: dict[int, RetKind] = {
    10000: RetKind.UNKNOWN,  # server timeout
    10001: RetKind.REJECTED,  # request parameter error
    10002: RetKind.AUTH,  # timestamp outside recv_window (clock skew)
    10003: RetKind.AUTH,  # API key invalid
    10004: RetKind.AUTH,  # error sign
    10005: RetKind.AUTH,  # permission denied
    10006: RetKind.RATE_LIMITED,  # too many visits (per-UID limit)
    10007: RetKind.AUTH,  # user authentication failed
    10009: RetKind.AUTH,  # IP banned
    10010: RetKind.AUTH,  # unmatched IP
    10016: RetKind.UNKNOWN,  # server error / service restarting
    10018: RetKind.RATE_LIMITED,  # IP rate limit
    10429: RetKind.RATE_LIMITED,  # system-level frequency protection
    110001: RetKind.REJECTED,  # order does not exist (derivatives)
    110003: RetKind.REJECTED,  # price out of the permitted range
    110004: RetKind.REJECTED,  # insufficient wallet balance
    110007: RetKind.REJECTED,  # insufficient available balance
    110008: RetKind.REJECTED,  # order already filled or cancelled
    110017: RetKind.REJECTED,  # reduce-only would increase the position
    110020: RetKind.REJECTED,  # too many active orders
    110072: RetKind.REJECTED,  # duplicate orderLinkId
    110079: RetKind.RETRY,  # order is being processed, try again later
    110094: RetKind.REJECTED,  # order value below the minimum
    170124: RetKind.REJECTED,  # spot: order amount too large
    170131: RetKind.REJECTED,  # spot: insufficient balance
    170134: RetKind.REJECTED,  # spot: too many price decimals
    170135: RetKind.REJECTED,  # spot: too many quantity decimals
    170136: RetKind.REJECTED,  # spot: quantity above the maximum
    170137: RetKind.REJECTED,  # spot: quantity below the minimum / bad lot
    170140: RetKind.REJECTED,  # spot: order value below the minimum
    170141: RetKind.REJECTED,  # spot: duplicate orderLinkId
    170193: RetKind.REJECTED,  # spot: buy price above the band
    170194: RetKind.REJECTED,  # spot: sell price below the band
    170213: RetKind.REJECTED,  # spot: order does not exist
}
"""Known codes; any other non-zero code is a definite rejection."""

NOT_FOUND_CODES = frozenset({110001, 170213})
"""The order is unknown to the venue (a cancel of an order it never had, or closed)."""


def ret_kind(code: int) -> RetKind:
    """Return what ``code`` means (unlisted codes are rejections)."""
    return RET_CODES.get(code, RetKind.REJECTED)


def error_for(
    code: int, message: str, what: str, acts: bool, retry_after_s: float = 1.0
) -> TradefabricError:
    """Return the exception of ``retCode`` ``code`` answering ``what``.

    ``acts`` is True for requests that change the venue's state (create, amend,
    cancel): a service failure there is an unknown outcome, not a plain outage.
    """
    text = f"{what}: Bybit retCode {code} {message}"
    kind = ret_kind(code)
    if kind is RetKind.AUTH:
        return AuthenticationError(text)
    if kind is RetKind.RATE_LIMITED:
        return RateLimitedError(text, retry_after_s)
    if kind is RetKind.UNKNOWN:
        return OrderStatusUnknownError(text) if acts else VenueUnavailableError(text)
    if kind is RetKind.RETRY:
        return VenueUnavailableError(text)
    return OrderRejectedError(text, str(code))
