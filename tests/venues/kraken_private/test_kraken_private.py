"""The native Kraken client against the fake Kraken's private API, over real sockets."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import aiohttp
import msgspec
import pytest

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
)
from tradefabric.execution.live.kraken import KrakenLiveClient
from tradefabric.execution.live.kraken.auth import NonceStore, sign
from tradefabric.execution.live.reports import OrderStatusReport
from tradefabric.model.orders import (
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.venues.fakevenue.kraken_private_render import txid

from .conftest import SYMBOL, ClientFactory, Venue, until


def order(
    cid: str,
    side: OrderSide,
    qty: float,
    price: float | None,
    *,
    post_only: bool = False,
) -> OrderSnapshot:
    """Return a new order as the engine hands it to the client."""
    return OrderSnapshot(
        client_order_id=cid, strategy_id="s", venue="kraken", symbol=SYMBOL, side=side,
        order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=qty, price=price, trigger_price=None, time_in_force=TimeInForce.GTC,
        post_only=post_only, reduce_only=False, status=OrderStatus.NEW, filled_quantity=0.0,
        avg_price=0.0, fees=0.0, tag="", ts_init=0, ts_last=0,
    )  # fmt: skip


def below(venue: Venue) -> float:
    """Return a buy price 3% under the bid (rests for the whole test)."""
    return math.floor(venue.bid() * 0.97 * 100) / 100


async def test_a_wrong_secret_is_refused_at_connect(venue: Venue, tmp_path: Path) -> None:
    client = venue.client(tmp_path, secret="AAAA" + venue.secret[4:])
    with pytest.raises(AuthenticationError, match="EAPI:Invalid signature"):
        await client.connect(_NoReports())
    await client.close()


async def test_a_stale_nonce_and_a_foreign_ws_token_get_krakens_errors(venue: Venue) -> None:
    path, nonce = "/0/private/Balance", "5"
    body = f"nonce={nonce}"
    headers = {"API-Key": "k1", "API-Sign": sign(venue.secret, path, nonce, body)}
    venue.script.keys.last_nonce["k1"] = 10
    async with aiohttp.ClientSession() as http:
        url = venue.server.http_url + path
        async with http.post(url, data=body, headers=headers) as resp:
            assert (await resp.json())["error"] == ["EAPI:Invalid nonce"]
        async with http.ws_connect(venue.server.ws_url + "/ws-auth/v2") as ws:
            params = {"channel": "executions", "token": "not-issued"}
            await ws.send_json({"method": "subscribe", "params": params, "req_id": 7})
            answer = await ws.receive_json()
    assert answer["success"] is False
    assert answer["error"] == "ESession:Invalid session"
    assert answer["req_id"] == 7


async def test_submit_query_cancel_follow_the_ledger(venue: Venue, connect: ClientFactory) -> None:
    client, seen = await connect()
    price = below(venue)
    venue_id = await client.submit(order("k-rest-1", OrderSide.BUY, 0.01, price))
    await until(lambda: seen.last("k-rest-1") is not None)
    first = seen.last("k-rest-1")
    assert first is not None
    assert (first.status, first.venue_order_id, first.price) == (
        OrderStatus.ACCEPTED, venue_id, price,
    )  # fmt: skip
    queried = await client.query_order(SYMBOL, "k-rest-1")
    assert queried is not None
    assert (queried.venue_order_id, queried.quantity, queried.price) == (venue_id, 0.01, price)
    assert queried.status is OrderStatus.ACCEPTED
    ledger = venue.script.exchange.order(SYMBOL, "k-rest-1")
    assert ledger is not None and ledger.price == price
    assert venue.script.exchange.account.balance("USDT").locked == pytest.approx(0.01 * price)
    await client.cancel(SYMBOL, "k-rest-1")
    await until(lambda: seen.last("k-rest-1").status is OrderStatus.CANCELLED)  # type: ignore[union-attr]
    assert venue.script.exchange.order(SYMBOL, "k-rest-1").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert await client.query_order(SYMBOL, "never-sent") is None
    with pytest.raises(OrderRejectedError, match="EOrder:Unknown order"):
        await client.cancel(SYMBOL, "k-rest-1")


async def test_post_only_that_would_take_and_a_too_large_order_are_refused(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    book = venue.script.venue_book(SYMBOL)
    assert book is not None
    with pytest.raises(OrderRejectedError) as refused:
        await client.submit(order("po-1", OrderSide.BUY, 0.01, book.best_ask(), post_only=True))
    assert refused.value.code == "EOrder:Post only order"
    with pytest.raises(OrderRejectedError) as broke:
        await client.submit(order("big-1", OrderSide.BUY, 100.0, below(venue)))
    assert broke.value.code == "EOrder:Insufficient funds"
    assert venue.script.exchange.open_orders() == []


async def test_a_taker_reports_exactly_the_ledgers_fills(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    await client.submit(order("mkt-1", OrderSide.BUY, 0.05, None))
    ledger = venue.script.exchange.fills
    await until(lambda: len(ledger) > 0 and len(seen.trades) == len(ledger))
    await until(lambda: seen.last("mkt-1").status is OrderStatus.FILLED)  # type: ignore[union-attr]
    got = [(t.trade_id, t.price, t.quantity, t.liquidity.value) for t in seen.trades]
    want = [(txid("T", f.trade_id), f.price, f.quantity, "taker") for f in ledger]
    assert got == want
    assert [t.fee for t in seen.trades] == pytest.approx([f.fee for f in ledger])
    status = await client.mass_status((SYMBOL,), 0)
    # The same trades under the same ids: the engine deduplicates stream against REST.
    assert [(t.trade_id, t.price, t.quantity) for t in status.trades] == [w[:3] for w in want]
    assert [t.fee for t in status.trades] == pytest.approx([f.fee for f in ledger])
    assert {t.client_order_id for t in status.trades} == {"mkt-1"}
    btc = next(b for b in status.balances if b.asset == "BTC")
    assert btc.total == pytest.approx(venue.script.exchange.account.balance("BTC").free)


async def test_mass_status_equals_the_ledger(venue: Venue, connect: ClientFactory) -> None:
    client, _seen = await connect()
    price = below(venue)
    for i in range(3):
        await client.submit(order(f"ms-{i}", OrderSide.BUY, 0.01, price - i))
    status = await client.mass_status((SYMBOL,), 0)
    ledger = venue.script.exchange
    assert sorted(o.client_order_id for o in status.orders) == ["ms-0", "ms-1", "ms-2"]
    assert {(o.client_order_id, o.price, o.quantity) for o in status.orders} == {
        (v.client_order_id, v.price, v.quantity) for v in ledger.open_orders()
    }
    usdt = next(b for b in status.balances if b.asset == "USDT")
    assert usdt.locked == pytest.approx(ledger.account.balance("USDT").locked)
    assert usdt.free == pytest.approx(ledger.account.balance("USDT").free)
    await client.cancel_all(SYMBOL)
    assert ledger.open_orders() == []


async def test_a_lost_answer_is_unknown_and_the_query_finds_the_one_order(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    await venue.fault("lose_response")
    with pytest.raises(OrderStatusUnknownError):
        await client.submit(order("lost-1", OrderSide.BUY, 0.01, below(venue)))
    found = await client.query_order(SYMBOL, "lost-1")
    assert found is not None and found.status is OrderStatus.ACCEPTED
    assert venue.script.exchange.placed == 1
    assert venue.script.ws.lost_answers == 1


async def test_unavailable_on_rest_add_order_is_unknown(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    await venue.fault("unknown_status")
    with pytest.raises(OrderStatusUnknownError, match="EService:Unavailable"):
        await client._submit_rest(order("unk-1", OrderSide.BUY, 0.01, below(venue)))
    found = await client.query_order(SYMBOL, "unk-1")
    assert found is not None and venue.script.exchange.placed == 1


async def test_a_rate_limit_is_honoured_without_calling_the_venue(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    await venue.fault("rate_limit", count="1")
    with pytest.raises(RateLimitedError) as limited:
        await client.query_order(SYMBOL, "x")
    assert limited.value.retry_after_s == pytest.approx(2.0)
    calls = venue.script.api.requests["QueryOrders"]
    with pytest.raises(RateLimitedError):
        await client.query_order(SYMBOL, "x")
    assert venue.script.api.requests["QueryOrders"] == calls  # refused here, not sent


async def test_a_dropped_stream_reconnects_and_no_fill_is_lost(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    connections = client.stream.connections
    await venue.fault("drop_user_stream")
    # The venue keeps trading while the stream is down: this fill is not streamed to us.
    await asyncio.sleep(0)
    await client._submit_rest(order("gap-1", OrderSide.BUY, 0.02, None))
    await until(lambda: seen.reconnects == ["kraken"])
    assert client.stream.connections == connections + 1
    status = await client.mass_status((SYMBOL,), 0)
    ledger = {txid("T", f.trade_id) for f in venue.script.exchange.fills}
    streamed = {t.trade_id for t in seen.trades}
    assert ledger and {t.trade_id for t in status.trades} == ledger
    assert streamed | {t.trade_id for t in status.trades} == ledger
    assert {t.client_order_id for t in status.trades} == {"gap-1"}
    await client.submit(order("after-1", OrderSide.BUY, 0.01, below(venue)))
    await until(lambda: seen.last("after-1") is not None)


async def test_the_nonce_survives_a_restart_with_the_clock_behind(
    venue: Venue, tmp_path: Path
) -> None:
    first = venue.client(tmp_path)
    await first.heartbeat(0)
    await first.rest.close()
    last = first.rest.nonces.last
    assert (tmp_path / "kraken.nonce").read_text() == str(last)
    behind = (last - 60_000_000) * 1_000  # the clock went back a minute

    restarted = venue.client(tmp_path)
    restarted.rest.nonces = NonceStore(tmp_path / "kraken.nonce", clock=lambda: behind)
    await restarted.heartbeat(0)
    assert restarted.rest.nonces.last == last + 1
    await restarted.rest.close()

    forgetful = venue.client(tmp_path)
    forgetful.rest.nonces = NonceStore(None, clock=lambda: behind)
    with pytest.raises(AuthenticationError, match="EAPI:Invalid nonce"):
        await forgetful.heartbeat(0)
    await forgetful.rest.close()


async def test_cancel_all_orders_after_cancels_when_heartbeats_stop(
    venue: Venue, connect: ClientFactory
) -> None:
    client: KrakenLiveClient
    client, seen = await connect()
    await client.submit(order("dms-1", OrderSide.BUY, 0.01, below(venue)))
    await client.heartbeat(1.0)
    started = asyncio.get_running_loop().time()
    await until(lambda: seen.last("dms-1").status is OrderStatus.CANCELLED, 3.5)  # type: ignore[union-attr]
    assert asyncio.get_running_loop().time() - started <= 1.0 + 2.0
    assert venue.script.api.cancel_after_fired == 1
    await client.submit(order("dms-2", OrderSide.BUY, 0.01, below(venue)))
    await client.heartbeat(1.0)
    await client.heartbeat(0)  # disarmed: the order stays
    assert venue.script.api.cancel_after is None
    assert venue.script.exchange.order(SYMBOL, "dms-2").is_open  # type: ignore[union-attr]


class _NoReports:
    def on_order_status(self, report: object) -> None: ...
    def on_trade(self, report: object) -> None: ...
    def on_balance(self, report: object) -> None: ...
    def on_position(self, report: object) -> None: ...
    def on_stream_reconnected(self, venue: str) -> None: ...


async def test_a_sequence_gap_asks_for_reconciliation(venue: Venue, connect: ClientFactory) -> None:
    client, seen = await connect()
    await venue.fault("user_skip", count="1")
    await client.submit(order("seq-1", OrderSide.BUY, 0.01, below(venue)))  # its "new" is lost
    await client.cancel(SYMBOL, "seq-1")
    await until(lambda: client.stream.gaps == 1)
    assert seen.reconnects == ["kraken"]  # reconcile: what the gap hid comes back by REST
    assert _status(seen.last("seq-1")) is OrderStatus.CANCELLED


async def test_a_delayed_ack_still_reports_the_fills_first(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    await venue.fault("delay_ack", seconds="0.3")
    task = asyncio.create_task(client.submit(order("slow-1", OrderSide.BUY, 0.01, None)))
    await until(lambda: len(seen.trades) > 0)
    assert not task.done()  # the fill arrived on the stream before the answer
    venue_id = await task
    assert {t.venue_order_id for t in seen.trades} == {venue_id}


async def test_a_fill_refreshes_the_balances(venue: Venue, connect: ClientFactory) -> None:
    client, seen = await connect()
    await client.submit(order("bal-1", OrderSide.BUY, 0.01, None))
    await until(lambda: any(b.asset == "BTC" and b.free > 1.0 for b in seen.balances))
    btc = [b for b in seen.balances if b.asset == "BTC"][-1]
    await until(lambda: _status(seen.last("bal-1")) is OrderStatus.FILLED)
    assert btc.total == pytest.approx(venue.script.exchange.account.balance("BTC").free)


def _status(report: OrderStatusReport | None) -> OrderStatus | None:
    return None if report is None else report.status


async def test_concurrent_signed_calls_keep_their_nonces_in_order(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    answers = await asyncio.gather(*(client.query_order(SYMBOL, f"none-{i}") for i in range(20)))
    assert answers == [None] * 20
    assert venue.script.keys.last_nonce["k1"] == client.rest.nonces.last


async def test_amend_order_changes_quantity_and_price_in_place(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    price = below(venue)
    venue_id = await client.submit(order("am-1", OrderSide.BUY, 0.01, price))
    await client.modify(SYMBOL, "am-1", 0.02, price - 5)
    ledger = venue.script.exchange.order(SYMBOL, "am-1")
    assert ledger is not None and (ledger.quantity, ledger.price) == (0.02, price - 5)
    await until(lambda: seen.last("am-1") is not None and seen.last("am-1").quantity == 0.02)  # type: ignore[union-attr]
    amended = seen.last("am-1")
    assert amended is not None
    assert (amended.venue_order_id, amended.price) == (venue_id, price - 5)
    assert venue.script.exchange.account.balance("USDT").locked == pytest.approx(0.02 * (price - 5))
    with pytest.raises(OrderRejectedError) as refused:
        await client.modify(SYMBOL, "am-1", 500.0, price)
    assert refused.value.code == "EOrder:Insufficient funds"


async def test_a_venue_restart_reconnects_with_a_fresh_token_and_keeps_the_orders(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    await client.submit(order("rs-1", OrderSide.BUY, 0.01, below(venue)))
    token = client.stream.token
    await venue.fault("restart")
    await until(lambda: seen.reconnects == ["kraken"])
    assert client.stream.token != token  # GetWebSocketsToken again for the new connection
    status = await client.mass_status((SYMBOL,), 0)
    assert [o.client_order_id for o in status.orders] == ["rs-1"]
    await client.cancel(SYMBOL, "rs-1")  # over the new connection
    await until(lambda: _status(seen.last("rs-1")) is OrderStatus.CANCELLED)


async def test_fill_or_kill_is_refused_here_kraken_spot_has_none(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    fok = msgspec.structs.replace(
        order("fok-1", OrderSide.BUY, 0.01, below(venue)), time_in_force=TimeInForce.FOK
    )
    with pytest.raises(OrderRejectedError, match="no fok"):
        await client.submit(fok)
    assert venue.script.exchange.placed == 0
