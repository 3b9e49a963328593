"""TradingView alert webhooks as an authenticated signal source.

TradingView POSTs an alert's message to a webhook URL; a JSON message is sent
as ``application/json``. The message the user writes in the alert (placeholders
filled in by TradingView), e.g.::

    {"secret": "<shared token>", "id": "{{strategy.order.id}}-{{timenow}}",
     "time": "{{timenow}}", "ticker": "{{ticker}}", "exchange": "{{exchange}}",
     "action": "{{strategy.order.action}}", "price": {{close}}, "interval": "{{interval}}",
     "strategy": "ema-cross", "strength": 0.8, "horizon": "4h"}

which arrives as ``{"secret": "...", "id": "42-2024-08-08T23:54:00Z", "time":
"2024-08-08T23:54:00Z", "ticker": "BTCUSDT", "exchange": "BINANCE", "action": "buy",
"price": 61234.5, "interval": "1", ...}``.

Authentication: TradingView cannot sign requests, so the shared ``secret`` goes in
the body; a relay that can sign sends ``X-Signature: <hex HMAC-SHA256 of the body>``
instead. Replay protection: ``time`` must be within ``max_age_s`` of our clock and
an ``id`` is accepted once. Every rejection has its own 4xx status and a one-line
reason naming what was wrong, and is counted by reason; an accepted alert becomes
a ``Signal`` on ``EXTERNAL_SIGNALS``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections import OrderedDict
from typing import Final, Literal

import msgspec
import structlog
from aiohttp import web

from tradefabric.analytics import topics
from tradefabric.analytics.config import TradingViewConfig
from tradefabric.analytics.signals.base import Direction, Evidence, Signal, stamp
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError, DataError
from tradefabric.core.time import parse_utc

log = structlog.get_logger(__name__)

_NS: Final = 1_000_000_000
_QUOTES: Final = ("USDT", "USDC", "USD", "EUR", "BTC", "ETH")
"""Quote currencies a TradingView ticker (``BTCUSDT``) may end with, longest first per prefix."""
_ACTIONS: Final = {"buy": Direction.LONG, "long": Direction.LONG,
                   "sell": Direction.SHORT, "short": Direction.SHORT}  # fmt: skip
_TV_INTERVALS: Final = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m",
                        "60": "1h", "120": "2h", "240": "4h", "D": "1d", "1D": "1d"}  # fmt: skip
"""TradingView's ``{{interval}}`` (minutes, or D) in tradefabric's spelling."""


class TradingViewAlert(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The JSON schema of one alert message."""

    id: str
    time: str
    ticker: str
    action: Literal["buy", "sell", "long", "short"]
    price: float
    secret: str | None = None
    exchange: str = ""
    interval: str = "1m"
    strategy: str = "tradingview"
    strength: float = 1.0
    horizon: str = "1h"


Reason = Literal["too_large", "unauthorized", "bad_json", "schema", "stale", "replay"]
_STATUS: Final[dict[Reason, int]] = {
    "too_large": 413, "unauthorized": 401, "bad_json": 400, "schema": 422,
    "stale": 409, "replay": 409,
}  # fmt: skip


class WebhookStats(msgspec.Struct):
    """Alerts accepted, and rejected by reason."""

    accepted: int = 0
    rejected: dict[str, int] = msgspec.field(default_factory=dict)


class AlertRejectedError(DataError):
    """One alert was refused: ``reason`` says why (it picks the HTTP status)."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class TradingViewWebhook:
    """An HTTP server turning authenticated TradingView alerts into signals on ``bus``."""

    def __init__(self, bus: MessageBus, clock: Clock, config: TradingViewConfig) -> None:
        self.bus = bus
        self.clock = clock
        self.config = config
        self._secret = config.shared_secret().encode()  # resolved now: a missing one fails early
        self.stats = WebhookStats()
        self.url = ""
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._runner: web.AppRunner | None = None
        self._decoder = msgspec.json.Decoder(TradingViewAlert)

    async def __aenter__(self) -> TradingViewWebhook:
        app = web.Application(client_max_size=self.config.max_body_bytes)
        app.router.add_post(self.config.path, self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.config.host, self.config.port).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{self.config.path}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await self._body(request)
            signal = self.accept(body, request.headers.get("X-Signature"))
        except AlertRejectedError as exc:
            self.stats.rejected[exc.reason] = self.stats.rejected.get(exc.reason, 0) + 1
            log.warning("tradingview alert rejected", reason=exc.reason, error=str(exc))
            return web.json_response({"error": str(exc)}, status=_STATUS[exc.reason])
        self.stats.accepted += 1
        self.bus.publish(topics.EXTERNAL_SIGNALS, signal)
        return web.json_response({"accepted": signal.source}, status=202)

    async def _body(self, request: web.Request) -> bytes:
        if (request.content_length or 0) > self.config.max_body_bytes:
            raise AlertRejectedError("too_large", f"body over {self.config.max_body_bytes} bytes")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise AlertRejectedError(
                "too_large", f"body over {self.config.max_body_bytes} bytes"
            ) from None

    def accept(self, body: bytes, signature: str | None) -> Signal:
        """Check one alert body; return its signal, or raise ``AlertRejectedError`` saying why."""
        try:
            alert = self._decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise AlertRejectedError("schema", f"alert does not match the schema: {exc}") from None
        except msgspec.DecodeError as exc:
            raise AlertRejectedError("bad_json", f"body is not JSON: {exc}") from None
        self._authenticate(body, alert, signature)
        now = self.clock.timestamp_ns()
        alert_ns = self._alert_time(alert, now)
        self._remember(alert.id, now)
        return _signal(alert, alert_ns, now)

    def _authenticate(self, body: bytes, alert: TradingViewAlert, signature: str | None) -> None:
        secret = self._secret
        if signature is not None:
            expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, signature.strip().lower()):
                raise AlertRejectedError("unauthorized", "X-Signature does not match the body")
            return
        if alert.secret is None or not hmac.compare_digest(alert.secret.encode(), secret):
            raise AlertRejectedError("unauthorized", "missing or wrong secret")

    def _alert_time(self, alert: TradingViewAlert, now: int) -> int:
        try:
            ts = parse_utc(alert.time)
        except ConfigError:
            raise AlertRejectedError(
                "schema", f"time {alert.time!r} is not an ISO 8601 time"
            ) from None
        if abs(now - ts) > self.config.max_age_s * _NS:
            raise AlertRejectedError(
                "stale", f"time {alert.time} is over {self.config.max_age_s:g} s away"
            )
        if not (math.isfinite(alert.price) and alert.price > 0 and 0 <= alert.strength <= 1):
            raise AlertRejectedError("schema", "price must be positive and strength within [0, 1]")
        return ts

    def _remember(self, alert_id: str, now: int) -> None:
        horizon = now - int(2 * self.config.max_age_s * _NS)
        while self._seen and (
            next(iter(self._seen.values())) < horizon
            or len(self._seen) > self.config.remembered_ids
        ):
            self._seen.popitem(last=False)
        if alert_id in self._seen:
            raise AlertRejectedError("replay", f"alert id {alert_id!r} was already accepted")
        self._seen[alert_id] = now


def symbol_of(ticker: str) -> str:
    """Return tradefabric's symbol for a TradingView ticker: ``BINANCE:BTCUSDT`` -> ``BTC/USDT``."""
    bare = ticker.rpartition(":")[2].upper().removesuffix(".P")
    if "/" in bare:
        return bare
    for quote in _QUOTES:
        if bare.endswith(quote) and len(bare) > len(quote):
            return f"{bare[: -len(quote)]}/{quote}"
    return bare


def _signal(alert: TradingViewAlert, alert_ns: int, now: int) -> Signal:
    interval = _TV_INTERVALS.get(alert.interval, alert.interval)
    return Signal(
        source=f"tradingview:{alert.strategy}",
        venue=alert.exchange.lower() or "tradingview",
        asset=symbol_of(alert.ticker),
        interval=interval,
        direction=_ACTIONS[alert.action],
        horizon=alert.horizon,
        strength=alert.strength,
        evidence=(Evidence(f"tradingview alert {alert.id}", alert.price, 0.0, alert_ns),),
        price=alert.price,
        data_ts=alert_ns,
        ts=stamp(now, alert_ns),
    )
