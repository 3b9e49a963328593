"""Fills derived from cumulative order state: increments, duplicates, late older states."""

from __future__ import annotations

from decimal import Decimal

from tradefabric.execution.live.coinbase.fills import CumulativeState, FillDeriver, cumulative_id


def _state(qty: str, avg: str, fees: str) -> CumulativeState:
    return CumulativeState(Decimal(qty), Decimal(avg), Decimal(fees))


def test_each_increase_is_one_fill_and_repeats_or_older_states_add_none() -> None:
    deriver = FillDeriver()
    kw = {"limit": Decimal("100.00"), "post_only": False, "tick": Decimal("0.01")}
    assert deriver.apply("o1", _state("0", "0", "0"), **kw) is None  # type: ignore[arg-type]
    first = deriver.apply("o1", _state("0.30000000", "100.00", "0.12"), **kw)  # type: ignore[arg-type]
    assert first is not None
    assert (first.trade_id, first.quantity, first.price, first.fee, first.maker) == (
        "o1:0.3", Decimal("0.3"), Decimal("100.00"), Decimal("0.12"), True,
    )  # fmt: skip
    # Second execution at 99.50: avg (0.3*100 + 0.2*99.5)/0.5 = 99.8
    second = deriver.apply("o1", _state("0.5", "99.8", "0.20"), **kw)  # type: ignore[arg-type]
    assert second is not None
    assert (second.trade_id, second.quantity, second.price, second.fee) == (
        "o1:0.5", Decimal("0.2"), Decimal("99.50"), Decimal("0.08"),
    )  # fmt: skip
    assert second.maker is False  # better than its limit: it crossed
    assert deriver.apply("o1", _state("0.5", "99.8", "0.20"), **kw) is None  # type: ignore[arg-type]
    assert deriver.is_stale("o1", _state("0.3", "100", "0.12"))
    assert deriver.duplicates == 1
    assert cumulative_id("o1", Decimal("0.50000000")) == "o1:0.5"
