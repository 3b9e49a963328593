"""The Binance USD-M client against the fake venue's private API, over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.venues.binance_private.conftest import HMAC, Recorder, Venue, order, wait_until
from tradefabric.core.errors import OrderRejectedError, OrderStatusUnknownError
from tradefabric.execution.live.binance.usdm import BinanceUsdmClient
from tradefabric.execution.precision import Increment
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderStatus

SYMBOL = "BTC/USDT:USDT"
Usdm = tuple[Venue, BinanceUsdmClient, Recorder]

TICK = Increment("0.10")
"""USD-M BTCUSDT's tick: the test computes the wire price the way the client must."""


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


async def test_a_dropped_user_stream_reconnects_and_the_key_is_kept_alive(
    usdm_venue: Venue,
) -> None:
    config = usdm_venue.config("binance-usdm", keepalive_s=0.1)
    client = BinanceUsdmClient(config, HMAC)
    recorder = Recorder()
    await client.connect(recorder)
    try:
        requests = usdm_venue.server.rest_requests
        await wait_until(lambda: requests["/fapi/v1/listenKey"] >= 3)  # POST, then PUTs
        key = client.stream.listen_key
        await usdm_venue.fault("drop_user_stream")
        await wait_until(lambda: recorder.reconnects == ["binance-usdm"])
        assert client.stream.listen_key == key  # still alive: the venue hands the same key back
        await client.submit(_order("back-1", OrderSide.SELL, 0.002))
        await wait_until(lambda: OrderStatus.FILLED in recorder.statuses("back-1"))
    finally:
        await client.close()


async def test_a_limit_is_amended_in_place(usdm: Usdm) -> None:
    venue, client, recorder = usdm
    assert client.supports_modify
    bid, _ask = venue.book_touch()
    venue_id = await client.submit(_order("amend-1", OrderSide.BUY, 0.002, bid - 400.0))
    await client.modify(SYMBOL, "amend-1", 0.004, bid - 300.04)
    held = venue.exchange.order("BTCUSDT", "amend-1")
    assert held is not None
    assert (str(held.venue_order_id), held.quantity) == (venue_id, 0.004)
    assert held.price == pytest.approx(TICK.floor(bid - 300.04))  # a buy rounds down
    await wait_until(
        lambda: any(r.quantity == 0.004 for r in recorder.orders if r.client_order_id == "amend-1")
    )
    with pytest.raises(OrderRejectedError) as missing:
        await client.modify(SYMBOL, "never-sent", 0.004, bid - 300.0)
    assert missing.value.code == "-2013"


async def test_a_post_only_amended_through_the_book_is_refused(usdm: Usdm) -> None:
    venue, client, _recorder = usdm
    bid, ask = venue.book_touch()
    await client.submit(_order("amend-po", OrderSide.BUY, 0.002, bid - 400.0, post_only=True))
    with pytest.raises(OrderRejectedError) as refused:
        await client.modify(SYMBOL, "amend-po", 0.002, ask + 50.0)
    assert refused.value.code == "-5022"
    held = venue.exchange.order("BTCUSDT", "amend-po")
    assert held is not None and held.price == pytest.approx(TICK.floor(bid - 400.0))
