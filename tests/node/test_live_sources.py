"""A paper node keeps its macro readings current itself: CoinGecko (a local server speaking
its API) is read on schedule while the feed runs, the readings stored in the catalog and
handed to the analytics pipeline's confidence scorer."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from tests.analytics.conftest import read_month
from tests.analytics.fake_coingecko import FakeCoinGecko, hourly_truth
from tradefabric.analytics.coingecko import CoinGeckoConfig
from tradefabric.analytics.config import MacroConfig
from tradefabric.analytics.macro import StoredMacro
from tradefabric.demo.fake_venue import paper_on_fake_venue
from tradefabric.demo.pipeline import demo_config
from tradefabric.node.trading_node import TradingNode


def test_a_paper_node_reads_coingecko_on_schedule_and_scores_with_it(
    shared_data: Path, tmp_path: Path
) -> None:
    truth = hourly_truth(read_month(shared_data, "BTC/USDT"), read_month(shared_data, "ETH/USDT"))
    catalog = tmp_path / "catalog"
    nodes: list[TradingNode] = []

    async def scenario() -> None:
        async with FakeCoinGecko(truth, now_s=int(time.time())) as server:
            base = demo_config()
            assert base.analytics is not None
            coingecko = CoinGeckoConfig(base_url=server.url, min_interval_s=0.0, cache_ttl_s=0.0)
            analytics = msgspec.structs.replace(
                base.analytics,
                macro=MacroConfig(source="coingecko", coingecko=coingecko, refresh_s=0.05),
            )
            config = msgspec.structs.replace(
                base,
                analytics=analytics,
                data=msgspec.structs.replace(base.data, catalog=catalog),
            )
            recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
            await paper_on_fake_venue(config, recording, None, on_node=nodes.append)

    asyncio.run(scenario())
    scheduled = nodes[0].sources.scheduled
    assert scheduled is not None
    assert scheduled.fetches >= 1 and scheduled.failures == 0, scheduled.last_error
    pipeline = nodes[0].analytics
    assert pipeline is not None and pipeline.core.context.macro is scheduled
    assert len(StoredMacro(catalog)) == len(scheduled) >= 1
