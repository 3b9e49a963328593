"""The Binance spot client against the fake venue's private API, over real sockets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from tests.venues.binance_private.conftest import (
    ED25519,
    ED25519_PRIVATE_PEM,
    HMAC,
    HMAC_KEY,
    Recorder,
    Venue,
    order,
    wait_until,
)
from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
)
from tradefabric.core.logging import configure_logging
from tradefabric.execution.live.binance import client as client_module
from tradefabric.execution.live.binance.config import Credentials
from tradefabric.execution.live.binance.rest import BinanceRest
from tradefabric.execution.live.binance.signing import HmacSigner
from tradefabric.execution.live.binance.spot import BinanceSpotClient
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus

Spot = tuple[Venue, BinanceSpotClient, Recorder]


async def _client(
    venue: Venue, credentials: Credentials = HMAC, **config: object
) -> tuple[BinanceSpotClient, Recorder]:
    client = BinanceSpotClient(venue.config("binance", **config), credentials)
    recorder = Recorder()
    await client.connect(recorder)
    return client, recorder


@pytest.fixture
async def spot(spot_venue: Venue) -> AsyncIterator[Spot]:
    client, recorder = await _client(spot_venue)
    yield spot_venue, client, recorder
    await client.close()


async def test_a_signature_is_checked_and_a_stale_timestamp_refused(spot_venue: Venue) -> None:
    good = BinanceRest(spot_venue.server.http_url, HMAC_KEY, HmacSigner(HMAC.api_secret))
    wrong = BinanceRest(spot_venue.server.http_url, HMAC_KEY, HmacSigner("not-the-secret"))
    for rest in (good, wrong):
        await rest.open()
    try:
        account = await good.signed("GET", "/api/v3/account", {})
        assert {b["asset"] for b in account["balances"]} == {"BTC", "ETH", "USDT"}
        with pytest.raises(AuthenticationError, match="-1022"):
            await wrong.signed("GET", "/api/v3/account", {})
        good.clock_offset_ms = -6_000  # older than the 5 s recvWindow
        with pytest.raises(AuthenticationError, match="-1021"):
            await good.signed("GET", "/api/v3/account", {})
    finally:
        for rest in (good, wrong):
            await rest.close()


@pytest.mark.parametrize("credentials", [HMAC, ED25519], ids=["hmac", "ed25519"])
@pytest.mark.parametrize("entry", ["websocket", "rest"])
async def test_orders_queries_and_mass_status_match_the_ledger(
    spot_venue: Venue, credentials: Credentials, entry: str
) -> None:
    client, recorder = await _client(spot_venue, credentials, order_entry=entry)
    try:
        bid, _ask = spot_venue.book_touch()
        venue_id = await client.submit(order("lim-1", OrderSide.BUY, 0.001, bid - 500))
        await wait_until(lambda: OrderStatus.ACCEPTED in recorder.statuses("lim-1"))
        queried = await client.query_order("BTC/USDT", "lim-1")
        assert queried is not None
        assert (queried.venue_order_id, queried.status) == (venue_id, OrderStatus.ACCEPTED)
        assert queried.price == pytest.approx(round(bid - 500, 2))

        await client.submit(order("mkt-1", OrderSide.BUY, 0.0005))
        await wait_until(lambda: any(t.client_order_id == "mkt-1" for t in recorder.trades))
        taker = [t for t in recorder.trades if t.client_order_id == "mkt-1"]
        assert {t.liquidity for t in taker} == {LiquiditySide.TAKER}
        assert sum(t.quantity for t in taker) == pytest.approx(0.0005)

        await client.cancel("BTC/USDT", "lim-1")
        await wait_until(lambda: OrderStatus.CANCELLED in recorder.statuses("lim-1"))
        await client.submit(order("lim-2", OrderSide.BUY, 0.001, bid - 600))
        await client.submit(order("lim-3", OrderSide.SELL, 0.001, bid + 900))
        assert len(spot_venue.exchange.open_orders()) == 2
        await client.cancel_all("BTC/USDT")
        assert spot_venue.exchange.open_orders() == []

        status = await client.mass_status(("BTC/USDT",), 0)
        ledger = spot_venue.exchange
        assert status.orders == ()
        assert sorted(t.trade_id for t in status.trades) == sorted(
            str(f.trade_id) for f in ledger.fills
        )
        assert {t.client_order_id for t in status.trades} == {"mkt-1"}
        reported = {(b.asset, side): v for b in status.balances for side, v in _sides(b)}
        held = {(b.asset, side): v for b in ledger.account.balances() for side, v in _sides(b)}
        assert reported == pytest.approx(held, abs=1e-8)
        assert (await client.query_order("BTC/USDT", "never-sent")) is None
    finally:
        await client.close()


def _sides(balance: object) -> list[tuple[str, float]]:
    return [("free", balance.free), ("locked", balance.locked)]  # type: ignore[attr-defined]


async def test_a_post_only_that_would_take_is_refused_with_binance_s_code(spot: Spot) -> None:
    venue, client, _recorder = spot
    _bid, ask = venue.book_touch()
    with pytest.raises(OrderRejectedError) as refused:
        await client.submit(order("po-1", OrderSide.BUY, 0.001, ask + 5, post_only=True))
    assert refused.value.code == "-2010"
    assert "immediately match and take" in str(refused.value)
    assert venue.exchange.order("BTCUSDT", "po-1") is None
    with pytest.raises(OrderRejectedError) as filtered:
        await client.submit(order("tiny", OrderSide.BUY, 0.00001, ask - 1000))
    assert filtered.value.code == "-1013"  # Filter failure: NOTIONAL


@pytest.mark.parametrize("entry", ["websocket", "rest"])
@pytest.mark.parametrize("fault", ["lose_response", "unknown_status"])
async def test_an_unknown_outcome_is_settled_by_a_query_never_a_resend(
    spot_venue: Venue, entry: str, fault: str
) -> None:
    client, recorder = await _client(spot_venue, order_entry=entry)
    try:
        bid, _ask = spot_venue.book_touch()
        await spot_venue.fault(fault)
        with pytest.raises(OrderStatusUnknownError):
            await client.submit(order("lost-1", OrderSide.BUY, 0.001, bid - 700))
        found = await client.query_order("BTC/USDT", "lost-1")
        assert found is not None
        assert found.status is OrderStatus.ACCEPTED
        assert spot_venue.exchange.placed == 1
        assert [o.client_order_id for o in spot_venue.exchange.open_orders()] == ["lost-1"]
        if entry == "websocket" and fault == "lose_response":
            # The socket was cut with the answer: the session comes back, the engine is told.
            await wait_until(lambda: recorder.reconnects == ["binance"])
            await client.cancel("BTC/USDT", "lost-1")
            assert spot_venue.exchange.open_orders() == []
    finally:
        await client.close()


@pytest.mark.parametrize("status", [429, 418])
async def test_a_rate_limit_s_retry_after_is_honoured(spot: Spot, status: int) -> None:
    venue, client, _recorder = spot
    await venue.fault("rate_limit", status=status, retry_after=1.0)
    with pytest.raises(RateLimitedError) as limited:
        await client.query_order("BTC/USDT", "x")
    assert limited.value.retry_after_s == pytest.approx(1.0)
    asked = dict(venue.server.rest_requests)
    with pytest.raises(RateLimitedError) as held:
        await client.query_order("BTC/USDT", "x")
    assert 0 < held.value.retry_after_s <= 1.0
    assert dict(venue.server.rest_requests) == asked  # nothing reached the venue meanwhile
    await wait_until(lambda: client.rest.blocked_for_s() == 0.0)
    assert await client.query_order("BTC/USDT", "x") is None


async def test_a_dropped_user_stream_reconnects_and_no_fill_is_lost(spot_venue: Venue) -> None:
    # The session waits 1.5 s before reconnecting: the fill surely lands while nobody listens.
    client, recorder = await _client(spot_venue, order_entry="rest", reconnect_delay_s=1.5)
    try:
        await spot_venue.fault("drop_user_stream")
        await wait_until(lambda: spot_venue.exchange.events.listeners == 0)
        await client.submit(order("dark-1", OrderSide.BUY, 0.0005))  # fills while nobody listens
        await wait_until(lambda: recorder.reconnects == ["binance"])
        assert not any(t.client_order_id == "dark-1" for t in recorder.trades)
        status = await client.mass_status(("BTC/USDT",), 0)
        recovered = {t.trade_id for t in status.trades if t.client_order_id == "dark-1"}
        ledger = {
            str(f.trade_id) for f in spot_venue.exchange.fills if f.client_order_id == "dark-1"
        }
        assert recovered == ledger != set()
    finally:
        await client.close()


async def test_a_fill_may_arrive_before_the_ack(spot: Spot) -> None:
    venue, client, recorder = spot
    await venue.fault("fill_before_ack", seconds=0.3)
    venue_id = await client.submit(order("fast-1", OrderSide.SELL, 0.0005))
    assert [t.venue_order_id for t in recorder.trades if t.client_order_id == "fast-1"]
    assert {t.venue_order_id for t in recorder.trades if t.client_order_id == "fast-1"} == {
        venue_id
    }


async def test_a_venue_restart_keeps_the_orders_and_the_client_comes_back(spot: Spot) -> None:
    venue, client, recorder = spot
    bid, _ask = venue.book_touch()
    await client.submit(order("keep-1", OrderSide.BUY, 0.001, bid - 800))
    public_before = venue.server.status().connections_total
    await venue.fault("restart")
    await wait_until(lambda: recorder.reconnects == ["binance"])
    await wait_until(lambda: venue.server.status().connections == 0)  # market data dropped too
    assert venue.server.status().connections_total == public_before
    found = await client.query_order("BTC/USDT", "keep-1")
    assert found is not None and found.status is OrderStatus.ACCEPTED
    await client.cancel("BTC/USDT", "keep-1")
    await wait_until(lambda: OrderStatus.CANCELLED in recorder.statuses("keep-1"))


async def test_a_resting_maker_fills_when_replayed_trades_cross_its_price(spot: Spot) -> None:
    venue, client, recorder = spot
    for _attempt in range(5):
        # Join the bid; the replay may move through it before the order lands (then retry).
        bid, _ask = venue.book_touch()
        try:
            await client.submit(order("maker-1", OrderSide.BUY, 0.0002, bid, post_only=True))
            break
        except OrderRejectedError:
            continue
    await wait_until(lambda: any(t.client_order_id == "maker-1" for t in recorder.trades), 60.0)
    fills = [t for t in recorder.trades if t.client_order_id == "maker-1"]
    assert {t.liquidity for t in fills} == {LiquiditySide.MAKER}
    assert [t.price for t in fills] == pytest.approx([bid] * len(fills))
    ledger = [f for f in venue.exchange.fills if f.client_order_id == "maker-1"]
    assert [str(f.trade_id) for f in ledger] == [t.trade_id for t in fills]


async def test_a_rate_limit_on_the_websocket_api_holds_every_request_back(spot: Spot) -> None:
    venue, client, _recorder = spot
    bid, _ask = venue.book_touch()
    await venue.fault("rate_limit", status=429, retry_after=0.5)
    with pytest.raises(RateLimitedError) as limited:
        await client.submit(order("rl-1", OrderSide.BUY, 0.001, bid - 300))
    assert 0 < limited.value.retry_after_s <= 0.5  # the venue's "until", less the trip
    assert venue.exchange.placed == 0
    with pytest.raises(RateLimitedError):  # REST shares the hold: nothing is sent
        await client.query_order("BTC/USDT", "rl-1")
    await wait_until(lambda: client.rest.blocked_for_s() == 0.0)
    await client.submit(order("rl-1", OrderSide.BUY, 0.001, bid - 300))
    assert venue.exchange.placed == 1


async def test_a_delayed_ack_still_returns_the_venue_order_id(spot: Spot) -> None:
    venue, client, recorder = spot
    bid, _ask = venue.book_touch()
    await venue.fault("delay_ack", seconds=0.3)
    started = time.monotonic()
    venue_id = await client.submit(order("slow-1", OrderSide.BUY, 0.001, bid - 300))
    assert time.monotonic() - started >= 0.3
    assert recorder.statuses("slow-1")[0] is OrderStatus.ACCEPTED  # the stream was first
    assert venue_id == str(venue.exchange.order("BTCUSDT", "slow-1").venue_order_id)  # type: ignore[union-attr]


@pytest.mark.parametrize("credentials", [Credentials("nobody", "x"), Credentials(HMAC_KEY, "bad")])
async def test_refused_keys_fail_connect_by_type(
    spot_venue: Venue, credentials: Credentials
) -> None:
    client = BinanceSpotClient(spot_venue.config("binance"), credentials)
    with pytest.raises(AuthenticationError):
        await client.connect(Recorder())
    await client.rest.close()
    assert spot_venue.exchange.events.listeners == 0


async def test_trades_are_asked_window_by_window_and_paged_by_id(
    spot: Spot, monkeypatch: pytest.MonkeyPatch
) -> None:
    venue, client, _recorder = spot
    for n in range(3):
        await client.submit(order(f"walk-{n}", OrderSide.BUY, 0.004))
    fills = venue.exchange.fills
    assert len(fills) >= 3
    monkeypatch.setattr(client_module, "_TRADES_PAGE", 2)  # pages of 2: paging by id is used
    asked = venue.server.rest_requests["/api/v3/myTrades"]
    three_days_ago = time.time_ns() - 3 * 86_400 * 1_000_000_000
    trades = await client.trades("BTC/USDT", three_days_ago)
    assert [t.trade_id for t in trades] == [str(f.trade_id) for f in fills]
    # Two empty 24 h windows, the one with the fills (a full page), then by id from there.
    assert venue.server.rest_requests["/api/v3/myTrades"] - asked >= 4
    assert [t.trade_id for t in await client.trades("BTC/USDT", 0)] == [
        str(f.trade_id) for f in fills
    ]


async def test_no_secret_reaches_the_logs_at_debug(
    spot_venue: Venue, capfd: pytest.CaptureFixture[str]
) -> None:
    configure_logging("DEBUG", json_logs=True)
    try:
        for credentials in (HMAC, ED25519):
            client, _recorder = await _client(spot_venue, credentials)
            bid, _ask = spot_venue.book_touch()
            await spot_venue.fault("lose_response")
            with pytest.raises(OrderStatusUnknownError):
                await client.submit(
                    order(f"log-{credentials.api_key}", OrderSide.BUY, 0.001, bid - 900)
                )
            await wait_until(lambda c=client: c.ws.connects == 2)  # type: ignore[misc]
            with pytest.raises(OrderRejectedError):
                await client.submit(order("bad", OrderSide.BUY, 0.00001, bid - 900))
            await client.close()
    finally:
        configure_logging("WARNING")
    out, err = capfd.readouterr()
    assert "binance_ws_api_reconnected" in out + err  # the logs were captured
    for secret in (HMAC.api_secret, ED25519_PRIVATE_PEM.splitlines()[1]):
        assert secret not in out + err


async def test_orders_go_over_rest_while_the_websocket_api_reconnects(spot_venue: Venue) -> None:
    client, recorder = await _client(spot_venue, reconnect_delay_s=1.5)
    try:
        await spot_venue.fault("drop_user_stream")
        await wait_until(lambda: not client.ws.connected)
        asked = spot_venue.server.rest_requests["/api/v3/order"]
        bid, _ask = spot_venue.book_touch()
        await client.submit(order("rest-1", OrderSide.BUY, 0.001, bid - 700))
        assert spot_venue.server.rest_requests["/api/v3/order"] == asked + 1
        await wait_until(lambda: recorder.reconnects == ["binance"])
        await client.cancel("BTC/USDT", "rest-1")  # the session is back: over the WebSocket API
        assert spot_venue.server.rest_requests["/api/v3/order"] == asked + 1
        assert spot_venue.exchange.open_orders() == []
    finally:
        await client.close()
