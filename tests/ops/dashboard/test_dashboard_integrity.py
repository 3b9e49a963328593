"""The integrity panel in a real browser: a node with ``integrity:`` consumes the real
six-venue March 2023 candles (USD, USDT, USDC quotes) from its bus; the page shows the
consensus and each venue's deviation exactly as the control service reads them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.ops.dashboard.browser import chromium, money
from tradefabric.core.clock import SimClock
from tradefabric.core.time import parse_utc
from tradefabric.data.topics import CANDLES
from tradefabric.integrity.batch import Selection, candle_symbols, iter_candles
from tradefabric.integrity.config import IntegrityConfig
from tradefabric.model.data import Candle
from tradefabric.node.kernel import DataConfig, TradingConfig
from tradefabric.node.trading_node import RunMode, TradingNode
from tradefabric.ops.dashboard.config import DashboardConfig
from tradefabric.ops.dashboard.server import DashboardServer, serve_dashboard
from tradefabric.risk.audit import AuditLog
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.importers import import_path
from tradefabric.strategies.ema_cross import EmaCrossConfig

pytestmark = pytest.mark.slow


def _candles(shared_data: Path, root: Path) -> list[Candle]:
    """Return two hours of BTC and conversion-pair candles, in open-time order."""
    import_path(shared_data / "multi_exchange_1m_2023-03", "multi-exchange",
                CatalogWriter(root, source="test"))  # fmt: skip
    catalog = Catalog(root)
    selection = Selection("BTC", ts_from=parse_utc("2023-03-01T00:00"),
                          ts_to=parse_utc("2023-03-01T02:00"))  # fmt: skip
    symbols = candle_symbols(catalog, selection, IntegrityConfig())
    return [c for batch in iter_candles(catalog, selection, symbols) for c in batch]


def _check_page(server: DashboardServer, tmp_path: Path) -> None:
    view = server.service.integrity()
    # BTC, and the stablecoins its USDT and USDC quotes are converted with.
    assert view.configured and [c.asset for c in view.consensus] == ["BTC", "USDC", "USDT"]
    btc = view.consensus[0]
    assert btc.valid and btc.venues >= 3 and 20_000 < btc.price < 30_000
    assert {d.venue for d in view.deviations} >= {"coinbase", "kraken", "binanceus"}
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url + "/")
        page.wait_for_selector("#consensus td:not(.empty)")
        rows = page.eval_on_selector_all(
            "#consensus tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
        )
        assert rows == [
            [c.asset, money(c.price), f"{c.mad_bps:.2f}", str(c.venues), "yes" if c.valid else "no"]
            for c in view.consensus
        ]
        shown = page.eval_on_selector_all(
            "#deviations tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))"
        )
        expected = [
            [d.venue, d.symbol, money(d.price_usd), money(d.consensus), f"{d.deviation_bps:.2f}",
             f"{d.zscore:.2f}"]
            for d in view.deviations
        ]  # fmt: skip
        assert shown == expected
        assert page.text_content("#integrity-note") == ""
        path = tmp_path / "dashboard_integrity.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")


def test_the_page_shows_consensus_against_each_venue(shared_data: Path, tmp_path: Path) -> None:
    candles = _candles(shared_data, tmp_path / "catalog")

    async def main() -> None:
        config = TradingConfig(
            data=DataConfig(recording=shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"),
            strategies=(
                EmaCrossConfig(id="ema", interval="1s", fast=3, slow=12, notional=1_000.0),
            ),
            integrity=IntegrityConfig(),
        )
        node = TradingNode(config, RunMode.BACKTEST, SimClock(), None,
                           audit=AuditLog(tmp_path / "audit.jsonl"))  # fmt: skip
        server = serve_dashboard(node, DashboardConfig(port=0, auth="none"), None)
        try:
            for candle in candles:  # on the node's loop, as its feeds would deliver them
                node.bus.publish(CANDLES, candle)
            await asyncio.to_thread(_check_page, server, tmp_path)
        finally:
            await asyncio.to_thread(server.stop)
            node.kernel.audit.close()

    asyncio.run(main())
