"""The recorder fills the store off the hot path; restore loads it into a fresh kernel.

Each test runs a real kernel (simulated venue, SimClock) on both backends, then
builds a second kernel on the same store and audit log, as a restart does.
"""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec

from tests.execution.helpers import Harness
from tests.state.conftest import StoreFactory
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus, OrderType
from tradefabric.risk.audit import read_audit
from tradefabric.risk.audit_verify import verify_audit
from tradefabric.risk.venue_breaker import VENUE_FAULTS, VenueFault
from tradefabric.state.recorder import Recorder
from tradefabric.state.records import ResetRequest, StateBatch
from tradefabric.state.restore import LOST_ON_RESTART, attach
from tradefabric.state.store import StateStore


def _buy(qty: float, **kw: object) -> OrderRequest:
    return OrderRequest(strategy_id="s", venue="binance", symbol="BTC/USDT", side=OrderSide.BUY,
                        quantity=qty, **kw)  # type: ignore[arg-type]  # fmt: skip


def _sell(qty: float) -> OrderRequest:
    return OrderRequest(
        strategy_id="s", venue="binance", symbol="BTC/USDT", side=OrderSide.SELL, quantity=qty
    )


def _trade(h: Harness, rounds: int, start: float = 60_000.0) -> None:
    """Buy then sell on successive candles; leave a resting limit buy open."""
    price = start
    for i in range(rounds):
        h.execution.submit(_buy(0.01 * (i + 1)) if i % 2 == 0 else _sell(0.005 * (i + 1)))
        price += 10.0 * (1 if i % 3 else -1)
        h.candle(price, price + 5, price - 5, price + 1)
    h.execution.submit(_buy(0.02, order_type=OrderType.LIMIT, price=start - 1_000.0))
    h.candle(price, price + 5, price - 5, price)


def _state(h: Harness) -> tuple[object, ...]:
    positions = [
        (p.venue, p.symbol, p.quantity, p.avg_price, p.realized_pnl, p.fees, p.traded_notional)
        for p in h.kernel.portfolio.positions()
    ]
    return (h.execution.orders(), positions, h.kernel.portfolio.balances(),
            h.kernel.portfolio.totals())  # fmt: skip


def test_a_restart_resumes_with_the_same_orders_positions_and_balances(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, report = attach(first.kernel, store_factory())
    assert report.orders == 0 and report.caught_up_fills == 0
    _trade(first, 6)
    assert recorder.close().write_errors == 0
    assert first.kernel.portfolio.fill_count >= 5
    open_before = first.execution.open_order_snapshots()
    assert [o.order_type for o in open_before] == [OrderType.LIMIT]

    store = store_factory()
    assert store.orders() == first.execution.orders()
    second = Harness(tmp_path)  # same audit log: its chain continues
    _, report = attach(second.kernel, store)
    assert report.open_orders == 1 and report.caught_up_fills == 0
    assert report.fills == first.kernel.portfolio.fill_count
    assert _state(second) == _state(first)
    # A resubmission of a known id changes nothing; a fill reported again is ignored.
    again = second.execution.submit(_buy(0.02, client_order_id=open_before[0].client_order_id))
    assert again == open_before[0]
    old_fill = store.fills()[0]
    second.execution.on_fill(old_fill)
    assert second.kernel.portfolio.fill_count == first.kernel.portfolio.fill_count


def test_what_the_recorder_lost_is_caught_up_from_the_audit_log(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, _ = attach(first.kernel, store_factory())
    _trade(first, 3)
    recorder.close()  # unsubscribes: as if the process died with what follows still queued
    _trade(first, 4, start=61_000.0)
    store = store_factory()
    assert len(store.fills()) < first.kernel.portfolio.fill_count

    second = Harness(tmp_path)
    _, report = attach(second.kernel, store)
    assert report.caught_up_fills == first.kernel.portfolio.fill_count - 3
    assert report.caught_up_orders > 0
    assert _state(second) == _state(first)
    assert store.orders() == first.execution.orders()
    fills = store.fills()
    assert len({(f.client_order_id, f.fill_id) for f in fills}) == len(fills)


def test_a_simulated_venue_restart_finishes_open_orders_audited(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, _ = attach(first.kernel, store_factory())
    _trade(first, 2)
    recorder.close()
    second = Harness(tmp_path)
    recorder, report = attach(second.kernel, store_factory(), venue_state_lost=True)
    recorder.close()
    assert report.expired == 1 and second.execution.open_order_snapshots() == []
    store = store_factory()
    assert store.orders(open_only=True) == []
    expired = [o for o in store.orders() if o.status is OrderStatus.EXPIRED]
    assert [o.tag for o in expired] == [""] and len(expired) == 1
    events = [r for r in read_audit(tmp_path / "audit.jsonl") if r.kind == "order_event"]
    assert LOST_ON_RESTART.encode() in bytes(events[-1].data)
    assert verify_audit(tmp_path).ok


def test_a_halt_survives_restarts_until_a_person_resets_it(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, _ = attach(first.kernel, store_factory())
    first.kernel.risk.on_equity(100_000.0, first.clock.timestamp_ns())
    first.kernel.risk.halt("daily drawdown 7.00% > 5%", 93_000.0)
    recorder.close()
    for _ in range(2):
        restarted = Harness(tmp_path)
        recorder, report = attach(restarted.kernel, store_factory())
        recorder.close()
        assert report.halted and restarted.kernel.risk.halt_reason.startswith("daily drawdown")
        assert restarted.kernel.risk.day_high == 100_000.0
        order = restarted.execution.submit(_buy(0.01))
        assert order.status is OrderStatus.REJECTED
    store = store_factory()
    store.request_reset(ResetRequest(operator="ana", reason="checked", ts=1))
    reset = Harness(tmp_path)
    recorder, report = attach(reset.kernel, store)
    recorder.close()
    assert report.resets_applied == 1 and not reset.kernel.risk.halted
    assert store.pending_resets() == []
    risk = store.risk()
    assert risk is not None and not risk.halted
    audited = [r for r in read_audit(tmp_path / "audit.jsonl") if r.kind == "reset"]
    assert len(audited) == 1 and b'"operator":"ana"' in bytes(audited[0].data)


def test_a_strategy_gets_back_what_it_saved(store_factory: StoreFactory, tmp_path: Path) -> None:
    h = Harness(tmp_path)
    recorder, _ = attach(h.kernel, store_factory())
    recorder.save_strategy_state("s", b'{"ema": 60000.5}')
    recorder.save_strategy_state("s", b'{"ema": 60001.5}')
    recorder.close()
    saved = store_factory().strategy_state("s")
    assert saved is not None and saved.data == b'{"ema": 60001.5}'


class _GatedStore:
    """A real store whose writes wait for a gate (to fill the recorder's queue)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.gate = threading.Event()

    def write(self, batch: StateBatch) -> None:
        self.gate.wait()
        self.store.write(batch)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def test_a_full_queue_makes_the_hot_path_wait_counted_and_loses_nothing(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    h = Harness(tmp_path)
    gated = _GatedStore(store_factory())
    recorder = Recorder(gated, h.kernel, queue_limit=2)  # type: ignore[arg-type]
    released = threading.Timer(0.2, gated.gate.set)  # opens while the bus thread waits
    released.start()
    for i in range(10):
        recorder.save_strategy_state(f"s{i}", b"x")
    status = recorder.close()
    released.join()
    assert status.waits >= 1 and status.written == 10 and status.pending == 0
    assert all(gated.store.strategy_state(f"s{i}") is not None for i in range(10))
    assert msgspec.structs.asdict(status)["queued"] == 10


def test_pauses_and_open_breakers_survive_a_restart(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = Harness(tmp_path)
    recorder, _ = attach(first.kernel, store_factory())
    first.kernel.risk.pause("t", "news at 14:30")
    now = first.clock.timestamp_ns()
    fault = VenueFault(venue="binance", kind="feed_failed", detail="crash", ts=now)
    for _ in range(3):  # the default breaker: 3 failures within 10 minutes
        first.bus.publish(VENUE_FAULTS, fault)
    tripped_at = first.kernel.risk.breakers.tripped_venues()["binance"].since
    recorder.close()  # what was queued is written; nothing else saves it (no timer fired)
    restarted = Harness(tmp_path)
    recorder, _ = attach(restarted.kernel, store_factory())
    risk = restarted.kernel.risk
    assert risk.paused == {"t": "news at 14:30"}
    assert risk.breakers.tripped_venues()["binance"].since == tripped_at  # cooldown goes on
    assert restarted.execution.submit(_buy(0.01)).status is OrderStatus.REJECTED
    risk.resume("t")
    assert risk.breakers.rearm("binance", "ana", "back")
    recorder.close()
    again = Harness(tmp_path)
    recorder, _ = attach(again.kernel, store_factory())
    recorder.close()
    assert again.kernel.risk.paused == {} and again.kernel.risk.breakers.open_venues() == {}
