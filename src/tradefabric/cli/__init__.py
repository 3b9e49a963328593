"""The ``tradefabric`` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from tradefabric import __version__
from tradefabric.cli import (
    data_commands,
    macro_commands,
    state_commands,
    stream_commands,
    venue_commands,
)
from tradefabric.cli.backtest_commands import backtest, paper, report_app, run
from tradefabric.cli.demo import demo
from tradefabric.cli.feed_command import feed
from tradefabric.cli.signals_command import signals
from tradefabric.cli.webhook_command import tradingview
from tradefabric.core.logging import configure_logging

app = typer.Typer(
    name="tradefabric",
    help="tradefabric: self-checking multi-venue crypto market data, signals, risk and execution.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(data_commands.app, name="data")
app.add_typer(venue_commands.app, name="venue")
app.add_typer(stream_commands.app, name="stream")
app.add_typer(macro_commands.app, name="macro")
app.command()(demo)
app.command()(feed)
app.command()(backtest)
app.command()(paper)
app.command()(run)
app.add_typer(report_app, name="report")
app.command()(signals)
app.command()(tradingview)
app.add_typer(state_commands.audit_app, name="audit")
app.add_typer(state_commands.risk_app, name="risk")
app.add_typer(state_commands.state_app, name="state")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tradefabric {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option("--log-level", help="Log level on stderr: DEBUG, INFO, WARNING, ERROR.")
    ] = "WARNING",
    log_format: Annotated[
        str, typer.Option("--log-format", help="Log format on stderr: json or console.")
    ] = "json",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    configure_logging(log_level, json_logs=log_format != "console")


def main() -> None:
    """Run the command line."""
    app()
