"""Transaction cost analysis: what each parent order paid against arrival, market and forecast.

Computed only from what a run folder keeps: ``parents.jsonl`` (each parent's arrival
mid, pre-trade forecast, per-child marks and the market's traded volume while it
worked) and ``fills.jsonl`` (what its children paid). Prices, fees and maker share
are recomputed from the fills, not taken from the parent's own running sums.

Every slippage is in bps and positive when it cost us: a buy above the reference,
a sell below it. ``vs_forecast_bps`` compares like with like: the children's cost
against the mid at the moment each was sent (what the liquidity forecaster forecasts)
minus that forecast, weighted by filled notional.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import msgspec

from tradefabric.core.errors import DataSourceError
from tradefabric.core.time import NS_PER_DAY, ns_to_iso
from tradefabric.model.orders import Fill, LiquiditySide, OrderSide, ParentSnapshot

T = TypeVar("T")

PARENTS_FILE = "parents.jsonl"
"""Every parent order of the run (execution algorithms), in its final state."""
FILLS_FILE = "fills.jsonl"


class ParentCost(msgspec.Struct, frozen=True, kw_only=True):
    """One parent order's costs; None where the run did not know enough to say."""

    parent_id: str
    strategy_id: str
    venue: str
    symbol: str
    side: OrderSide
    algorithm: str
    status: str
    day: str
    """UTC day of the parent's arrival (market time)."""
    ts_start: int
    ts_end: int
    children: int
    quantity: float
    filled: float
    fill_ratio: float
    notional: float
    """Filled quantity times price, from the fills."""
    arrival_price: float | None
    market_vwap: float | None
    """VWAP of the market's trades while the parent worked."""
    avg_price: float | None
    slippage_bps: float | None
    """Average fill price against the arrival mid (implementation shortfall)."""
    vwap_slippage_bps: float | None
    """Average fill price against the market VWAP over the parent's life."""
    child_slippage_bps: float | None
    """Each child's fills against the mid when it was sent, notional-weighted."""
    forecast_bps: float | None
    """The pre-trade forecast of those children's slippage, notional-weighted."""
    vs_forecast_bps: float | None
    """``child_slippage_bps - forecast_bps``: positive when it cost more than forecast."""
    fees: float
    fees_bps: float | None
    maker_share: float
    """Maker quantity over filled quantity (0 when nothing filled)."""


class DayCost(msgspec.Struct, frozen=True, kw_only=True):
    """One UTC day of parents: bps figures weighted by filled notional."""

    day: str
    parents: int
    children: int
    notional: float
    fees: float
    fill_ratio: float
    """Mean of the parents' fill ratios (quantities of different symbols do not add)."""
    maker_share: float
    """Maker notional over filled notional."""
    slippage_bps: float | None
    vwap_slippage_bps: float | None
    child_slippage_bps: float | None
    forecast_bps: float | None
    vs_forecast_bps: float | None


def _bps(side: OrderSide, price: float, reference: float | None) -> float | None:
    if reference is None or reference <= 0:
        return None
    return side.sign * (price - reference) / reference * 1e4


class _Sums:
    """Notional-weighted sums of optional bps figures."""

    def __init__(self) -> None:
        self.value: dict[str, float] = {}
        self.weight: dict[str, float] = {}

    def add(self, name: str, value: float | None, weight: float) -> None:
        if value is None or weight <= 0:
            return
        self.value[name] = self.value.get(name, 0.0) + value * weight
        self.weight[name] = self.weight.get(name, 0.0) + weight

    def mean(self, name: str) -> float | None:
        weight = self.weight.get(name, 0.0)
        return self.value[name] / weight if weight > 0 else None


def _child_costs(parent: ParentSnapshot, by_child: dict[str, list[Fill]]) -> _Sums:
    """Sum each child's slippage vs its send-time mid and its forecast, by child notional."""
    sums = _Sums()
    for mark in parent.marks:
        fills = by_child.get(mark.client_order_id, [])
        quantity = sum(f.quantity for f in fills)
        if quantity <= 0:
            continue
        notional = sum(f.price * f.quantity for f in fills)
        child = _bps(parent.side, notional / quantity, mark.mid)
        if child is None or mark.forecast_bps is None:
            continue  # compared only where both the cost and its forecast are known
        sums.add("child", child, notional)
        sums.add("forecast", mark.forecast_bps, notional)
    return sums


def parent_cost(parent: ParentSnapshot, fills: Iterable[Fill]) -> ParentCost:
    """Return the costs of ``parent`` from its children's ``fills`` (others are ignored)."""
    children = set(parent.children)
    by_child: dict[str, list[Fill]] = {}
    for fill in fills:
        if fill.client_order_id in children:
            by_child.setdefault(fill.client_order_id, []).append(fill)
    mine = [f for child in parent.children for f in by_child.get(child, [])]
    filled = sum(f.quantity for f in mine)
    notional = sum(f.price * f.quantity for f in mine)
    fees = sum(f.fee for f in mine)
    maker = sum(f.quantity for f in mine if f.liquidity is LiquiditySide.MAKER)
    avg = notional / filled if filled > 0 else None
    vwap = parent.market_notional / parent.market_volume if parent.market_volume > 0 else None
    sums = _child_costs(parent, by_child)
    child, forecast = sums.mean("child"), sums.mean("forecast")
    return ParentCost(
        parent_id=parent.parent_id, strategy_id=parent.strategy_id, venue=parent.venue,
        symbol=parent.symbol, side=parent.side, algorithm=parent.exec_algorithm,
        status=str(parent.status), day=ns_to_iso(parent.ts_init - parent.ts_init % NS_PER_DAY)[:10],
        ts_start=parent.ts_init, ts_end=parent.ts_last, children=len(parent.children),
        quantity=parent.quantity, filled=filled,
        fill_ratio=filled / parent.quantity if parent.quantity > 0 else 0.0, notional=notional,
        arrival_price=parent.arrival_price, market_vwap=vwap, avg_price=avg,
        slippage_bps=None if avg is None else _bps(parent.side, avg, parent.arrival_price),
        vwap_slippage_bps=None if avg is None else _bps(parent.side, avg, vwap),
        child_slippage_bps=child, forecast_bps=forecast,
        vs_forecast_bps=None if child is None or forecast is None else child - forecast,
        fees=fees, fees_bps=fees / notional * 1e4 if notional > 0 else None,
        maker_share=maker / filled if filled > 0 else 0.0,
    )  # fmt: skip


def day_costs(costs: Iterable[ParentCost]) -> list[DayCost]:
    """Return one row per UTC day of ``costs``, in day order."""
    by_day: dict[str, list[ParentCost]] = {}
    for cost in costs:
        by_day.setdefault(cost.day, []).append(cost)
    return [_day(day, rows) for day, rows in sorted(by_day.items())]


def _day(day: str, rows: list[ParentCost]) -> DayCost:
    sums = _Sums()
    maker = 0.0
    for c in rows:
        maker += c.maker_share * c.notional
        sums.add("arrival", c.slippage_bps, c.notional)
        sums.add("vwap", c.vwap_slippage_bps, c.notional)
        sums.add("child", c.child_slippage_bps, c.notional)
        sums.add("forecast", c.forecast_bps, c.notional)
        sums.add("vs", c.vs_forecast_bps, c.notional)
    notional = sum(c.notional for c in rows)
    return DayCost(
        day=day, parents=len(rows), children=sum(c.children for c in rows), notional=notional,
        fees=sum(c.fees for c in rows), fill_ratio=sum(c.fill_ratio for c in rows) / len(rows),
        maker_share=maker / notional if notional > 0 else 0.0,
        slippage_bps=sums.mean("arrival"), vwap_slippage_bps=sums.mean("vwap"),
        child_slippage_bps=sums.mean("child"), forecast_bps=sums.mean("forecast"),
        vs_forecast_bps=sums.mean("vs"),
    )  # fmt: skip


class RunCosts(msgspec.Struct, frozen=True, kw_only=True):
    """A run folder's transaction cost analysis: every parent, and the days."""

    parents: list[ParentCost]
    days: list[DayCost]


def _lines(path: Path, kind: type[T]) -> Iterator[T]:
    decoder = msgspec.json.Decoder(kind)
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            # A line without its newline is still being written (a live run): not yet a record.
            if not line.strip() or not line.endswith(b"\n"):
                continue
            try:
                yield decoder.decode(line)
            except msgspec.ValidationError as exc:
                raise DataSourceError(f"{path} line {n}: not a {kind.__name__}: {exc}") from exc
            except msgspec.DecodeError as exc:
                raise DataSourceError(f"{path} line {n}: not JSON: {exc}") from exc


def run_costs(run_dir: Path, *, required: bool = True) -> RunCosts:
    """Return the TCA of the run folder ``run_dir``.

    ``required``: a folder that is not a run folder (no ``fills.jsonl``) is an error;
    else a run without parents (or before its end wrote ``parents.jsonl``) has none.
    """
    if required:
        if not run_dir.is_dir():
            raise DataSourceError(f"{run_dir}: no such run folder")
        if not (run_dir / FILLS_FILE).is_file():
            raise DataSourceError(f"{run_dir}: not a run folder (no {FILLS_FILE})")
    parents_path = run_dir / PARENTS_FILE
    if not parents_path.is_file():
        return RunCosts(parents=[], days=[])
    parents = list(_lines(parents_path, ParentSnapshot))
    fills = list(_lines(run_dir / FILLS_FILE, Fill)) if (run_dir / FILLS_FILE).is_file() else []
    costs = [parent_cost(p, fills) for p in parents]
    return RunCosts(parents=costs, days=day_costs(costs))
