"""Load each top-level command's module only when that command runs.

``tradefabric --help`` lists every command; importing them all would load
pyarrow, DuckDB, aiohttp, Redis and the node just to print names. The list
comes from ``COMMANDS`` (module, attribute, one-line help) instead, and a
command's module is imported when the command line names it. A test keeps
the help lines here equal to the commands' own.
"""

from __future__ import annotations

import importlib
from typing import Final

import msgspec
import typer

# Typer vendors its own click; subclassing its group needs those exact classes.
from typer import _click as click
from typer.core import TyperCommand, TyperGroup


class LazyCommand(msgspec.Struct, frozen=True):
    """Where a top-level command lives and its one-line help."""

    module: str
    attribute: str
    """A ``typer.Typer`` (a command group) or a command function."""
    help: str


COMMANDS: Final[dict[str, LazyCommand]] = {
    "data": LazyCommand(
        "tradefabric.cli.data_commands",
        "app",
        "Market data: replay recordings, verify order books, query the catalog.",
    ),
    "venue": LazyCommand(
        "tradefabric.cli.venue_commands",
        "app",
        "Local fake venues for offline testing against realistic traffic.",
    ),
    "stream": LazyCommand(
        "tradefabric.cli.stream_commands",
        "app",
        "Redis Streams: publish a node's events from one process, consume them in another.",
    ),
    "demo": LazyCommand(
        "tradefabric.cli.demo",
        "demo",
        "Run the whole Phase 1 pipeline offline on the real data bundled with the package.",
    ),
    "feed": LazyCommand(
        "tradefabric.cli.feed_command",
        "feed",
        "Run a live feed with a status table: rates, lag, book state, reconnects.",
    ),
    "backtest": LazyCommand(
        "tradefabric.cli.backtest_commands",
        "backtest",
        "Run a backtest over the catalog; write orders, fills, equity, metrics and a chart.",
    ),
    "paper": LazyCommand(
        "tradefabric.cli.backtest_commands",
        "paper",
        "Paper-trade the config's strategies on its live feeds, filling with the simulator.",
    ),
    "run": LazyCommand(
        "tradefabric.cli.backtest_commands",
        "run",
        "Run the trading node on its live feeds, each venue executed as its `execution` says.",
    ),
    "macro": LazyCommand(
        "tradefabric.cli.macro_commands",
        "app",
        "Market-wide (macro) readings: BTC dominance, total market cap.",
    ),
    "tradingview": LazyCommand(
        "tradefabric.cli.webhook_command",
        "tradingview",
        "Serve a TradingView webhook; print each accepted alert as one JSON signal line.",
    ),
    "audit": LazyCommand(
        "tradefabric.cli.state_commands", "audit_app", "The audit log: verify its hash chain."
    ),
    "risk": LazyCommand(
        "tradefabric.cli.state_commands", "risk_app", "The risk engine's stored halt."
    ),
    "state": LazyCommand(
        "tradefabric.cli.state_commands", "state_app", "The state store a node restores from."
    ),
    "report": LazyCommand(
        "tradefabric.cli.backtest_commands", "report_app", "Reports on run folders."
    ),
    "guard": LazyCommand(
        "tradefabric.cli.guard_command",
        "guard",
        "Cancel every open order on live venues without cancel-after when the heartbeat stops.",
    ),
    "ctl": LazyCommand(
        "tradefabric.cli.ctl_commands",
        "app",
        "Operate a running node over its control API: status, pause, FLAT ALL, halt.",
    ),
    "signals": LazyCommand(
        "tradefabric.cli.signals_command",
        "signals",
        "Run indicators, regime, the signal plugins, confidence and the ensemble over candles.",
    ),
    "research": LazyCommand(
        "tradefabric.cli.research_commands",
        "app",
        "Research: parameter sweeps and walk-forward optimisation.",
    ),
}


def load_command(name: str) -> click.Command:
    """Import command ``name``'s module and return its click command."""
    spec = COMMANDS[name]
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    if isinstance(target, typer.Typer):
        # A group even with one subcommand, as add_typer makes it (``venue serve``).
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: lists ``COMMANDS`` from the table, imports one only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the eager commands, then the lazy ones in table order."""
        eager = [n for n in super().list_commands(ctx) if n not in COMMANDS]
        return [*eager, *COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a loaded command, or a stand-in carrying only the name and help (listing)."""
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        return TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Load the command the arguments name, then resolve as usual."""
        if args and args[0] in COMMANDS and args[0] not in self.commands:
            self.add_command(load_command(args[0]), args[0])
        return super().resolve_command(ctx, args)
