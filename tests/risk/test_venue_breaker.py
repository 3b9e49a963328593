"""A venue's circuit breaker: failures trip it, its orders are rejected (rule venue_tripped)
while its data keeps moving the books and fills, a person or the cooldown re-arms it;
every trip and re-arm is audited."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.execution.helpers import Harness
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_SECOND
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide, OrderStatus
from tradefabric.risk.audit import read_audit
from tradefabric.risk.config import RiskConfig
from tradefabric.risk.venue_breaker import (
    BREAKER_EVENTS,
    VENUE_FAULTS,
    BreakerConfig,
    BreakerEvent,
    VenueFault,
)


def _buy(qty: float = 0.01, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(strategy_id="t", venue="binance", symbol="BTC/USDT", side=OrderSide.BUY,
                        quantity=qty, reduce_only=reduce_only)  # fmt: skip


def _fail(h: Harness, venue: str = "binance", kind: str = "feed_failed") -> None:
    h.bus.publish(VENUE_FAULTS, VenueFault(venue=venue, kind=kind, detail="boom",
                                           ts=h.clock.timestamp_ns()))  # fmt: skip


def _harness(tmp_path: Path, **breaker: float) -> tuple[Harness, list[BreakerEvent]]:
    h = Harness(tmp_path, risk=RiskConfig(venue_breaker=BreakerConfig(**breaker)))  # type: ignore[arg-type]
    events: list[BreakerEvent] = []
    h.bus.subscribe(BREAKER_EVENTS, events.append)
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)
    return h, events


def test_failures_within_the_window_trip_the_venue_and_its_orders_are_rejected(
    tmp_path: Path,
) -> None:
    h, events = _harness(tmp_path, failures=3, window_s=60.0, cooldown_s=0.0)
    _fail(h)
    _fail(h, venue="bybit")  # another venue's failure counts for that venue only
    h.clock.advance_to(h.clock.timestamp_ns() + 61 * NS_PER_SECOND)
    _fail(h)
    _fail(h)  # the first one left the window: 2 of 3
    assert h.execution.submit(_buy()).status is OrderStatus.SUBMITTED
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)  # fills: data keeps flowing
    _fail(h, kind="unknown_outcome")
    assert [(e.venue, e.tripped) for e in events] == [("binance", True)]
    assert events[0].reason == "3 failures within 60 s, the last unknown_outcome: boom"
    order = h.execution.submit(_buy())
    assert order.status is OrderStatus.REJECTED
    assert h.kernel.risk.rejected_by_rule == {"venue_tripped": 1}
    # Data still moves the venue: the earlier order filled, the position is there.
    assert h.execution.position_quantity(InstrumentId("binance", "BTC/USDT")) == pytest.approx(0.01)
    assert h.kernel.risk.breakers.open_venues() == {"binance": events[0].reason}


def test_a_person_rearms_it_and_both_are_audited(tmp_path: Path) -> None:
    h, events = _harness(tmp_path, failures=1, cooldown_s=0.0)
    _fail(h)
    h.clock.advance_to(h.clock.timestamp_ns() + 3_600 * NS_PER_SECOND)
    assert h.execution.submit(_buy()).status is OrderStatus.REJECTED  # no cooldown: stays
    assert h.kernel.risk.breakers.rearm("binance", "ana", "venue status page green")
    assert not h.kernel.risk.breakers.rearm("binance", "ana", "again")  # nothing to re-arm
    assert h.execution.submit(_buy()).status is OrderStatus.SUBMITTED
    audited = [r for r in read_audit(h.audit_path) if r.kind == "venue_breaker"]
    assert [(e.tripped, e.operator) for e in events] == [(True, "breaker"), (False, "ana")]
    assert len(audited) == 2 and b'"operator":"ana"' in bytes(audited[1].data)


def test_the_cooldown_rearms_it_and_flat_all_passes_while_tripped(tmp_path: Path) -> None:
    h, events = _harness(tmp_path, failures=1, cooldown_s=30.0)
    h.execution.submit(_buy())
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)
    _fail(h)
    assert h.execution.submit(_buy()).status is OrderStatus.REJECTED
    h.execution.flatten_all()  # reduce-only system orders still go out
    h.candle(60000.0, 60010.0, 59990.0, 60000.0)
    assert h.execution.position_quantity(InstrumentId("binance", "BTC/USDT")) == pytest.approx(0.0)
    h.clock.advance_to(h.clock.timestamp_ns() + 31 * NS_PER_SECOND)
    assert h.execution.submit(_buy()).status is OrderStatus.SUBMITTED
    assert [(e.tripped, e.operator) for e in events] == [(True, "breaker"), (False, "cooldown")]


def test_failures_zero_never_trips_and_bad_settings_are_refused(tmp_path: Path) -> None:
    h, events = _harness(tmp_path, failures=0)
    for _ in range(10):
        _fail(h)
    assert events == [] and h.execution.submit(_buy()).status is OrderStatus.SUBMITTED
    with pytest.raises(ConfigError, match=r"risk\.venue_breaker\.window_s"):
        BreakerConfig(window_s=0.0)
    with pytest.raises(ConfigError, match=r"risk\.venue_breaker\.failures"):
        BreakerConfig(failures=-1)
