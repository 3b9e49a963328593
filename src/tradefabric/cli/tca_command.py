"""``tradefabric tca --run DIR``: the transaction costs of a run folder's parent orders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradefabric.cli.output import fail, print_json, stdout
from tradefabric.cli.tables import fmt_count, print_rows
from tradefabric.core.errors import TradefabricError
from tradefabric.execution.tca import DayCost, ParentCost, run_costs

_PARENT_COLUMNS = (
    "parent",
    "algo",
    "side",
    "fill",
    "avg price",
    "arrival",
    "vwap",
    "fcst",
    "fees",
    "maker",
)
_DAY_COLUMNS = ("day", "parents", "notional", "fill", "arrival", "vwap", "fcst", "fees")


def _bps(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _parent_row(c: ParentCost) -> list[str]:
    price = "-" if c.avg_price is None else f"{c.avg_price:.8g}"
    return [
        c.parent_id, c.algorithm, str(c.side), f"{c.fill_ratio:.1%}", price,
        _bps(c.slippage_bps), _bps(c.vwap_slippage_bps), _bps(c.vs_forecast_bps),
        f"{c.fees:.4g}", f"{c.maker_share:.0%}",
    ]  # fmt: skip


def _day_row(d: DayCost) -> list[str]:
    return [
        d.day, str(d.parents), fmt_count(d.notional), f"{d.fill_ratio:.1%}",
        _bps(d.slippage_bps), _bps(d.vwap_slippage_bps), _bps(d.vs_forecast_bps),
        f"{d.fees:.4g}",
    ]  # fmt: skip


def tca(
    run: Annotated[Path, typer.Option("--run", help="Run folder (backtest, paper or live).")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print every parent's and day's costs as JSON.")
    ] = False,
) -> None:
    """Print each parent order's costs: arrival, VWAP, forecast slippage (bps), fees, fills."""
    try:
        costs = run_costs(run)
    except TradefabricError as exc:
        raise fail(exc) from exc
    if json_output:
        print_json(costs)
        return
    if not costs.parents:
        stdout.print(f"{run}: no parent orders (no execution algorithm ran)", highlight=False)
        return
    stdout.print(
        "slippage in bps (positive = cost) vs: arrival mid, market VWAP, forecast",
        highlight=False,
    )
    print_rows(stdout, _PARENT_COLUMNS, [_parent_row(c) for c in costs.parents], "parents")
    print_rows(stdout, _DAY_COLUMNS, [_day_row(d) for d in costs.days], "by UTC day")
