"""Faults of a private fake venue, injected on command (Python or ``POST /_fault/<kind>``).

- ``lose_response?count=N``: the next N order requests are accepted by the
  ledger, then the connection is cut before the answer (unknown outcome).
- ``unknown_status?count=N``: the next N order requests are accepted, then
  answered with the venue's "status unknown" error (Binance -1007).
- ``delay_ack?seconds=S&count=N``: accepted at once (user events go out), the
  answer waits S seconds; ``fill_before_ack`` is the same for a marketable
  order: its fill reaches the user stream before the ack.
- ``rate_limit?status=429|418&count=N&retry_after=S``: refuse the next N signed
  requests with that status and a Retry-After header, without acting.
- ``drop_user_stream``: cut every user stream connection now.
- ``expire_listen_key``: expire every listen key (the stream gets the venue's
  expiry event, then is closed).
- ``restart``: the venue restarts: its state is kept, every private connection
  is dropped and every WebSocket session must log on again.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping

import msgspec
from aiohttp import web


class ResponseFault(enum.StrEnum):
    """What happens to the answer of an accepted order request."""

    LOSE = "lose"
    UNKNOWN = "unknown"
    DELAY = "delay"


class RateLimit(msgspec.Struct, frozen=True):
    """Refuse a request with ``status`` (429 or 418) and Retry-After ``retry_after_s``."""

    status: int
    retry_after_s: float


class PrivateFaults:
    """Pending faults; a protocol consults them on every private request."""

    def __init__(self) -> None:
        self._responses: list[tuple[ResponseFault, float]] = []
        self._rate_limits: list[RateLimit] = []
        self.drop_hooks: list[Callable[[], None]] = []
        """Called by ``drop_user_stream``: each protocol cuts its user streams."""
        self.expire_hooks: list[Callable[[], None]] = []
        self.restart_hooks: list[Callable[[], None]] = []
        self.injected: dict[str, int] = {}

    def on_responses(self, kind: ResponseFault, count: int = 1, seconds: float = 0.0) -> None:
        """Apply ``kind`` to the next ``count`` accepted order requests."""
        self._responses.extend([(kind, seconds)] * count)

    def rate_limit(self, status: int, count: int = 1, retry_after_s: float = 1.0) -> None:
        """Refuse the next ``count`` signed requests with ``status`` and a Retry-After."""
        if status not in (418, 429):
            raise ValueError(f"rate limit status must be 418 or 429, got {status}")
        self._rate_limits.extend([RateLimit(status, retry_after_s)] * count)

    def take_response(self) -> tuple[ResponseFault, float] | None:
        """Return the fault for the answer of the order just accepted, if any."""
        return self._responses.pop(0) if self._responses else None

    def take_rate_limit(self) -> RateLimit | None:
        """Return the rate limit refusing this request, if any."""
        return self._rate_limits.pop(0) if self._rate_limits else None

    def fire(self, hooks: list[Callable[[], None]]) -> None:
        """Call each hook (drop, expire, restart)."""
        for hook in list(hooks):
            hook()

    def routes(self) -> list[web.RouteDef]:
        """Return ``POST /_fault/<kind>`` for every private fault."""
        return [web.post(f"/_fault/{kind}", self._handler(kind)) for kind in _KINDS]

    def _handler(self, kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            query = request.query
            count = int(query.get("count", "1"))
            seconds = float(query.get("seconds", "1"))
            try:
                self._apply(kind, query, count, seconds)
            except ValueError as exc:
                raise web.HTTPBadRequest(text=f"bad fault parameter: {exc}") from exc
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return web.json_response({"injected": kind})

        return handle

    def _apply(self, kind: str, params: Mapping[str, str], count: int, seconds: float) -> None:
        actions: dict[str, Callable[[], None]] = {
            "lose_response": lambda: self.on_responses(ResponseFault.LOSE, count),
            "unknown_status": lambda: self.on_responses(ResponseFault.UNKNOWN, count),
            "delay_ack": lambda: self.on_responses(ResponseFault.DELAY, count, seconds),
            "fill_before_ack": lambda: self.on_responses(ResponseFault.DELAY, count, seconds),
            "rate_limit": lambda: self.rate_limit(
                int(params.get("status", "429")), count, float(params.get("retry_after", "1"))
            ),
            "drop_user_stream": lambda: self.fire(self.drop_hooks),
            "expire_listen_key": lambda: self.fire(self.expire_hooks),
            "restart": lambda: self.fire(self.restart_hooks),
        }
        actions[kind]()


_KINDS = (
    "lose_response", "unknown_status", "delay_ack", "fill_before_ack", "rate_limit",
    "drop_user_stream", "expire_listen_key", "restart",
)  # fmt: skip
