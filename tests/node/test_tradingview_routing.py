"""A TradingView alert posted to a paper node's webhook is scored and traded by the router.

The node serves ``analytics.tradingview``'s webhook itself (secret from the
environment); an accepted alert becomes an external signal, the analytics
pipeline scores it like a plugin's, and ``kind: router`` routes it to its swing
book (a 4h horizon), which buys on the fake venue's replayed real market.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import msgspec
import pytest

from tests.feed_waits import until
from tradefabric.analytics import topics as analytics_topics
from tradefabric.analytics.config import TradingViewConfig
from tradefabric.analytics.signals.base import Signal
from tradefabric.core.errors import ConfigError
from tradefabric.demo.fake_venue import paper_on_fake_venue
from tradefabric.demo.pipeline import demo_config
from tradefabric.node.trading_node import TradingNode
from tradefabric.strategies.router import ROUTED, RoutedSignal

SECRET_ENV = "TF_TEST_TRADINGVIEW_SECRET"
SECRET = "tradingview-test-secret-0123"


async def _post_when_served(nodes: list[TradingNode], alert: dict[str, object]) -> int:
    await until(lambda: nodes and nodes[0].sources.webhook and nodes[0].sources.webhook.url, 60)
    webhook = nodes[0].sources.webhook
    assert webhook is not None
    async with aiohttp.ClientSession() as session, session.post(webhook.url, json=alert) as reply:
        return reply.status


def test_a_tradingview_alert_is_scored_routed_and_filled(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    base = demo_config()
    assert base.analytics is not None
    # No plugin signals: whatever the router does here comes from the alert.
    analytics = msgspec.structs.replace(
        base.analytics, signals=(), tradingview=TradingViewConfig(secret_env=SECRET_ENV)
    )
    config = msgspec.structs.replace(base, analytics=analytics)
    alert = {
        "secret": SECRET, "id": "tv-1", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ticker": "BINANCE:BTCUSDT", "exchange": "BINANCE", "action": "buy", "price": 61234.5,
        "interval": "60", "strategy": "ema-cross", "strength": 0.8, "horizon": "4h",
    }  # fmt: skip
    nodes: list[TradingNode] = []
    scored: list[Signal] = []
    routed: list[RoutedSignal] = []

    def on_node(node: TradingNode) -> None:
        nodes.append(node)
        node.bus.subscribe(analytics_topics.SIGNALS, scored.append)
        node.bus.subscribe(ROUTED, routed.append)

    async def scenario() -> int:
        run = asyncio.create_task(
            paper_on_fake_venue(
                config, shared_data / "binance_ws" / "spot_btcusdt_20240808.gz",
                tmp_path / "run", speed=30.0, on_node=on_node,
            )
        )  # fmt: skip
        status = await _post_when_served(nodes, alert)
        await run
        return status

    assert asyncio.run(scenario()) == 202  # accepted
    assert [s.source for s in scored] == ["tradingview:ema-cross"]
    assert 0.0 <= scored[0].confidence <= 1.0  # scored like any plugin's signal
    assert [(r.source, r.book, r.taken) for r in routed] == [
        ("tradingview:ema-cross", "swing", True)
    ]
    fills = [
        json.loads(line) for line in (tmp_path / "run" / "fills.jsonl").read_text().splitlines()
    ]
    swing = [f for f in fills if f["strategy_id"] == "router.swing"]
    assert len(swing) == 1 and swing[0]["side"] == "buy" and swing[0]["venue"] == "binance"


def test_a_missing_webhook_secret_fails_the_node_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=SECRET_ENV):
        TradingViewConfig(secret_env=SECRET_ENV).shared_secret()
    with pytest.raises(ConfigError, match="exactly one"):
        TradingViewConfig(secret=SECRET, secret_env=SECRET_ENV)
