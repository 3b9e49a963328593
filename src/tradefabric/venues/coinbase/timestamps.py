"""RFC 3339 timestamps (Coinbase's wire time) <-> int ns since the epoch, exactly.

Coinbase prints times as ``2026-04-07T14:30:00.123456Z`` with 0 to 9 fraction
digits (envelope ``timestamp`` often has 8 or 9, trade ``time`` 6). Going through
``datetime`` or a float would drop nanoseconds or round them, so parsing is
integer arithmetic only: one regex match, a cached lookup of the minute the
text names (messages arrive in time order, so the cache nearly always hits),
and the seconds and fraction added as integers.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from tradefabric.core.errors import MalformedMessageError

_NS_PER_SECOND = 1_000_000_000
_NS_PER_MINUTE = 60 * _NS_PER_SECOND
_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)
_EPOCH_ORDINAL = 719_163  # dt.date(1970, 1, 1).toordinal()
_PAD = ("", "00000000", "0000000", "000000", "00000", "0000", "000", "00", "0", "")


@lru_cache(maxsize=4096)
def _minute_ns(date: str, hour: str, minute: str) -> int:
    """Return ns since the epoch of ``date`` ``hour``:``minute`` UTC (validated)."""
    try:
        day = dt.date.fromisoformat(date)
    except ValueError as exc:
        raise MalformedMessageError(f"invalid date {date!r}") from exc
    hours, minutes = int(hour), int(minute)
    if hours > 23 or minutes > 59:
        raise MalformedMessageError(f"invalid time of day {hour}:{minute}")
    days = day.toordinal() - _EPOCH_ORDINAL
    return ((days * 24 + hours) * 60 + minutes) * _NS_PER_MINUTE


def parse_rfc3339_ns(text: str) -> int:
    """Return ``text`` (RFC 3339, ``Z`` or ``+HH:MM`` offset) as int ns since the epoch, UTC.

    Raises ``MalformedMessageError`` for anything that is not a valid RFC 3339 time
    (leap seconds, ``60``, are rejected: Coinbase never sends them).
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise MalformedMessageError(f"not an RFC 3339 timestamp: {text!r}")
    date, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    seconds = int(second)
    if seconds > 59:
        raise MalformedMessageError(f"invalid seconds in {text!r}")
    ns = _minute_ns(date, hour, minute) + seconds * _NS_PER_SECOND
    if fraction:
        ns += int(fraction + _PAD[len(fraction)])
    if zulu is None:
        offset_minutes = int(off_h) * 60 + int(off_m)
        if int(off_h) > 23 or int(off_m) > 59:
            raise MalformedMessageError(f"invalid UTC offset in {text!r}")
        ns -= (offset_minutes if sign == "+" else -offset_minutes) * _NS_PER_MINUTE
    return ns


def format_rfc3339_ns(ts_ns: int, digits: int = 9) -> str:
    """Format ``ts_ns`` as RFC 3339 UTC with ``digits`` (0-9) fraction digits, truncating."""
    seconds, rest = divmod(ts_ns, _NS_PER_SECOND)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if digits <= 0:
        return stamp + "Z"
    return f"{stamp}.{rest:09d}"[: len(stamp) + 1 + digits] + "Z"
