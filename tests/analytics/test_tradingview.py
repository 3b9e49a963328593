"""TradingView alert webhooks over a real socket: accepted, and every way to be refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import signal
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.conftest import REPO_ROOT
from tradefabric.analytics import topics
from tradefabric.analytics.config import TradingViewConfig
from tradefabric.analytics.signals.base import Direction, Signal
from tradefabric.analytics.tradingview import TradingViewWebhook, symbol_of
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import parse_utc

SECRET = "correct-horse-battery-staple"
NOW = parse_utc("2024-08-08T23:54:30Z")


class Rig:
    def __init__(self, hook: TradingViewWebhook, signals: list[Signal]) -> None:
        self.hook = hook
        self.signals = signals

    async def post(
        self, body: bytes | str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str]]:
        data = body.encode() if isinstance(body, str) else body
        sent = {"Content-Type": "application/json", **(headers or {})}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.hook.url, data=data, headers=sent) as reply,
        ):
            return reply.status, await reply.json()


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    bus = MessageBus()
    signals: list[Signal] = []
    bus.subscribe(topics.EXTERNAL_SIGNALS, signals.append)
    config = TradingViewConfig(secret=SECRET, max_body_bytes=2_048)
    async with TradingViewWebhook(bus, SimClock(start_ns=NOW), config) as hook:
        yield Rig(hook, signals)


def _alert(**changes: object) -> dict[str, object]:
    # What TradingView sends for the message template in the module docstring.
    alert: dict[str, object] = {
        "secret": SECRET, "id": "42-2024-08-08T23:54:00Z", "time": "2024-08-08T23:54:00Z",
        "ticker": "BTCUSDT", "exchange": "BINANCE", "action": "buy", "price": 61234.5,
        "interval": "1", "strategy": "ema-cross", "strength": 0.8, "horizon": "4h",
    }  # fmt: skip
    alert.update(changes)
    return {k: v for k, v in alert.items() if v is not None}


async def test_an_authenticated_alert_becomes_a_signal(rig: Rig) -> None:
    status, reply = await rig.post(json.dumps(_alert()))
    assert (status, reply) == (202, {"accepted": "tradingview:ema-cross"})
    (signal,) = rig.signals
    assert (signal.venue, signal.asset, signal.interval, signal.horizon) == (
        "binance", "BTC/USDT", "1m", "4h",
    )  # fmt: skip
    assert signal.direction is Direction.LONG and signal.strength == 0.8
    assert signal.price == 61234.5 and signal.data_ts == parse_utc("2024-08-08T23:54:00Z")
    assert signal.ts == NOW > signal.data_ts
    assert rig.hook.stats.accepted == 1 and rig.hook.stats.rejected == {}


async def test_a_relay_may_sign_the_body_instead(rig: Rig) -> None:
    body = json.dumps(_alert(secret=None, id="signed-1", action="sell")).encode()
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    status, _ = await rig.post(body, {"X-Signature": signature})
    assert status == 202 and rig.signals[0].direction is Direction.SHORT
    tampered = body.replace(b"61234.5", b"1.0")
    status, reply = await rig.post(tampered, {"X-Signature": signature})
    assert status == 401 and "X-Signature" in reply["error"]


@pytest.mark.parametrize(
    ("body", "status", "reason", "says"),
    [
        (json.dumps(_alert(secret="wrong-secret-wrong-secret")), 401, "unauthorized", "secret"),
        (json.dumps(_alert(secret=None)), 401, "unauthorized", "secret"),
        ("BTCUSDT crossed 61234.5", 400, "bad_json", "not JSON"),
        (json.dumps(_alert(price="61234.5")), 422, "schema", "$.price"),
        (json.dumps(_alert(action="hold")), 422, "schema", "$.action"),
        (json.dumps(_alert(ticker=None)), 422, "schema", "ticker"),
        (json.dumps(_alert(leverage=10)), 422, "schema", "leverage"),
        (json.dumps(_alert(strength=3.0)), 422, "schema", "strength"),
        (json.dumps(_alert(time="yesterday")), 422, "schema", "ISO 8601"),
        (json.dumps(_alert(time="2024-08-08T23:40:00Z")), 409, "stale", "300 s"),
        (json.dumps(_alert(pad="x" * 4_000)), 413, "too_large", "2048 bytes"),
    ],
    ids=["wrong-secret", "no-secret", "text", "price-type", "action", "no-ticker",
         "unknown-field", "strength", "bad-time", "stale", "too-large"],
)  # fmt: skip
async def test_bad_alerts_get_a_clear_4xx_and_are_counted(
    rig: Rig, body: str, status: int, reason: str, says: str
) -> None:
    got, reply = await rig.post(body)
    assert got == status
    assert says in reply["error"]
    assert rig.hook.stats.rejected == {reason: 1} and rig.signals == []


async def test_a_replayed_alert_is_refused(rig: Rig) -> None:
    body = json.dumps(_alert())
    assert (await rig.post(body))[0] == 202
    status, reply = await rig.post(body)
    assert status == 409 and "already accepted" in reply["error"]
    assert rig.hook.stats.rejected == {"replay": 1} and len(rig.signals) == 1


def test_tickers_and_a_short_secret() -> None:
    assert symbol_of("BINANCE:BTCUSDT") == "BTC/USDT"
    assert symbol_of("COINBASE:ETHUSD") == "ETH/USD"
    assert symbol_of("BYBIT:SOLUSDT.P") == "SOL/USDT"
    assert symbol_of("ETH/BTC") == "ETH/BTC"
    with pytest.raises(ConfigError, match="at least 16"):
        TradingViewConfig(secret="short")


@pytest.mark.slow
async def test_the_cli_prints_accepted_signals_and_the_counts() -> None:
    env = {**os.environ, "TF_TV_SECRET": SECRET}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradefabric", "tradingview", "--secret-env", "TF_TV_SECRET",
        "--port", "0", cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        async with asyncio.timeout(60):
            line = (await process.stderr.readline()).decode()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        now = dt.datetime.now(dt.UTC).isoformat()
        async with aiohttp.ClientSession() as session:
            good = json.dumps(_alert(time=now, id="cli-1"))
            bad = json.dumps(_alert(time=now, id="cli-2", secret="wrong-secret-wrong-secret"))
            for body, status in ((good, 202), (bad, 401)):
                async with session.post(url, data=body) as reply:
                    assert reply.status == status
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    first, last = out.decode().strip().splitlines()
    assert json.loads(first)["source"] == "tradingview:ema-cross"
    assert json.loads(last) == {"accepted": 1, "rejected": {"unauthorized": 1}}
