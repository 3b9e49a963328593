"""Unknown outcomes, rate limits and stream drops on the fake Bybit, over real sockets."""

from __future__ import annotations

import time

import pytest

from tests.venues.bybit_private.conftest import Reports, Venue, until
from tests.venues.bybit_private.test_orders import Trading, order
from tradefabric.core.errors import OrderStatusUnknownError, RateLimitedError
from tradefabric.model.orders import OrderSide, OrderStatus
from tradefabric.venues.fakevenue.bybit_private_rest import OrderRateLimit
from tradefabric.venues.fakevenue.private.faults import ResponseFault


@pytest.mark.parametrize("fault", [ResponseFault.LOSE, ResponseFault.UNKNOWN])
async def test_an_unknown_outcome_is_settled_by_a_query_and_never_sent_twice(
    trading: Trading, fault: ResponseFault
) -> None:
    venue, client, _reports = trading
    bid, _ask = venue.touch()
    venue.script.faults.on_responses(fault)
    with pytest.raises(OrderStatusUnknownError):
        await client.submit(order("unk-1", OrderSide.BUY, 0.001, bid - 300))
    report = await client.query_order("BTC/USDT", "unk-1")
    assert report is not None and report.status is OrderStatus.ACCEPTED
    ledger = venue.script.exchange.order("BTCUSDT", "unk-1")
    assert ledger is not None and report.venue_order_id == str(ledger.venue_order_id)
    assert venue.script.exchange.placed == 1


async def test_an_ack_slower_than_the_timeout_is_an_unknown_outcome(spot: Venue) -> None:
    client = spot.client(timeout_s=0.3)
    await client.connect(Reports())
    try:
        await until(spot.book_ready)
        spot.script.faults.on_responses(ResponseFault.DELAY, seconds=1.5)
        with pytest.raises(OrderStatusUnknownError):
            await client.submit(order("slow-1", OrderSide.BUY, 0.001, spot.touch()[0] - 300))
        report = await client.query_order("BTC/USDT", "slow-1")
        assert report is not None and report.status is OrderStatus.ACCEPTED
    finally:
        await client.close()


async def test_a_rate_limit_holds_every_request_back_until_the_window_resets(
    trading: Trading,
) -> None:
    venue, client, _reports = trading
    bid, _ask = venue.touch()
    await venue.inject("rate_limit?status=429&retry_after=0.8")
    with pytest.raises(RateLimitedError) as limited:
        await client.submit(order("rl-1", OrderSide.BUY, 0.001, bid - 300))
    assert 0.5 < limited.value.retry_after_s <= 0.8
    assert venue.script.exchange.order("BTCUSDT", "rl-1") is None  # refused without acting
    sent = venue.server.rest_requests["/v5/order/create"]
    with pytest.raises(RateLimitedError):
        await client.submit(order("rl-2", OrderSide.BUY, 0.001, bid - 300))
    assert venue.server.rest_requests["/v5/order/create"] == sent  # never left the client
    await until(lambda: client.rest.blocked_until_ms <= time.time_ns() // 1_000_000)
    await client.submit(order("rl-2", OrderSide.BUY, 0.001, bid - 300))
    assert venue.script.exchange.order("BTCUSDT", "rl-2") is not None


async def test_a_dropped_stream_reconnects_and_no_fill_is_lost(trading: Trading) -> None:
    venue, client, reports = trading
    await client.submit(order("before", OrderSide.BUY, 0.002))
    await until(lambda: len(reports.trades) == len(venue.script.exchange.fills))
    since_ns = time.time_ns()
    await venue.inject("drop_user_stream")
    await until(lambda: not client.stream.ready.is_set())
    await client.submit(order("during", OrderSide.SELL, 0.003))  # fills while the stream is down
    await until(lambda: reports.reconnects == ["bybit"])
    status = await client.mass_status(("BTC/USDT",), since_ns)
    seen = {t.trade_id for t in reports.trades} | {t.trade_id for t in status.trades}
    assert seen == {str(f.trade_id) for f in venue.script.exchange.fills}
    during = [t for t in status.trades if t.client_order_id == "during"]
    assert sum(t.quantity for t in during) == pytest.approx(0.003)
    # The stream carries on after the reconnect.
    await client.submit(order("after", OrderSide.BUY, 0.001))
    await until(lambda: any(t.client_order_id == "after" for t in reports.trades))


async def test_the_heartbeat_sets_the_disconnect_cancel_window(trading: Trading) -> None:
    venue, client, _reports = trading
    await client.heartbeat(4.2)
    assert venue.script.stream.dcp_window_s == 5
    assert venue.script.rest.dcp_products == {"SPOT": 5}
    sent = venue.server.rest_requests["/v5/order/disconnected-cancel-all"]
    await client.heartbeat(4.9)  # same window: nothing to set
    await client.heartbeat(1.0)  # below Bybit's minimum
    assert venue.script.stream.dcp_window_s == 3
    assert venue.server.rest_requests["/v5/order/disconnected-cancel-all"] == sent + 1


async def test_maker_orders_fill_on_replayed_trades(trading: Trading) -> None:
    venue, client, reports = trading
    bid, _ask = venue.touch()
    await client.submit(order("mk-1", OrderSide.BUY, 0.001, bid))
    await until(lambda: venue.script.exchange.fills, timeout_s=60)
    await until(lambda: reports.trades)
    [trade] = reports.trades
    assert trade.client_order_id == "mk-1" and trade.liquidity == "maker"
    assert trade.price == pytest.approx(bid)


async def test_the_announced_limit_is_honoured_before_the_venue_must_refuse(
    trading: Trading,
) -> None:
    venue, client, _reports = trading
    venue.script.rest.limits = OrderRateLimit(limit=5, window_ms=2000)
    bid, _ask = venue.touch()
    for n in range(5):
        await client.submit(order(f"lim-{n}", OrderSide.BUY, 0.001, bid - 300 - n))
    with pytest.raises(RateLimitedError) as held:
        await client.submit(order("lim-5", OrderSide.BUY, 0.001, bid - 400))
    assert 0 < held.value.retry_after_s <= 2.0
    assert venue.server.rest_requests["/v5/order/create"] == 5
    assert venue.script.rest.limits.refused == 0  # the venue never had to say 10006
    await until(lambda: client.rest.blocked_until_ms <= time.time_ns() // 1_000_000)
    await client.submit(order("lim-5", OrderSide.BUY, 0.001, bid - 400))
    assert len(venue.script.exchange.open_orders()) == 6


async def test_a_fill_may_reach_the_stream_before_the_ack(trading: Trading) -> None:
    venue, client, reports = trading
    await venue.inject("fill_before_ack?seconds=0.5")
    venue_id = await client.submit(order("fba-1", OrderSide.BUY, 0.002))
    assert [t.client_order_id for t in reports.trades]  # already streamed when the ack came
    assert all(t.venue_order_id == venue_id for t in reports.trades)
    assert reports.of("fba-1")[-1].status is OrderStatus.FILLED


async def test_a_venue_restart_keeps_its_state_and_the_client_logs_on_again(
    trading: Trading,
) -> None:
    venue, client, reports = trading
    bid, _ask = venue.touch()
    await client.submit(order("rs-1", OrderSide.BUY, 0.001, bid - 300))
    await venue.inject("restart")
    await until(lambda: reports.reconnects == ["bybit"])
    assert client.stream.connects == 2
    status = await client.mass_status(("BTC/USDT",), 0)
    assert [o.client_order_id for o in status.orders] == ["rs-1"]


async def test_a_cancel_whose_answer_is_lost_is_an_unknown_outcome_the_query_settles(
    trading: Trading,
) -> None:
    venue, client, _reports = trading
    bid, _ask = venue.touch()
    await client.submit(order("cx-1", OrderSide.BUY, 0.001, bid - 300))
    venue.script.faults.on_responses(ResponseFault.LOSE)
    with pytest.raises(OrderStatusUnknownError):
        await client.cancel("BTC/USDT", "cx-1")
    report = await client.query_order("BTC/USDT", "cx-1")
    assert report is not None and report.status is OrderStatus.CANCELLED
    assert report.reason == "CancelByUser"
