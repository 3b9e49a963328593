"""What the state store holds, as frozen records (no bare dicts cross the store's boundary).

Orders, fills, positions and balances are the execution layer's own records
(``OrderSnapshot``, ``Fill``, ``PositionSnapshot``, ``BalanceSnapshot``); the
records here are the ones only the store needs.
"""

from __future__ import annotations

import msgspec

from tradefabric.execution.portfolio import BalanceSnapshot, PortfolioTotals, PositionSnapshot
from tradefabric.model.orders import Fill, OrderSnapshot, ParentSnapshot
from tradefabric.risk.engine import RiskSnapshot


class StrategyState(msgspec.Struct, frozen=True, kw_only=True):
    """What one strategy chose to save: opaque bytes (often JSON) under its id."""

    strategy_id: str
    data: bytes
    ts: int


class ResetRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A person's ``tradefabric risk reset``: applied (and audited) by the node at its start."""

    operator: str
    reason: str
    ts: int
    applied_ts: int = 0
    """When the node applied it; 0 while pending."""


class StateBatch(msgspec.Struct, frozen=True, kw_only=True):
    """Changes written in one transaction: all of them are stored, or none."""

    orders: tuple[OrderSnapshot, ...] = ()
    fills: tuple[Fill, ...] = ()
    positions: tuple[PositionSnapshot, ...] = ()
    balances: tuple[BalanceSnapshot, ...] = ()
    totals: PortfolioTotals | None = None
    risk: RiskSnapshot | None = None
    strategies: tuple[StrategyState, ...] = ()
    parents: tuple[ParentSnapshot, ...] = ()
    """Parent orders of execution algorithms (their latest state)."""

    def __len__(self) -> int:
        return (
            len(self.orders)
            + len(self.parents)
            + len(self.fills)
            + len(self.positions)
            + len(self.balances)
            + len(self.strategies)
            + (self.totals is not None)
            + (self.risk is not None)
        )


def merge(batches: list[StateBatch]) -> StateBatch:
    """Return one batch with every change of ``batches``, the latest state of each key last."""
    totals = next((b.totals for b in reversed(batches) if b.totals is not None), None)
    risk = next((b.risk for b in reversed(batches) if b.risk is not None), None)
    return StateBatch(
        orders=tuple(o for b in batches for o in b.orders),
        fills=tuple(f for b in batches for f in b.fills),
        positions=tuple(p for b in batches for p in b.positions),
        balances=tuple(x for b in batches for x in b.balances),
        totals=totals,
        risk=risk,
        strategies=tuple(s for b in batches for s in b.strategies),
        parents=tuple(p for b in batches for p in b.parents),
    )
