"""``tradefabric ctl``: operate a running node through its control API (HTTP only).

Every subcommand is one request to the node's ``control:`` server
(``ops.control.http``); the token comes from ``--token`` or
``$TRADEFABRIC_CTL_TOKEN`` and the operator's name (audited with each command)
from ``--operator`` (default: the login name).
"""

from __future__ import annotations

import getpass
import urllib.error
import urllib.request
from typing import Annotated, Any, TypeVar

import msgspec
import typer

from tradefabric.cli.output import print_json, stdout
from tradefabric.core.time import ns_to_iso
from tradefabric.execution.portfolio import PositionSnapshot
from tradefabric.model.orders import OrderSnapshot
from tradefabric.ops.control.views import CommandResult, FlatAllReport, JobView, StatusView

app = typer.Typer(
    help="Operate a running node over its control API: status, pause, FLAT ALL, halt.",
    no_args_is_help=True,
)
T = TypeVar("T")

Url = Annotated[
    str,
    typer.Option("--url", envvar="TRADEFABRIC_CTL_URL", help="The node's control API."),
]
Token = Annotated[
    str,
    typer.Option("--token", envvar="TRADEFABRIC_CTL_TOKEN", help="The control token."),
]
Operator = Annotated[
    str, typer.Option("--operator", help="Your name, written to the audit log with the command.")
]
Json = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]
DEFAULT_URL = "http://127.0.0.1:8780"


class _Refused(msgspec.Struct, frozen=True):
    error: str = ""
    kind: str = ""


def _request(
    url: str, token: str, path: str, kind: type[T], *, body: object = None, operator: str = ""
) -> T:
    data = None if body is None else msgspec.json.encode(body)
    request = urllib.request.Request(
        url.rstrip("/") + path, data=data, method="GET" if data is None else "POST"
    )
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    if operator:
        request.add_header("X-Operator", operator)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return msgspec.json.decode(response.read(), type=kind)
    except urllib.error.HTTPError as exc:
        refused = msgspec.json.decode(exc.read() or b"{}", type=_Refused)
        stdout.print(f"refused ({exc.code}): {refused.error or exc.reason}", highlight=False)
        raise typer.Exit(code=2 if exc.code == 401 else 1) from exc
    except (urllib.error.URLError, OSError) as exc:
        stdout.print(f"cannot reach the node at {url}: {exc}", highlight=False)
        raise typer.Exit(code=2) from exc


def _operator(name: str) -> str:
    return name or getpass.getuser()


def _show(value: Any, json_output: bool, lines: list[str]) -> None:
    if json_output:
        print_json(value)
        return
    for line in lines:
        stdout.print(line, highlight=False)


@app.command("status")
def status(url: Url = DEFAULT_URL, token: Token = "", json_output: Json = False) -> None:
    """Print trades, orders, fills, equity, PnL, halt, paused strategies and feed health."""
    view = _request(url, token, "/api/status", StatusView)
    risk = view.risk
    lines = [
        f"mode {view.mode}  trades {view.trades}  candles {view.candles}  orders {view.orders} "
        f"(open {view.open_orders})  fills {view.fills}",
        f"equity {view.equity:.2f}  pnl total {view.pnl.total:+.2f}  day {view.pnl.day:+.2f}",
        f"halted: {risk.halt_reason or 'yes'}" if risk.halted else "trading: not halted",
        f"strategies {', '.join(view.strategies) or '-'}; paused {', '.join(risk.paused) or '-'}",
        f"faults {len(view.faults)}  alerts {view.alerts}",
        *(f"venue {venue} tripped (ctl rearm): {why}" for venue, why in risk.tripped.items()),
    ]
    for venue in view.data.venues if view.data else ():
        lines.append(f"feed {venue.venue}: parsed {venue.parsed}  dropped {venue.dropped}  "
                     f"rejected {venue.rejected}")  # fmt: skip
    _show(view, json_output, lines)


@app.command("positions")
def positions(url: Url = DEFAULT_URL, token: Token = "", json_output: Json = False) -> None:
    """Print the open positions."""
    rows = _request(url, token, "/api/positions", list[PositionSnapshot])
    lines = [
        f"{p.venue} {p.symbol} {p.quantity:g} @ {p.avg_price:g}  mark {p.mark:g}  "
        f"upnl {p.unrealized_pnl:+.2f}"
        for p in rows
    ] or ["flat: no open position"]
    _show(rows, json_output, lines)


@app.command("orders")
def orders(url: Url = DEFAULT_URL, token: Token = "", json_output: Json = False) -> None:
    """Print the open orders."""
    rows = _request(url, token, "/api/orders", list[OrderSnapshot])
    lines = [
        f"{o.client_order_id} {o.strategy_id} {o.venue} {o.symbol} {o.side} {o.order_type} "
        f"{o.quantity:g} @ {o.price} {o.status}"
        for o in rows
    ] or ["no open order"]
    _show(rows, json_output, lines)


def _command(
    url: str, token: str, path: str, body: object, operator: str, json_output: bool
) -> None:
    result = _request(url, token, path, CommandResult, body=body, operator=_operator(operator))
    _show(result, json_output, [result.message])


@app.command("pause")
def pause(
    strategy: Annotated[str, typer.Argument(help="The strategy id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Pause one strategy: its new orders are rejected until resumed."""
    _command(url, token, f"/api/strategies/{strategy}/pause", {"reason": reason}, operator,
             json_output)  # fmt: skip


@app.command("resume")
def resume(
    strategy: Annotated[str, typer.Argument(help="The strategy id.")],
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Resume a paused strategy."""
    _command(url, token, f"/api/strategies/{strategy}/resume", {}, operator, json_output)


@app.command("rearm")
def rearm(
    venue: Annotated[str, typer.Argument(help="The venue whose breaker tripped.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it may trade again (audited).")],
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Re-arm a venue whose circuit breaker stopped its trading."""
    _command(url, token, f"/api/venues/{venue}/rearm", {"reason": reason}, operator, json_output)


@app.command("halt")
def halt(
    reason: Annotated[str, typer.Option("--reason", help="Why trading stops (audited).")],
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Halt trading: open orders cancelled, every new order rejected until reset."""
    _command(url, token, "/api/halt", {"reason": reason}, operator, json_output)


@app.command("reset")
def reset(
    reason: Annotated[str, typer.Option("--reason", help="Why trading may resume (audited).")],
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Reset a halt."""
    _command(url, token, "/api/reset", {"reason": reason}, operator, json_output)


@app.command("jobs")
def jobs(url: Url = DEFAULT_URL, token: Token = "", json_output: Json = False) -> None:
    """Print the scheduled jobs: cron, runs, failures, skips, next due time (UTC)."""
    rows = _request(url, token, "/api/jobs", list[JobView])
    lines = [
        f"{j.name} [{j.cron or 'on ' + j.event}] runs {j.runs} failures {j.failures} "
        f"skipped {j.skipped} {'RUNNING ' if j.running else ''}"
        + (f"next {ns_to_iso(j.next_ns)}" if j.cron else "next on the event")
        + (f"  last error: {j.last_error}" if j.last_error else "")
        for j in rows
    ] or ["no scheduled job"]
    _show(rows, json_output, lines)


@app.command("run-job")
def run_job(
    name: Annotated[str, typer.Argument(help="The schedule entry's name.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Start a scheduled job now, in its low-priority worker (its end is alerted)."""
    _command(url, token, f"/api/jobs/{name}/run", {"reason": reason}, operator, json_output)


@app.command("reload")
def reload(
    reason: Annotated[str, typer.Option("--reason", help="Why (audited).")] = "",
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """Re-read the node's config file: risk limits, schedule, alert throttles; refuse the rest."""
    _command(url, token, "/api/reload", {"reason": reason}, operator, json_output)


@app.command("flatall")
def flatall(
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for flat.")] = 10.0,
    url: Url = DEFAULT_URL, token: Token = "", operator: Operator = "", json_output: Json = False,
) -> None:  # fmt: skip
    """FLAT ALL: pause strategies, cancel orders, close positions; exit 1 if any is left."""
    report = _request(url, token, "/api/flat_all", FlatAllReport, body={"wait_s": wait},
                      operator=_operator(operator))  # fmt: skip
    lines = [
        f"paused {', '.join(report.paused) or '-'}; cancelled {len(report.cancelled)} orders; "
        f"sent {len(report.closing)} closing orders",
        *(f"LEFT {p.venue} {p.symbol} {p.quantity:g}: {p.reason}" for p in report.left),
        *(f"OPEN {o.client_order_id} {o.symbol} {o.status}" for o in report.open_orders),
        "flat" if report.flat else "NOT flat",
    ]
    _show(report, json_output, lines)
    if not report.flat:
        raise typer.Exit(code=1)
