"""The live engine against the reference venue: outcomes of submit and cancel, and the
tolerance of report application (fill before ack, ack after cancel, expiry before ack,
duplicates, out-of-order, a cumulative quantity without its trade, impossible reports)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tests.execution.live.harness import SLOW_QUERY, SYMBOL, VENUE, Live, until
from tradefabric.execution.live.config import LiveSettings
from tradefabric.execution.live.reports import OrderStatusReport, TradeReport
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType

S = OrderStatus


async def test_submit_ack_sets_the_venue_order_id_and_fills_apply(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    assert order.status is S.SUBMITTED
    await live.live.idle()
    acked = live.state(order.client_order_id)
    assert acked.status is S.ACCEPTED
    assert acked.venue_order_id == live.ref.by_client[order.client_order_id]
    live.ref.fill(order.client_order_id, 0.04, 59_990.0)
    await until(lambda: live.state(order.client_order_id).filled_quantity == 0.04)
    live.ref.fill(order.client_order_id, 0.06, 59_980.0)
    await until(lambda: live.state(order.client_order_id).status is S.FILLED)
    done = live.state(order.client_order_id)
    assert done.avg_price == pytest.approx((0.04 * 59_990 + 0.06 * 59_980) / 0.1)
    assert live.kernel.portfolio.quantity(InstrumentId(VENUE, SYMBOL)) == pytest.approx(0.1)
    assert live.kernel.portfolio.balance(VENUE, "USDT") == pytest.approx(live.ref.balances["USDT"])
    # The venue order id travels on the order events too (the audit log has it).
    events = [msgspec.json.decode(r.data) for r in live.audited("order_event")]
    assert any(e.get("venue_order_id") == done.venue_order_id for e in events)


async def test_venue_rejection_carries_the_venue_code(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    live.ref.fault_next("reject:-2010")
    order = live.buy()
    await live.live.idle()
    rejected = live.state(order.client_order_id)
    assert rejected.status is S.REJECTED
    events = [msgspec.json.decode(r.data) for r in live.audited("order_event")]
    assert any("-2010" in e["reason"] for e in events if e["status"] == "rejected")


async def test_unknown_outcome_is_settled_by_query_and_never_resent(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    live.client.hold_stream = True  # the ack on the stream is not seen either
    live.ref.fault_next("lost")
    order = live.buy()
    await live.live.idle()
    cid = order.client_order_id
    assert live.state(cid).status is S.ACCEPTED  # the query found it at the venue
    assert live.ref.submissions[cid] == 1
    assert live.client.queries >= 1
    assert "order_unknown" in live.kinds()


async def test_unknown_outcome_of_an_order_the_venue_never_had_is_rejected(
    tmp_path: Path,
) -> None:
    live = Live(tmp_path)
    await live.start()
    live.ref.fault_next("unavailable", "unavailable", "unavailable", "unavailable")
    # 4 x unavailable = submit_retries (3) + 1: nothing reached the venue, given up.
    order = live.buy()
    await live.live.idle()
    assert live.state(order.client_order_id).status is S.REJECTED
    assert live.ref.submissions[order.client_order_id] == 0


async def test_rate_limit_is_honoured_then_the_order_is_sent_once(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    live.ref.fault_next("ratelimit:0.05")
    loop = asyncio.get_running_loop()
    started = loop.time()
    order = live.buy()
    await live.live.idle()
    assert loop.time() - started >= 0.05
    assert live.state(order.client_order_id).status is S.ACCEPTED
    assert live.ref.submissions[order.client_order_id] == 1


async def test_fill_before_ack(tmp_path: Path) -> None:
    live = Live(tmp_path, settings=SLOW_QUERY)
    await live.start()
    live.client.hold_stream = True
    live.ref.fault_next("lost")  # no ack from submit either: only the stream, reordered
    order = live.buy(0.1)
    cid = order.client_order_id
    await until(lambda: cid in live.ref.by_client)
    live.ref.fill(cid, 0.1, 60_000.0)
    # pending: [ack status, trade, filled status]; deliver the trade first.
    assert live.state(cid).status is S.SUBMITTED
    live.client.release([1, 2, 0])
    assert live.state(cid).status is S.FILLED
    assert live.state(cid).filled_quantity == pytest.approx(0.1)
    await live.live.idle()
    assert live.live.applier.counts.inferred_acks == 1
    assert live.live.applier.counts.rejected == 0


async def test_ack_after_cancel_and_duplicates_change_nothing(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    cid = order.client_order_id
    await live.live.idle()
    live.client.hold_stream = True
    ack = live.ref.report(live.ref.order_of(cid))
    live.execution.cancel(cid)
    await live.live.idle()
    live.client.pending.append(ack)  # a late (repeated) ack after the cancel
    live.client.release([0, 1, 0, 1])
    assert live.state(cid).status is S.CANCELLED
    counts = live.live.applier.counts
    assert counts.stale >= 2
    assert counts.rejected == 0


async def test_expiry_before_ack(tmp_path: Path) -> None:
    live = Live(tmp_path, settings=SLOW_QUERY)
    await live.start()
    live.client.hold_stream = True
    live.ref.fault_next("lost")
    order = live.buy(0.1)
    cid = order.client_order_id
    await until(lambda: cid in live.ref.by_client)
    live.ref.cancel_at_venue(cid, S.EXPIRED)
    assert live.state(cid).status is S.SUBMITTED
    live.client.release([1])  # only the expiry arrives
    assert live.state(cid).status is S.EXPIRED
    await live.live.idle()  # the unknown-outcome query finds it settled and stops
    assert live.live.applier.counts.inferred_acks == 1
    assert live.client.queries == 0


async def test_late_fill_after_cancel_is_applied(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    cid = order.client_order_id
    await live.live.idle()
    live.client.hold_stream = True
    live.ref.fill(cid, 0.03, 60_000.0)
    live.execution.cancel(cid)
    await live.live.idle()
    # pending: trade, partial status, cancelled status; the cancel overtakes the trade.
    live.client.release([2, 1, 0])
    final = live.state(cid)
    assert final.status is S.CANCELLED
    assert final.filled_quantity == pytest.approx(0.03)
    assert live.kernel.portfolio.quantity(InstrumentId(VENUE, SYMBOL)) == pytest.approx(0.03)
    assert live.live.applier.counts.late_fills == 1


async def test_duplicate_trades_apply_once(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    cid = order.client_order_id
    await live.live.idle()
    live.client.hold_stream = True
    live.ref.fill(cid, 0.05, 60_000.0)
    live.client.release([0, 0, 1, 0, 1])
    assert live.state(cid).filled_quantity == pytest.approx(0.05)
    assert live.kernel.portfolio.fill_count == 1
    assert live.live.applier.counts.duplicates == 2


async def test_cumulative_quantity_without_its_trade_is_held_then_derived(
    tmp_path: Path,
) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    cid = order.client_order_id
    await live.live.idle()
    live.client.hold_stream = True
    trade = live.ref.fill(cid, 0.04, 60_010.0)
    live.client.release([1])  # only the cumulative status (0.04 filled)
    assert live.state(cid).filled_quantity == 0.0  # held: the trade is expected
    assert live.live.applier.held[cid][0] == pytest.approx(0.04)
    live.ref.trades.remove(trade)  # and the venue's trade list lacks it too
    summary = await live.live.reconcile("periodic")
    assert summary.fills_derived == 1
    assert live.state(cid).filled_quantity == pytest.approx(0.04)
    assert live.state(cid).avg_price == pytest.approx(60_010.0)
    # The real trade turning up later is absorbed by the derived fill, not counted twice.
    live.client.release([0]) if live.client.pending else None
    live.live.on_trade(trade)
    assert live.state(cid).filled_quantity == pytest.approx(0.04)
    assert live.live.applier.counts.absorbed == 1
    kinds = [msgspec.json.decode(r.data)["kind"] for r in live.audited("reconcile_discrepancy")]
    assert "derived_fill" in kinds


async def test_impossible_reports_are_audited_counted_and_alerted_never_raised(
    tmp_path: Path,
) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    cid = order.client_order_id
    await live.live.idle()
    vid = live.state(cid).venue_order_id
    wrong_side = TradeReport(
        venue=VENUE, symbol=SYMBOL, client_order_id=cid, venue_order_id=vid, trade_id="X1",
        side=OrderSide.SELL, price=60_000.0, quantity=0.01, fee=0.0, fee_currency="USDT",
        liquidity=LiquiditySide.TAKER, ts_event=1,
    )  # fmt: skip
    too_much = msgspec.structs.replace(wrong_side, side=OrderSide.BUY, trade_id="X2", quantity=5.0)
    overfilled = OrderStatusReport(
        venue=VENUE, symbol=SYMBOL, client_order_id=cid, venue_order_id=vid,
        side=OrderSide.BUY, order_type=OrderType.LIMIT, status=S.PARTIALLY_FILLED,
        quantity=0.1, price=60_000.0, filled_quantity=0.5, avg_price=60_000.0, ts_event=2,
    )  # fmt: skip
    live.live.on_trade(wrong_side)
    live.live.on_trade(too_much)
    live.live.on_order_status(overfilled)
    assert live.live.applier.counts.rejected == 3
    assert live.state(cid).status is S.ACCEPTED
    assert live.state(cid).filled_quantity == 0.0
    assert len(live.audited("report_rejected")) == 3
    assert live.kinds().count("report_rejected") == 3


async def test_cancel_while_submit_in_flight_is_sent_after_the_ack(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    order = live.buy(0.1)
    cid = order.client_order_id
    live.execution.cancel(cid)  # still SUBMITTED: the venue may not have it yet
    await live.live.idle()
    assert live.state(cid).status is S.CANCELLED
    assert live.ref.order_of(cid).status is S.CANCELLED
    assert live.ref.submissions[cid] == 1


async def test_risk_checks_apply_to_live_orders(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    huge = live.buy(10.0)  # 600k notional > max_order_notional (50k)
    await live.live.idle()
    assert huge.status is S.REJECTED
    assert live.ref.submissions[huge.client_order_id] == 0


async def test_cancel_after_is_armed_and_re_armed_on_venues_that_have_it(tmp_path: Path) -> None:
    settings = LiveSettings(cancel_after_s=0.06)
    live = Live(tmp_path, settings=settings)
    live.client.supports_cancel_after = True
    await live.start()
    assert live.ref.heartbeats == [0.06]  # armed before start returns
    await until(lambda: len(live.ref.heartbeats) >= 3)  # every third of the timeout
    await live.live.stop()
    count = len(live.ref.heartbeats)
    assert set(live.ref.heartbeats) == {0.06}
    await asyncio.sleep(0)  # nothing re-arms once stopped
    assert len(live.ref.heartbeats) == count


async def test_no_cancel_after_without_the_capability(tmp_path: Path) -> None:
    live = Live(tmp_path, settings=LiveSettings(cancel_after_s=0.06))
    await live.start()
    await live.live.stop()
    assert live.ref.heartbeats == []


async def test_stop_cancels_a_settlement_still_waiting_and_the_order_stays_submitted(
    tmp_path: Path,
) -> None:
    live = Live(tmp_path, settings=LiveSettings(query_backoff_s=(30.0,)))
    await live.start()
    live.client.hold_stream = True
    live.ref.fault_next("lost")
    cid = live.buy(0.1).client_order_id
    await until(lambda: cid in live.ref.by_client)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await live.live.stop(grace_s=0.1)
    assert loop.time() - started < 5.0
    assert live.state(cid).status is S.SUBMITTED  # the next start's reconciliation settles it
    assert live.ref.submissions[cid] == 1
