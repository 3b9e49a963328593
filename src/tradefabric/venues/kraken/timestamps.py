"""RFC 3339 timestamps of Kraken v2 (``2023-10-06T17:35:55.440295Z``) <-> int ns UTC."""

from __future__ import annotations

import datetime as dt
import re

from tradefabric.core.errors import MalformedMessageError

_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_EPOCH = dt.datetime(1970, 1, 1)
_NS = 1_000_000_000
_seconds_cache: dict[str, int] = {}


def rfc3339_to_ns(text: str) -> int:
    """Return ``text`` (UTC, ``Z``, up to 9 fractional digits) as ns since the epoch."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise MalformedMessageError(f"timestamp {text!r} is not RFC 3339 UTC (...Z)")
    head = text[:19]
    seconds = _seconds_cache.get(head)
    if seconds is None:
        seconds = _whole_seconds(match)
        if len(_seconds_cache) > 4096:
            _seconds_cache.clear()
        _seconds_cache[head] = seconds
    fraction = match.group(7) or ""
    return seconds * _NS + (int(fraction.ljust(9, "0")) if fraction else 0)


def _whole_seconds(match: re.Match[str]) -> int:
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise MalformedMessageError(f"timestamp {match.group(0)!r}: {exc}") from exc
    return (moment - _EPOCH) // dt.timedelta(seconds=1)


def ns_to_rfc3339(ts_ns: int, nanos: bool = False) -> str:
    """Return ``ts_ns`` as Kraken prints it: 6 fractional digits, 9 if ``nanos`` or needed."""
    seconds, ns = divmod(ts_ns, _NS)
    head = (_EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    if ns % 1000 == 0 and not nanos:
        return f"{head}.{ns // 1000:06d}Z"
    return f"{head}.{ns:09d}Z"
