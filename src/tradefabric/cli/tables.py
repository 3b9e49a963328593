"""Tables people can read in an 80-column terminal: short times, short numbers, no cut cells.

Times are UTC ISO 8601 to the second (``--raw`` shows the stored ns instead);
counts and amounts are shortened with a unit (``11.4k``, ``2.38M``); long text
folds onto further lines instead of being cut with an ellipsis. ``--json``
output never goes through here: it keeps every value as stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from rich import box
from rich.console import Console
from rich.table import Table

from tradefabric.core.time import NS_PER_SECOND

_UNITS: Final = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))
_TIMESTAMP_FLOOR: Final = 10**17
"""Integers above this (1973 in ns) in a time-like column are ns timestamps."""


def new_table(title: str | None = None) -> Table:
    """Return a table with light borders that spend few columns on lines."""
    return Table(
        title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True
    )


def fmt_time(ts_ns: int | None, raw: bool = False, millis: bool = True) -> str:
    """Return ``ts_ns`` as ``2024-08-08T23:55:00Z`` (``.123`` kept when it has ms), or raw ns.

    ``millis=False`` always stops at the second (commit times, where ms say nothing).
    """
    if ts_ns is None:
        return "-"
    if raw:
        return str(ts_ns)
    seconds, rest = divmod(ts_ns, NS_PER_SECOND)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    ms = rest // 1_000_000
    return f"{stamp}.{ms:03d}Z" if ms and millis else f"{stamp}Z"


def fmt_count(value: float) -> str:
    """Return ``value`` shortened with a unit: 999 -> ``999``, 11,426 -> ``11.4k``."""
    magnitude = abs(value)
    for size, unit in _UNITS:
        if magnitude >= size:
            scaled = value / size
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f}{unit}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3g}"


def print_rows(
    console: Console, columns: tuple[str, ...], rows: list[list[str]], title: str | None = None
) -> None:
    """Print ``rows`` as a table when it fits the console, else one ``column: value`` per line.

    A result with more columns than a terminal can show (``SELECT *`` on candles)
    reads better as records, like psql's expanded mode, than as a table folded
    into columns two characters wide.
    """
    widths = [
        max([len(c), *(len(line) for r in rows for line in r[i].splitlines())])
        for i, c in enumerate(columns)
    ]
    if sum(widths) + 2 * len(widths) <= console.width:
        table = new_table(title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    if title:
        console.print(title)
    label = max(len(c) for c in columns)
    for number, row in enumerate(rows, 1):
        console.print(f"-- row {number} --", highlight=False)
        for column, value in zip(columns, row, strict=True):
            console.print(f"{column:>{label}}  {value}", highlight=False, soft_wrap=False)


def fmt_value(column: str, value: object, raw: bool = False) -> str:
    """Return one query cell: ns timestamps as UTC ISO, floats to 6 significant digits."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        if not raw and value > _TIMESTAMP_FLOOR and is_time_column(column):
            return fmt_time(value)
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def is_time_column(name: str) -> bool:
    """Return whether a column of that name holds ns timestamps (``ts_open``, ``start_ns``)."""
    lowered = name.lower()
    return lowered.startswith("ts") or lowered.endswith(("_ns", "_at", "time"))
