"""Parent orders of execution algorithms across a restart, on both backends: a TWAP stopped
after two children resumes the rest from the store, a finished parent sent again sends
nothing, and a parent whose stored record was lost adopts its children when resubmitted."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tests.execution.helpers import T0, Harness
from tests.state.conftest import StoreFactory
from tradefabric.core.time import NS_PER_MINUTE, NS_PER_SECOND
from tradefabric.data import topics
from tradefabric.model.data import AggressorSide, Trade
from tradefabric.model.orders import (
    OrderRequest,
    OrderSide,
    OrderStatus,
    ParentSnapshot,
    TwapParams,
)
from tradefabric.state.records import StateBatch
from tradefabric.state.restore import attach
from tradefabric.state.store import StateStore

QUANTITY = 0.06
PARAMS = TwapParams(horizon_s=60.0, interval_s=10.0, jitter=0.0)
TWAP = OrderRequest(strategy_id="s", venue="binance", symbol="BTC/USDT", side=OrderSide.BUY,
                    quantity=QUANTITY, client_order_id="P1", exec_algorithm="twap",
                    exec_params=PARAMS)  # fmt: skip


def _trade(h: Harness, ts: int) -> None:
    """A market trade at ``ts``: it moves the algorithm clock (and fires due slices)."""
    h.bus.publish(topics.TRADES, Trade("binance", "BTC/USDT", 60_000.0, 0.01,
                                       AggressorSide.BUY, str(ts), ts, ts))  # fmt: skip


def _first_run(h: Harness) -> None:
    """Start the TWAP at the first minute's end, fill two slices, then stop (no clean end)."""
    h.candle(60_000, 60_010, 59_990, 60_000)  # a price; the node clock at T0 + 1 min
    start = T0 + NS_PER_MINUTE
    _trade(h, start)
    h.kernel.algorithms.submit(TWAP)  # slice 1 now
    h.candle(60_000, 60_010, 59_990, 60_005)  # fills it
    _trade(h, start + 10 * NS_PER_SECOND)  # slice 2
    h.candle(60_005, 60_010, 59_990, 60_000)  # fills it
    _trade(h, start + 20 * NS_PER_SECOND)  # slice 3: sent, never filled (the crash)


def _children_filled(h: Harness, parent: ParentSnapshot) -> float:
    return sum(
        o.filled_quantity for o in h.execution.orders() if o.client_order_id in parent.children
    )


def test_a_twap_resumes_what_is_left_and_a_finished_parent_sends_nothing(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, _ = attach(first.kernel, store_factory())
    _first_run(first)
    before = first.kernel.algorithms.parent("P1")
    assert before is not None and before.filled_quantity == 0.02 and len(before.children) == 3
    recorder.flush()  # the crash: the process is gone, the store stays

    second = Harness(tmp_path)
    second.minute = first.minute
    recorder, report = attach(second.kernel, store_factory(), venue_state_lost=True)
    assert report.parents_resumed == 1 and report.expired == 1  # slice 3 died with the venue
    # Five minutes later (past the horizon): one child catches up everything left.
    _trade(second, T0 + 5 * NS_PER_MINUTE)
    second.candle(60_000, 60_010, 59_990, 60_000)
    second.candle(60_000, 60_010, 59_990, 60_000)
    parent = second.kernel.algorithms.parent("P1")
    assert parent is not None and parent.status is OrderStatus.FILLED
    assert parent.children == ("P1-c1", "P1-c2", "P1-c3", "P1-c4")  # c3 is never reused
    assert abs(parent.filled_quantity - QUANTITY) < 1e-12
    assert abs(_children_filled(second, parent) - QUANTITY) < 1e-12
    last = second.execution.order("P1-c4")
    assert last is not None and abs(last.quantity - (QUANTITY - 0.02)) < 1e-12
    recorder.flush()

    third = Harness(tmp_path)
    third.minute = second.minute
    recorder, report = attach(third.kernel, store_factory(), venue_state_lost=True)
    assert report.parents_resumed == 0
    again = third.kernel.algorithms.submit(TWAP)  # the strategy sends the same parent again
    _trade(third, T0 + 10 * NS_PER_MINUTE)
    assert again.status is OrderStatus.FILLED and third.kernel.algorithms.children_sent == 0
    recorder.close()


class _ParentsLost:
    """A real store that never gets the parent records (as if each was still queued)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def write(self, batch: StateBatch) -> None:
        self.store.write(msgspec.structs.replace(batch, parents=()))

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_a_parent_whose_record_was_lost_adopts_its_children(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, _ = attach(first.kernel, _ParentsLost(store_factory()))  # type: ignore[arg-type]
    _first_run(first)
    recorder.flush()

    second = Harness(tmp_path)
    second.minute = first.minute
    recorder, report = attach(second.kernel, store_factory(), venue_state_lost=True)
    assert report.parents_resumed == 0 and report.orders == 3
    parent = second.kernel.algorithms.submit(TWAP)  # the strategy sends it again
    assert parent.children[:3] == ("P1-c1", "P1-c2", "P1-c3")
    assert parent.filled_quantity == 0.02
    # Started again over a new horizon on what is left: no slice is sent twice.
    for k in range(1, 7):
        second.candle(60_000, 60_010, 59_990, 60_000)
        _trade(second, T0 + 5 * NS_PER_MINUTE + k * 10 * NS_PER_SECOND)
    second.candle(60_000, 60_010, 59_990, 60_000)
    done = second.kernel.algorithms.parent("P1")
    assert done is not None and done.status is OrderStatus.FILLED
    assert abs(done.filled_quantity - QUANTITY) < 1e-12
    assert len(set(done.children)) == len(done.children) > 3
    assert abs(_children_filled(second, done) - QUANTITY) < 1e-12
    recorder.close()
