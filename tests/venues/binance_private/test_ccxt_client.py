"""The generic ccxt client, through ccxt's own Binance class, against the fake Binance API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.venues.binance_private.conftest import HMAC, Recorder, Venue, order, wait_until
from tradefabric.core.errors import OrderRejectedError, RateLimitedError
from tradefabric.execution.live.ccxt_client import CcxtExecutionClient
from tradefabric.model.orders import OrderSide, OrderStatus

Ccxt = tuple[Venue, CcxtExecutionClient, Recorder]


def _binance(venue: Venue, cls: type = ccxt.binance, host: str = "https://api.binance.com") -> Any:
    """Return ccxt's own Binance class with its URLs pointed at the fake venue."""
    market = "linear" if cls is ccxt.binanceusdm else "spot"
    exchange = cls({
        "apiKey": HMAC.api_key, "secret": HMAC.api_secret,
        "options": {"fetchMarkets": {"types": [market]}, "fetchCurrencies": False,
                    "fetchMargins": False, "warnOnFetchOpenOrdersWithoutSymbol": False},
    })  # fmt: skip
    api = exchange.urls["api"]
    for name, url in list(api.items()):
        if isinstance(url, str) and url.startswith(host):
            api[name] = url.replace(host, venue.server.http_url)
    return exchange


@pytest.fixture
async def ccxt_client(spot_venue: Venue) -> AsyncIterator[Ccxt]:
    client = CcxtExecutionClient("binance", _binance(spot_venue), poll_s=0.05)
    recorder = Recorder()
    await client.connect(recorder)
    yield spot_venue, client, recorder
    await client.close()


async def test_orders_queries_and_mass_status_through_ccxt(ccxt_client: Ccxt) -> None:
    venue, client, recorder = ccxt_client
    bid, _ask = venue.book_touch()
    venue_id = await client.submit(order("cx-1", OrderSide.BUY, 0.001, bid - 400))
    found = await client.query_order("BTC/USDT", "cx-1")
    assert found is not None
    assert (found.venue_order_id, found.status) == (venue_id, OrderStatus.ACCEPTED)
    assert venue.exchange.order("BTCUSDT", "cx-1") is not None
    await client.submit(order("cx-mkt", OrderSide.BUY, 0.0005))
    await wait_until(lambda: any(t.client_order_id == "cx-mkt" for t in recorder.trades))
    await client.cancel("BTC/USDT", "cx-1")
    assert venue.exchange.open_orders() == []
    status = await client.mass_status(("BTC/USDT",), 0)
    assert status.orders == ()
    assert sorted(t.trade_id for t in status.trades) == sorted(
        str(f.trade_id) for f in venue.exchange.fills
    )
    assert {t.client_order_id for t in status.trades} == {"cx-mkt"}
    usdt = next(b for b in status.balances if b.asset == "USDT")
    assert usdt.free == pytest.approx(venue.exchange.account.balance("USDT").free, abs=1e-8)
    assert await client.query_order("BTC/USDT", "never") is None


async def test_ccxt_errors_become_tradefabric_s_by_type(ccxt_client: Ccxt) -> None:
    venue, client, _recorder = ccxt_client
    _bid, ask = venue.book_touch()
    with pytest.raises(OrderRejectedError):
        await client.submit(order("cx-po", OrderSide.BUY, 0.001, ask + 5, post_only=True))
    assert venue.exchange.order("BTCUSDT", "cx-po") is None
    await venue.fault("rate_limit", status=429, retry_after=0.2, count=50)
    with pytest.raises(RateLimitedError):
        await client.query_order("BTC/USDT", "x")


async def test_usdm_positions_through_ccxt_s_binanceusdm(usdm_venue: Venue) -> None:
    exchange = _binance(usdm_venue, ccxt.binanceusdm, "https://fapi.binance.com")
    client = CcxtExecutionClient("binance-usdm", exchange, poll_s=0.05)
    recorder = Recorder()
    await client.connect(recorder)
    try:
        symbol = "BTC/USDT:USDT"
        await client.submit(
            order("cu-1", OrderSide.SELL, 0.003, symbol=symbol, venue="binance-usdm")
        )
        status = await client.mass_status((symbol,), 0)
        assert [(p.symbol, p.quantity) for p in status.positions] == [(symbol, -0.003)]
        held = usdm_venue.exchange.account.position("BTCUSDT")
        assert status.positions[0].entry_price == pytest.approx(held.entry_price)
        assert sorted(t.trade_id for t in status.trades) == sorted(
            str(f.trade_id) for f in usdm_venue.exchange.fills
        )
    finally:
        await client.close()
