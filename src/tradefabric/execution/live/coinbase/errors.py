"""Coinbase Advanced Trade refusals as a table: error codes and HTTP statuses -> exceptions.

A refused create is HTTP 200 with ``{"success": false, "error_response": {"error":
"INSUFFICIENT_FUND", ...}}``; a refused cancel is ``{"success": false,
"failure_reason": "UNKNOWN_CANCEL_ORDER"}`` in ``results``. Transport-level refusals are
HTTP statuses: 401 (JWT refused), 429 (rate limit), 5xx (the venue may have acted).
"""

from __future__ import annotations

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    RequestRejectedError,
    TradefabricError,
    VenueUnavailableError,
)

DEFAULT_RETRY_AFTER_S = 1.0
"""Coinbase's 429 usually carries no Retry-After: wait this long."""


def http_error(
    status: int, text: str, *, order_entry: bool, retry_after: str | None = None
) -> TradefabricError:
    """Return the exception of a non-2xx answer (``text`` is its body, never secret)."""
    detail = f"coinbase HTTP {status}: {text[:200]}"
    if status in (401, 403):
        return AuthenticationError(detail)
    if status == 429:
        wait = float(retry_after) if retry_after else DEFAULT_RETRY_AFTER_S
        return RateLimitedError(detail, wait)
    if status >= 500:
        if order_entry:
            return OrderStatusUnknownError(f"{detail}: the order may exist")
        return VenueUnavailableError(detail)
    if order_entry:
        return OrderRejectedError(detail, code=str(status))
    return RequestRejectedError(detail)


def create_refused(error: str, message: str) -> OrderRejectedError:
    """Return the refusal of a create (``error_response.error``, e.g. ``INSUFFICIENT_FUND``)."""
    return OrderRejectedError(f"coinbase refused the order: {error}: {message}", code=error)
