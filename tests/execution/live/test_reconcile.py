"""Reconciliation against the reference venue: the venue is the truth."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.execution.live.harness import SLOW_QUERY, SYMBOL, VENUE, Live, until
from tests.execution.live.refvenue import RefVenue
from tradefabric.execution.live.apply import EXTERNAL_PREFIX, EXTERNAL_STRATEGY
from tradefabric.execution.live.events import RECONCILED, ReconcileSummary
from tradefabric.execution.live.reports import PositionReport
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderSide, OrderStatus

S = OrderStatus


def discrepancies(live: Live) -> list[tuple[str, str]]:
    return [
        (d["kind"], d["key"])
        for d in (msgspec.json.decode(r.data) for r in live.audited("reconcile_discrepancy"))
    ]


async def test_start_adopts_external_orders_and_sets_balances(tmp_path: Path) -> None:
    ref = RefVenue(VENUE, balances={"USDT": 90_000.0, "BTC": 0.5})
    external = ref.place_external(OrderSide.SELL, 0.2, 61_000.0)
    live = Live(tmp_path, venue=ref)
    summaries: list[ReconcileSummary] = []
    live.bus.subscribe(RECONCILED, summaries.append)
    await live.start()
    cid = EXTERNAL_PREFIX + external.venue_order_id
    adopted = live.state(cid)
    assert adopted.strategy_id == EXTERNAL_STRATEGY
    assert adopted.status is S.ACCEPTED
    assert adopted.venue_order_id == external.venue_order_id
    assert live.kernel.portfolio.balance(VENUE, "USDT") == 90_000.0
    assert live.kernel.portfolio.balance(VENUE, "BTC") == 0.5
    found = discrepancies(live)
    assert ("external_order", cid) in found
    assert ("balance", "USDT") in found and ("balance", "BTC") in found
    assert len(summaries) == 1 and summaries[0].adopted == 1 and summaries[0].reason == "start"
    assert summaries[0].discrepancies == 3
    assert live.kinds().count("reconcile_discrepancy") == 3
    assert "reconcile_summary" in live.kinds()
    assert len(live.audited("reconcile_summary")) == 1
    # An adopted order then fills like any other.
    ref.fill(external.venue_order_id, 0.2, 61_000.0)
    await until(lambda: live.state(cid).status is S.FILLED)


async def test_reconnect_applies_the_fills_the_stream_lost(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    a = live.buy(0.1, 60_000.0).client_order_id
    b = live.buy(0.2, 59_000.0).client_order_id
    await live.live.idle()
    live.client.hold_stream = True
    live.ref.fill(a, 0.05, 60_000.0)
    live.ref.fill(a, 0.05, 59_999.0)  # a is filled at the venue
    live.ref.fill(b, 0.1, 59_000.0)  # b partly
    live.client.hold_stream = False
    live.client.reconnect()  # what was on the stream is lost
    await live.live.idle()
    assert live.state(a).status is S.FILLED
    assert live.state(b).status is S.PARTIALLY_FILLED
    assert live.state(b).filled_quantity == pytest.approx(0.1)
    assert live.kernel.portfolio.quantity(InstrumentId(VENUE, SYMBOL)) == pytest.approx(0.2)
    assert live.kernel.portfolio.balance(VENUE, "USDT") == pytest.approx(live.ref.balances["USDT"])
    summary = live.live.summaries[-1]
    assert summary.reason == "reconnect"
    assert summary.fills_applied == 3
    assert summary.balances_corrected == 0  # the fills brought the ledger exactly
    found = discrepancies(live)
    assert ("missing_fill", a) in found and ("missing_fill", b) in found
    # A second reconciliation finds nothing more.
    again = await live.live.reconcile("periodic")
    assert (again.fills_applied, again.discrepancies) == (0, 0)


async def test_orders_no_longer_open_are_resolved_by_query(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    cid = live.buy(0.1).client_order_id
    await live.live.idle()
    live.client.hold_stream = True
    live.ref.cancel_at_venue(cid)  # cancelled by hand at the venue; the stream lost it
    live.client.pending.clear()
    summary = await live.live.reconcile("periodic")
    assert summary.orders_resolved == 1
    assert live.state(cid).status is S.CANCELLED  # as the venue says (by hand, not by us)
    assert ("order_not_open", cid) in discrepancies(live)


async def test_an_order_the_venue_never_had_is_rejected(tmp_path: Path) -> None:
    live = Live(tmp_path, settings=SLOW_QUERY)
    await live.start()
    live.ref.fault_next("lost")
    live.client.hold_stream = True
    cid = live.buy(0.1).client_order_id
    await until(lambda: cid in live.ref.by_client)
    # The venue loses the order entirely (as if the request never reached it).
    vid = live.ref.by_client.pop(cid)
    del live.ref.orders[vid]
    live.client.pending.clear()
    assert live.state(cid).status is S.SUBMITTED
    await live.live.idle()
    assert live.state(cid).status is S.REJECTED
    assert live.client.queries == 2  # absent_after
    assert live.ref.submissions[cid] == 1


async def test_positions_are_set_to_the_venues(tmp_path: Path) -> None:
    ref = RefVenue(VENUE)
    ref.positions[SYMBOL] = PositionReport(
        venue=VENUE, symbol=SYMBOL, quantity=-0.3, entry_price=61_000.0, ts_event=1
    )
    live = Live(tmp_path, venue=ref)
    await live.start()
    position = live.kernel.portfolio.position(InstrumentId(VENUE, SYMBOL))
    assert (position.quantity, position.avg_price) == (-0.3, 61_000.0)
    assert ("position", SYMBOL) in discrepancies(live)


async def test_an_order_in_flight_is_left_to_its_submit(tmp_path: Path) -> None:
    live = Live(tmp_path)
    await live.start()
    live.ref.fault_next("slow:0.2")
    cid = live.buy(0.1).client_order_id
    summary = await live.live.reconcile("periodic")  # the venue does not list it yet
    assert summary.orders_resolved == 0
    await live.live.idle()
    assert live.state(cid).status is S.ACCEPTED
    assert live.ref.submissions[cid] == 1
