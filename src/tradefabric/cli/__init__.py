"""The ``tradefabric`` command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tradefabric import __version__
from tradefabric.cli.lazy import LazyGroup
from tradefabric.cli.output import EXIT_DATA_ERROR, EXIT_INTERRUPTED, os_error_text, stderr
from tradefabric.core.errors import ConfigError
from tradefabric.core.logging import configure_logging

app = typer.Typer(
    name="tradefabric",
    help="tradefabric: self-checking multi-venue crypto market data, signals, risk and execution.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,  # commands are listed from cli/lazy.py and imported when run
)


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
        str,
        typer.Option("--log-format", help="Log format on stderr: json, console or ecs (Elastic)."),
    ] = "json",
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    try:
        configure_logging(log_level, log_format=log_format)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log-format") from None


_GLOBAL_OPTIONS = ("--log-level", "--log-format")


def hoist_global_options(args: list[str]) -> list[str]:
    """Move ``--log-level``/``--log-format`` (and their values) given after a subcommand first.

    Both belong to the root command, but people type them where they type every
    other option: ``tradefabric data replay FILE --log-level INFO``.
    """
    hoisted: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if name in _GLOBAL_OPTIONS and i > 0:
            takes_value = "=" not in arg and i + 1 < len(args)
            hoisted.extend(args[i : i + 1 + takes_value])
            i += 1 + takes_value
            continue
        rest.append(arg)
        i += 1
    return hoisted + rest


def main() -> None:
    """Run the command line; a file problem or Ctrl-C no command handled is one line."""
    try:
        app(args=hoist_global_options(sys.argv[1:]), prog_name="tradefabric")
    except OSError as exc:
        stderr.print(f"[bold red]error:[/] {os_error_text(exc)}", highlight=False)
        raise SystemExit(EXIT_DATA_ERROR) from None
    except KeyboardInterrupt:
        stderr.print("interrupted", highlight=False)
        raise SystemExit(EXIT_INTERRUPTED) from None
