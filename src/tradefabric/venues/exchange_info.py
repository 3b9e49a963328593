"""A venue's exchange info (its list of instruments and their filters) -> ``Instrument`` objects.

Every venue answers one REST request with a list of instruments, each a JSON
object whose tick, lot and minimums sit at venue-specific places. Those places
are data, an ``InstrumentSource`` per venue (``venues/<venue>/instruments.py``),
read by the one parser here, so no venue has a branch of its own.

A field is a tuple of *paths*, tried in order until one is present:

- ``lotSizeFilter.qtyStep``: keys separated by dots;
- ``filters[filterType=LOT_SIZE].stepSize``: in the list ``filters``, the object
  whose ``filterType`` is ``LOT_SIZE``;
- ``10^-lot_decimals``: the value is a number of decimals (8 -> ``0.00000001``).

Numbers come back as canonical decimal strings (``"0.01000000"`` -> ``"0.01"``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from tradefabric.core.errors import MalformedMessageError, RequestRejectedError
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.instrument import Instrument

_FILTER_STEP = re.compile(r"^(?P<key>[^\[]+)\[(?P<field>[^=\]]+)=(?P<value>[^\]]*)\]$")
_DECIMALS_PREFIX = "10^-"
_MISSING = object()


class InstrumentSource(msgspec.Struct, frozen=True, kw_only=True):
    """Where a venue lists its instruments, and where each field sits in an entry."""

    venue: str
    kind: InstrumentKind
    rest_url: str
    path: str
    """REST path of the exchange info request, e.g. ``/api/v3/exchangeInfo``."""
    params: dict[str, str] = {}
    weight: int = 1
    """Request weight charged to the venue's rate limiter."""
    list_path: str
    """Path of the instrument list in the reply; an object there is read as its values."""
    raw_symbol: str
    base: str
    quote: str
    settle: str = ""
    """Path of the settlement asset of a derivative (``BTC/USDT:USDT``); empty for spot."""
    price_increment: tuple[str, ...]
    size_increment: tuple[str, ...]
    min_size: tuple[str, ...] = ()
    min_notional: tuple[str, ...] = ()
    contract_size: tuple[str, ...] = ()
    require: dict[str, str] = {}
    """Path -> value an entry must have to be listed (``contractType: PERPETUAL``)."""
    require_present: tuple[str, ...] = ()
    """Paths an entry must have to be listed (Kraken's dark pool pairs have no ``wsname``)."""
    assets: dict[str, str] = {}
    """The venue's asset codes -> common codes (Kraken ``XXBT`` -> ``BTC``)."""
    error_path: str = ""
    """Path of the reply's error field; a non-empty (truthy) value there is a rejection."""
    message_path: str = ""
    """Path of the error's text, when it is not the error field itself."""
    cursor_param: str = ""
    """Request parameter that asks for the next page."""
    cursor_path: str = ""
    """Path of the next page's cursor in the reply; empty or missing: the last page."""


def parse_instruments(source: InstrumentSource, raw: bytes) -> list[Instrument]:
    """Return every listed instrument of one exchange info reply of ``source``'s venue.

    A reply carrying an error is a ``RequestRejectedError``; an entry lacking a
    tick or lot, or with a value that is not a decimal, is a
    ``MalformedMessageError`` naming the venue, symbol and field.
    """
    return parse_page(source, raw)[0]


def parse_page(source: InstrumentSource, raw: bytes) -> tuple[list[Instrument], str]:
    """Return the instruments of one reply page and the cursor of the next ("" if last)."""
    reply = decode(source, raw)
    instruments = [_instrument(source, entry) for entry in listed_entries(source, reply)]
    return instruments, next_cursor(source, reply)


def decode(source: InstrumentSource, raw: bytes) -> Any:
    """Return the decoded reply; raise if it is not JSON or carries the venue's error."""
    try:
        reply = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise MalformedMessageError(f"{source.venue} {source.path}: {exc}") from exc
    if source.error_path:
        error = lookup(reply, source.error_path)
        if error is not _MISSING and error:
            message = lookup(reply, source.message_path) if source.message_path else error
            raise RequestRejectedError(f"{source.venue} {source.path}: {error!r} {message!r}")
    return reply


def next_cursor(source: InstrumentSource, reply: Any) -> str:
    """Return the cursor of the page after ``reply`` ("" when it is the last)."""
    if not source.cursor_path:
        return ""
    cursor = lookup(reply, source.cursor_path)
    return cursor if isinstance(cursor, str) else ""


def listed_entries(source: InstrumentSource, reply: Any) -> Iterator[dict[str, Any]]:
    """Yield the reply's instrument entries that meet ``require`` and ``require_present``."""
    entries = lookup(reply, source.list_path)
    if isinstance(entries, dict):
        entries = list(entries.values())
    if not isinstance(entries, list):
        raise MalformedMessageError(
            f"{source.venue} {source.path}: no instrument list at {source.list_path!r}"
        )
    for entry in entries:
        if not isinstance(entry, dict):
            raise MalformedMessageError(f"{source.venue} {source.path}: entry {entry!r}")
        if all(_text(lookup(entry, p)) == v for p, v in source.require.items()) and all(
            _text(lookup(entry, p)) for p in source.require_present
        ):
            yield entry


def lookup(node: Any, path: str) -> Any:
    """Return the value at ``path`` in ``node`` (see the module docstring), or ``_MISSING``."""
    for step in path.split("."):
        match = _FILTER_STEP.match(step)
        key = match["key"] if match else step
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
        if match:
            node = _find(node, match["field"], match["value"])
    return node


def _find(items: Any, field: str, value: str) -> Any:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and _text(item.get(field)) == value:
                return item
    return _MISSING


def _text(value: Any) -> str:
    return "" if value is None or value is _MISSING else str(value)


def _instrument(source: InstrumentSource, entry: dict[str, Any]) -> Instrument:
    raw_symbol = _required_text(source, entry, source.raw_symbol, "?")
    base, quote = (
        _asset(source, _required_text(source, entry, path, raw_symbol))
        for path in (source.base, source.quote)
    )
    symbol = f"{base}/{quote}"
    if source.settle:
        symbol += ":" + _asset(source, _required_text(source, entry, source.settle, raw_symbol))

    def number(name: str, paths: tuple[str, ...], default: str | None) -> str:
        return _number(source, entry, raw_symbol, name=name, paths=paths, default=default)

    return Instrument(
        venue=source.venue,
        symbol=symbol,
        raw_symbol=raw_symbol,
        base=base,
        quote=quote,
        kind=source.kind,
        price_increment=number("price_increment", source.price_increment, None),
        size_increment=number("size_increment", source.size_increment, None),
        min_size=number("min_size", source.min_size, "0"),
        min_notional=number("min_notional", source.min_notional, "0"),
        contract_size=number("contract_size", source.contract_size, "1"),
    )


def _asset(source: InstrumentSource, code: str) -> str:
    return source.assets.get(code, code)


def _required_text(source: InstrumentSource, entry: dict[str, Any], path: str, raw: str) -> str:
    value = lookup(entry, path)
    if not isinstance(value, str) or not value:
        raise MalformedMessageError(
            f"{source.venue} {source.path}: instrument {raw!r} has no {path!r} (got {value!r})"
        )
    return value


def _number(
    source: InstrumentSource,
    entry: dict[str, Any],
    raw_symbol: str,
    *,
    name: str,
    paths: tuple[str, ...],
    default: str | None,
) -> str:
    where = f"{source.venue} {source.path}: instrument {raw_symbol!r} {name}"
    for path in paths:
        decimals = path.startswith(_DECIMALS_PREFIX)
        value = lookup(entry, path.removeprefix(_DECIMALS_PREFIX))
        if value is _MISSING or value is None or value == "":
            continue
        return _decimal(value, decimals, f"{where} at {path!r}", positive=default is None)
    if default is None:
        raise MalformedMessageError(f"{where}: none of {list(paths)} is present")
    return default


def _decimal(value: Any, decimals: bool, where: str, positive: bool) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedMessageError(f"{where}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise MalformedMessageError(f"{where}: {value!r} is not a decimal") from exc
    if decimals:
        if number != number.to_integral_value() or number < 0:
            raise MalformedMessageError(f"{where}: {value!r} is not a count of decimals")
        number = Decimal(1).scaleb(-int(number))
    if not number.is_finite() or number < 0 or (positive and number == 0):
        raise MalformedMessageError(f"{where}: {value!r} is out of range")
    return canonical(number)


def canonical(number: Decimal) -> str:
    """Print ``number`` without exponent or trailing zeros: ``0.01000000`` -> ``0.01``."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0.0") else text
