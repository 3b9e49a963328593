"""Nanosecond time helpers. All timestamps in tradefabric are int ns since the Unix epoch, UTC."""

from __future__ import annotations

import datetime as dt
import re
import time

from tradefabric.core.errors import ConfigError

NS_PER_US = 1_000
NS_PER_MS = 1_000_000
NS_PER_SECOND = 1_000_000_000
NS_PER_MINUTE = 60 * NS_PER_SECOND
NS_PER_HOUR = 60 * NS_PER_MINUTE
NS_PER_DAY = 24 * NS_PER_HOUR

_INTERVAL_UNITS = {"s": NS_PER_SECOND, "m": NS_PER_MINUTE, "h": NS_PER_HOUR, "d": NS_PER_DAY}
_INTERVAL_RE = re.compile(r"^([1-9][0-9]*)([smhd])$")


def now_ns() -> int:
    """Return the wall-clock time in ns since the epoch."""
    return time.time_ns()


def ms_to_ns(ms: int) -> int:
    """Convert integer milliseconds since the epoch to nanoseconds."""
    return ms * NS_PER_MS


def interval_to_ns(interval: str) -> int:
    """Parse a candle interval such as ``1s``, ``1m``, ``15m``, ``1h`` or ``1d`` into ns."""
    match = _INTERVAL_RE.fullmatch(interval)
    if match is None:
        raise ConfigError(
            f"invalid interval {interval!r}: expected a positive count and a unit s/m/h/d, e.g. 1m"
        )
    return int(match.group(1)) * _INTERVAL_UNITS[match.group(2)]


def floor_ns(ts_ns: int, step_ns: int) -> int:
    """Round ``ts_ns`` down to a multiple of ``step_ns`` (interval start)."""
    return ts_ns - ts_ns % step_ns


def ns_to_datetime(ts_ns: int) -> dt.datetime:
    """Return an aware UTC datetime (microsecond precision) for ``ts_ns``."""
    seconds, rest = divmod(ts_ns, NS_PER_SECOND)
    # Integer arithmetic: a float division would round 23:59:59.9999999 up into the next day.
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC) + dt.timedelta(microseconds=rest // 1000)


def ns_to_iso(ts_ns: int) -> str:
    """Format ``ts_ns`` as ISO 8601 UTC to the millisecond: ``2024-08-08T23:55:00.000Z``."""
    seconds, rest = divmod(ts_ns, NS_PER_SECOND)
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{rest // NS_PER_MS:03d}Z"


def ns_to_date(ts_ns: int) -> str:
    """Return the UTC calendar date of ``ts_ns`` as ``YYYY-MM-DD``."""
    return dt.datetime.fromtimestamp(ts_ns // NS_PER_SECOND, tz=dt.UTC).strftime("%Y-%m-%d")


def parse_utc(text: str) -> int:
    """Parse a UTC time given by a person into ns: ``2024-08-01``, ``2024-08-01T12:30[:00]``,
    an ISO time with ``Z`` or an offset, or an integer of ns since the epoch.
    """
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    try:
        parsed = dt.datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"invalid time {text!r}: expected e.g. 2024-08-01, 2024-08-01T12:30 or ns since epoch"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    delta = parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND + delta.microseconds * NS_PER_US
