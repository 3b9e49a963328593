"""The native Coinbase client against the fake Coinbase's private API, over real sockets."""

from __future__ import annotations

import math
from decimal import Decimal

import aiohttp
import pytest

from tradefabric.core.errors import (
    AuthenticationError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
)
from tradefabric.execution.live.coinbase.fills import cumulative_id
from tradefabric.execution.live.coinbase.jwt import JwtSigner
from tradefabric.execution.live.reports import OrderStatusReport
from tradefabric.model.orders import OrderSide, OrderSnapshot, OrderStatus, OrderType, TimeInForce
from tradefabric.venues.fakevenue.coinbase_private_render import order_uuid

from .conftest import KEY_NAME, SYMBOL, ClientFactory, Venue, new_key, until


def order(
    cid: str, side: OrderSide, qty: float, price: float | None, *, post_only: bool = False
) -> OrderSnapshot:
    """Return a new order as the engine hands it to the client."""
    return OrderSnapshot(
        client_order_id=cid, strategy_id="s", venue="coinbase", symbol=SYMBOL, side=side,
        order_type=OrderType.LIMIT if price is not None else OrderType.MARKET,
        quantity=qty, price=price, trigger_price=None, time_in_force=TimeInForce.GTC,
        post_only=post_only, reduce_only=False, status=OrderStatus.NEW, filled_quantity=0.0,
        avg_price=0.0, fees=0.0, tag="", ts_init=0, ts_last=0,
    )  # fmt: skip


def below(venue: Venue) -> float:
    """Return a buy price 3% under the bid (rests for the whole test)."""
    return math.floor(venue.bid() * 0.97 * 100) / 100


def ledger_fills(venue: Venue) -> list[tuple[str, float, float]]:
    """Return the ledger's fills as (cumulative trade id, price, quantity), in order."""
    out, running = [], {}
    for f in venue.script.exchange.fills:
        oid = order_uuid(f.venue_order_id)
        running[oid] = running.get(oid, Decimal(0)) + Decimal(f"{f.quantity:.8f}")
        out.append((cumulative_id(oid, running[oid]), f.price, f.quantity))
    return out


async def test_a_jwt_of_another_key_is_refused(venue: Venue) -> None:
    stranger, _public = new_key()
    client = venue.client(private_pem=stranger)
    with pytest.raises(AuthenticationError, match="401"):
        await client.connect(_NoReports())
    await client.close()
    assert venue.script.keys.refusals == ["bad signature"]


async def test_a_jwt_for_another_uri_or_a_replayed_nonce_is_refused(venue: Venue) -> None:
    signer = JwtSigner(KEY_NAME, venue.private_pem)
    host = venue.server.http_url.removeprefix("http://")
    url = venue.server.http_url + "/api/v3/brokerage/accounts"
    wrong = signer.token("GET", host, "/api/v3/brokerage/orders/historical/batch")
    good = signer.token("GET", host, "/api/v3/brokerage/accounts")
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Authorization": f"Bearer {wrong}"}) as resp:
            assert (resp.status, await resp.text()) == (401, "Unauthorized\n")
        async with http.get(url, headers={"Authorization": f"Bearer {good}"}) as resp:
            assert resp.status == 200
        async with http.get(url, headers={"Authorization": f"Bearer {good}"}) as resp:
            assert resp.status == 401
        async with http.ws_connect(venue.server.ws_url + "/ws-user") as ws:
            await ws.send_json({"type": "subscribe", "channel": "user", "jwt": "x.y.z"})
            assert await ws.receive_json() == {"type": "error", "message": "authentication failure"}
    assert venue.script.keys.refusals[0].startswith("uri claim")
    assert venue.script.keys.refusals[1] == "nonce missing or reused"


async def test_submit_query_cancel_follow_the_ledger(venue: Venue, connect: ClientFactory) -> None:
    client, seen = await connect()
    price = below(venue)
    venue_id = await client.submit(order("cb-1", OrderSide.BUY, 0.01, price))
    await until(lambda: seen.last("cb-1") is not None)
    first = seen.last("cb-1")
    assert first is not None
    assert (first.status, first.venue_order_id, first.price, first.quantity) == (
        OrderStatus.ACCEPTED, venue_id, price, 0.01,
    )  # fmt: skip
    queried = await client.query_order(SYMBOL, "cb-1")
    assert queried is not None
    assert (queried.venue_order_id, queried.quantity, queried.price) == (venue_id, 0.01, price)
    ledger = venue.script.exchange.order(SYMBOL, "cb-1")
    assert ledger is not None and order_uuid(ledger.venue_order_id) == venue_id
    await client.cancel(SYMBOL, "cb-1")
    await until(lambda: _status(seen.last("cb-1")) is OrderStatus.CANCELLED)
    assert seen.last("cb-1").quantity == 0.01  # type: ignore[union-attr]
    assert venue.script.exchange.order(SYMBOL, "cb-1").status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert await client.query_order(SYMBOL, "never-sent") is None
    with pytest.raises(OrderRejectedError) as refused:
        await client.cancel(SYMBOL, "cb-1")
    assert refused.value.code == "INVALID_CANCEL_REQUEST"


async def test_post_only_that_would_take_and_a_too_large_order_are_refused(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    book = venue.script.venue_book(SYMBOL)
    assert book is not None
    with pytest.raises(OrderRejectedError) as refused:
        await client.submit(order("po-1", OrderSide.BUY, 0.01, book.best_ask(), post_only=True))
    assert refused.value.code == "INVALID_LIMIT_PRICE_POST_ONLY"
    with pytest.raises(OrderRejectedError) as broke:
        await client.submit(order("big-1", OrderSide.BUY, 100.0, below(venue)))
    assert broke.value.code == "INSUFFICIENT_FUND"
    assert venue.script.exchange.open_orders() == []


async def test_cumulative_updates_give_exactly_the_ledgers_fills(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    await client.submit(order("mkt-1", OrderSide.BUY, 0.05, None))
    ledger = venue.script.exchange.fills
    await until(lambda: _status(seen.last("mkt-1")) is OrderStatus.FILLED)
    want = ledger_fills(venue)
    assert len(want) >= 1
    assert [(t.trade_id, t.price, t.quantity) for t in seen.trades] == [
        (i, p, pytest.approx(q, abs=1e-12)) for i, p, q in want
    ]
    assert [t.fee for t in seen.trades] == pytest.approx([f.fee for f in ledger], abs=1e-9)
    # The venue repeats its last updates, newest first: duplicates and an older state late.
    # The last update repeated (same cumulative state), then the one before it (older).
    before = len(seen.trades)
    await venue.fault("user_replay", count="2")
    await until(lambda: client.fills.duplicates == 2)
    assert len(seen.trades) == before
    assert _status(seen.last("mkt-1")) is OrderStatus.FILLED  # the older state was not applied
    # The REST fills carry the same ids: reconciliation cannot count a fill twice.
    status = await client.mass_status((SYMBOL,), 0)
    assert [(t.trade_id, t.price) for t in status.trades] == [(i, p) for i, p, _q in want]
    assert {t.liquidity.value for t in status.trades} == {"taker"}
    assert {t.client_order_id for t in status.trades} == {"mkt-1"}


async def test_mass_status_equals_the_ledger(venue: Venue, connect: ClientFactory) -> None:
    client, _seen = await connect()
    price = below(venue)
    for i in range(3):
        await client.submit(order(f"ms-{i}", OrderSide.BUY, 0.01, price - i))
    status = await client.mass_status((SYMBOL,), 0)
    ledger = venue.script.exchange
    assert {(o.client_order_id, o.price, o.quantity) for o in status.orders} == {
        (v.client_order_id, v.price, v.quantity) for v in ledger.open_orders()
    }
    assert len(status.orders) == 3
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
    await venue.fault("unknown_status")
    with pytest.raises(OrderStatusUnknownError, match="503"):
        await client.submit(order("unk-1", OrderSide.BUY, 0.01, below(venue)))
    assert await client.query_order(SYMBOL, "unk-1") is not None
    assert venue.script.exchange.placed == 2


async def test_a_rate_limit_is_honoured_without_calling_the_venue(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    await venue.fault("rate_limit", count="1")
    with pytest.raises(RateLimitedError) as limited:
        await client.query_order(SYMBOL, "x")
    assert limited.value.retry_after_s == pytest.approx(1.0)
    calls = venue.script.api.requests["list"]
    with pytest.raises(RateLimitedError):
        await client.query_order(SYMBOL, "x")
    assert venue.script.api.requests["list"] == calls


async def test_a_dropped_stream_reconnects_and_no_fill_is_lost(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    connections = client.stream.connections
    await venue.fault("drop_user_stream")
    await client.submit(order("gap-1", OrderSide.BUY, 0.02, None))
    await until(lambda: seen.reconnects == ["coinbase"])
    assert client.stream.connections == connections + 1
    status = await client.mass_status((SYMBOL,), 0)
    ledger = {i for i, _p, _q in ledger_fills(venue)}
    assert ledger and {t.trade_id for t in status.trades} == ledger
    assert {t.trade_id for t in seen.trades} | {t.trade_id for t in status.trades} == ledger


async def test_there_is_no_cancel_after_and_heartbeat_does_nothing(
    venue: Venue, connect: ClientFactory
) -> None:
    client, _seen = await connect()
    assert client.supports_cancel_after is False
    await client.submit(order("hb-1", OrderSide.BUY, 0.01, below(venue)))
    await client.heartbeat(1.0)
    assert venue.script.exchange.order(SYMBOL, "hb-1").is_open  # type: ignore[union-attr]


def _status(report: OrderStatusReport | None) -> OrderStatus | None:
    return None if report is None else report.status


class _NoReports:
    def on_order_status(self, report: object) -> None: ...
    def on_trade(self, report: object) -> None: ...
    def on_balance(self, report: object) -> None: ...
    def on_position(self, report: object) -> None: ...
    def on_stream_reconnected(self, venue: str) -> None: ...


async def test_a_resting_order_filled_by_the_replay_is_a_maker_fill_at_its_price(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    for attempt in range(6):  # the replay may move away from our bid: follow it
        price = venue.bid()
        await client.submit(order(f"mk-{attempt}", OrderSide.BUY, 0.0005, price))
        try:
            await until(lambda: len(seen.trades) > 0, 5.0)
            break
        except AssertionError:
            await client.cancel_all(SYMBOL)
    assert seen.trades, "no replayed trade reached our bid in 30 s"
    want = ledger_fills(venue)
    got = [(t.trade_id, t.price, t.liquidity.value) for t in seen.trades]
    assert got == [(i, p, "maker") for i, p, _q in want][: len(got)]
    assert all(t.price == price for t in seen.trades)
    await until(lambda: client.stream.heartbeats >= 2, 5.0)  # heartbeats keep it open


async def test_a_sequence_gap_asks_for_reconciliation(venue: Venue, connect: ClientFactory) -> None:
    client, seen = await connect()
    await venue.fault("user_skip", count="1")
    await client.submit(order("seq-1", OrderSide.BUY, 0.01, below(venue)))  # its update is lost
    await until(lambda: client.stream.gaps == 1, 5.0)  # the next heartbeat shows the gap
    assert seen.reconnects == ["coinbase"]
    assert seen.last("seq-1") is None
    found = await client.query_order(SYMBOL, "seq-1")  # what reconciliation does
    assert found is not None and found.status is OrderStatus.ACCEPTED


async def test_edit_changes_size_and_price_in_place(venue: Venue, connect: ClientFactory) -> None:
    client, seen = await connect()
    price = below(venue)
    venue_id = await client.submit(order("ed-1", OrderSide.BUY, 0.01, price))
    await client.modify(SYMBOL, "ed-1", 0.02, price - 5)
    ledger = venue.script.exchange.order(SYMBOL, "ed-1")
    assert ledger is not None and (ledger.quantity, ledger.price) == (0.02, price - 5)
    await until(lambda: seen.last("ed-1") is not None and seen.last("ed-1").price == price - 5)  # type: ignore[union-attr]
    edited = seen.last("ed-1")
    assert edited is not None and (edited.venue_order_id, edited.quantity) == (venue_id, 0.02)
    with pytest.raises(OrderRejectedError) as refused:
        await client.modify(SYMBOL, "ed-1", 500.0, None)
    assert refused.value.code == "INSUFFICIENT_FUNDS"


async def test_a_smaller_edit_then_a_cancel_reports_the_edited_size(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    price = below(venue)
    await client.submit(order("ed-2", OrderSide.BUY, 0.03, price))
    await client.modify(SYMBOL, "ed-2", 0.01, None)
    await client.cancel(SYMBOL, "ed-2")
    await until(lambda: _status(seen.last("ed-2")) is OrderStatus.CANCELLED)
    assert seen.last("ed-2").quantity == 0.01  # type: ignore[union-attr]


async def test_a_venue_restart_resubscribes_and_keeps_the_orders(
    venue: Venue, connect: ClientFactory
) -> None:
    client, seen = await connect()
    await client.submit(order("rs-1", OrderSide.BUY, 0.01, below(venue)))
    await venue.fault("restart")
    await until(lambda: seen.reconnects == ["coinbase"])
    status = await client.mass_status((SYMBOL,), 0)
    assert [o.client_order_id for o in status.orders] == ["rs-1"]
    await client.cancel(SYMBOL, "rs-1")
    await until(lambda: _status(seen.last("rs-1")) is OrderStatus.CANCELLED)
