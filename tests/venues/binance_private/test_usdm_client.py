"""The Binance USD-M client against the fake venue's private API, over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.venues.binance_private.conftest import HMAC, Recorder, Venue, order, wait_until
from tradefabric.core.errors import OrderRejectedError, OrderStatusUnknownError
from tradefabric.execution.live.binance.usdm import BinanceUsdmClient
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderStatus

SYMBOL = "BTC/USDT:USDT"
Usdm = tuple[Venue, BinanceUsdmClient, Recorder]


@pytest.fixture
async def usdm(usdm_venue: Venue) -> AsyncIterator[Usdm]:
    client = BinanceUsdmClient(usdm_venue.config("binance-usdm"), HMAC)
    recorder = Recorder()
    await client.connect(recorder)
    yield usdm_venue, client, recorder
    await client.close()


def _order(
    cid: str, side: OrderSide, qty: float, price: float | None = None, *, post_only: bool = False
) -> OrderSnapshot:
    return order(cid, side, qty, price, symbol=SYMBOL, venue="binance-usdm", post_only=post_only)


async def test_a_position_is_reported_on_the_stream_and_in_the_mass_status(usdm: Usdm) -> None:
    venue, client, recorder = usdm
    await client.submit(_order("short-1", OrderSide.SELL, 0.003))
    await wait_until(lambda: any(p.quantity == pytest.approx(-0.003) for p in recorder.positions))
    assert recorder.positions[-1].symbol == SYMBOL
    status = await client.mass_status((SYMBOL,), 0)
    held = venue.exchange.account.position("BTCUSDT")
    assert [(p.symbol, p.quantity) for p in status.positions] == [(SYMBOL, pytest.approx(-0.003))]
    assert status.positions[0].entry_price == pytest.approx(held.entry_price, abs=1e-8)
    assert sorted(t.trade_id for t in status.trades) == sorted(
        str(f.trade_id) for f in venue.exchange.fills
    )
    usdt = next(b for b in status.balances if b.asset == "USDT")
    assert usdt.total == pytest.approx(venue.exchange.account.balance("USDT").free, abs=1e-8)


async def test_a_post_only_that_would_take_is_refused_with_5022(usdm: Usdm) -> None:
    venue, client, _recorder = usdm
    bid, _ask = venue.book_touch()
    with pytest.raises(OrderRejectedError) as refused:
        await client.submit(_order("gtx-1", OrderSide.SELL, 0.002, bid - 1.0, post_only=True))
    assert refused.value.code == "-5022"
    assert venue.exchange.order("BTCUSDT", "gtx-1") is None


async def test_an_expired_listen_key_is_replaced_and_the_stream_resumes(usdm: Usdm) -> None:
    venue, client, recorder = usdm
    first_key = client.stream.listen_key
    await venue.fault("expire_listen_key")
    await wait_until(lambda: recorder.reconnects == ["binance-usdm"])
    assert client.stream.listen_key != first_key
    bid, _ask = venue.book_touch()
    await client.submit(_order("after-1", OrderSide.BUY, 0.002, bid - 300.0))
    await wait_until(lambda: OrderStatus.ACCEPTED in recorder.statuses("after-1"))


async def test_the_heartbeat_arms_countdown_cancel_all(usdm: Usdm) -> None:
    venue, client, recorder = usdm
    bid, _ask = venue.book_touch()
    await client.submit(_order("dms-1", OrderSide.BUY, 0.002, bid - 400.0))
    assert client.supports_cancel_after
    await client.heartbeat(0.2)
    await client.heartbeat(0.3)  # re-armed: the first deadline no longer counts
    await wait_until(lambda: OrderStatus.CANCELLED in recorder.statuses("dms-1"), 5.0)
    assert venue.exchange.open_orders() == []


async def test_a_lost_answer_is_unknown_and_the_query_finds_the_order(usdm: Usdm) -> None:
    venue, client, _recorder = usdm
    bid, _ask = venue.book_touch()
    await venue.fault("lose_response")
    with pytest.raises(OrderStatusUnknownError):
        await client.submit(_order("lost-1", OrderSide.BUY, 0.002, bid - 500.0))
    found = await client.query_order(SYMBOL, "lost-1")
    assert found is not None and found.status is OrderStatus.ACCEPTED
    assert venue.exchange.placed == 1
