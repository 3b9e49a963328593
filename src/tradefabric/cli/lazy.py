"""Load each top-level command's module only when that command runs.

``tradefabric --help`` lists every command; importing them all would load
pyarrow, DuckDB, aiohttp, Redis and the node just to print names. The list
comes from ``COMMANDS`` (module, attribute, one-line help) instead, and a
command's module is imported when the command line names it. A test keeps
the help lines here equal to the commands' own.
"""

from __future__ import annotations

import importlib
from typing import ClassVar, Final

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


DATA_HELP = "Market data: replay recordings, verify order books, query the catalog."

DATA_COMMANDS: Final[dict[str, LazyCommand]] = {
    name: LazyCommand(f"tradefabric.cli.{module}", attribute, help_line)
    for name, module, attribute, help_line in (
        ("replay", "data_commands", "replay",
         "Replay FILE through the parser, books and candles; store into --catalog; print counts."),
        ("verify-book", "data_commands", "verify_book",
         "Rebuild the book of FILE (snapshot + diffs) and compare it with the venue's bookTicker."),
        ("query", "data_commands", "query",
         "Run SQL over the catalog's views: trades, quotes and candles (timestamps in int ns)."),
        ("import", "import_command", "import_data",
         "Import candle history from PATH into --catalog; importing again adds nothing."),
        ("download", "download_command", "download_data",
         "Download candles (or --trades) of --symbol from --since to --until into --catalog."),
        ("versions", "catalog_commands", "versions",
         "List every catalog version: what each commit added or removed, from what source."),
        ("compact", "catalog_commands", "compact_catalog",
         "Merge each partition's small files into one daily file (one new version, atomic)."),
        ("gaps", "catalog_commands", "gaps",
         "Find missing candles and missed trades (trade-id jumps); optionally repair candle gaps."),
        ("resample", "catalog_commands", "resample_candles",
         "Resample stored candles in DuckDB (e.g. 1s -> 1m -> 1h -> 1d); print or store them."),
        ("triangulate", "triangulate_command", "triangulate",
         "Check ASSET's candles on every venue against the cross-venue consensus."),
    )
}  # fmt: skip
"""``tradefabric data``'s subcommands: ``data --help`` lists them without loading pyarrow."""

COMMANDS: Final[dict[str, LazyCommand]] = {
    "data": LazyCommand("tradefabric.cli.lazy", "DATA_GROUP", DATA_HELP),
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
        "tradefabric.cli.backtest_commands",
        "report_app",
        "Reports on run folders: daily reports, copies to S3.",
    ),
    "tca": LazyCommand(
        "tradefabric.cli.tca_command",
        "tca",
        "Print each parent order's costs: arrival, VWAP, forecast slippage (bps), fees, fills.",
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


def load_command(name: str, table: dict[str, LazyCommand] = COMMANDS) -> click.Command:
    """Import command ``name``'s module (from ``table``) and return its click command."""
    spec = table[name]
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    if isinstance(target, click.Command):
        return target  # a lazy group of its own (``data``)
    if isinstance(target, typer.Typer):
        # A group even with one subcommand, as add_typer makes it (``venue serve``).
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The root group: lists ``COMMANDS`` from the table, imports one only to run it."""

    table: ClassVar[dict[str, LazyCommand]] = COMMANDS

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Return the eager commands, then the lazy ones in table order."""
        eager = [n for n in super().list_commands(ctx) if n not in self.table]
        return [*eager, *self.table]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Return a loaded command, or a stand-in carrying only the name and help (listing)."""
        if cmd_name in self.commands or cmd_name not in self.table:
            return super().get_command(ctx, cmd_name)
        return TyperCommand(cmd_name, help=self.table[cmd_name].help)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Load the command the arguments name, then resolve as usual."""
        if args and args[0] in self.table and args[0] not in self.commands:
            self.add_command(load_command(args[0], self.table), args[0])
        return super().resolve_command(ctx, args)


class DataGroup(LazyGroup):
    """``tradefabric data``: its subcommands listed from ``DATA_COMMANDS``, loaded to run."""

    table: ClassVar[dict[str, LazyCommand]] = DATA_COMMANDS


DATA_GROUP: Final = DataGroup(name="data", help=DATA_HELP, no_args_is_help=True)
