"""Cron expressions: ``minute hour day-of-month month day-of-week``, in UTC.

Each field is ``*``, a number, a range ``a-b``, a step ``*/n``, ``a-b/n`` or ``a/n``
(from ``a`` to the field's end), or a comma-separated list of those. Months and
days of the week may be named (``jan``, ``mon``); day of week 0 and 7 are both
Sunday. As in Vixie cron, when both day of month and day of week are restricted a
day matching either runs the job. ``@hourly``, ``@daily``, ``@weekly``,
``@monthly`` and ``@yearly`` stand for their usual expressions. A bad expression
fails naming the field and the value; one that can never match (``0 0 30 2 *``)
fails too, rather than never running without a word.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from tradefabric.core.errors import ConfigError

_NS_PER_MINUTE = 60_000_000_000
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_SEARCH_DAYS = 366 * 8 + 2
"""Any day-of-month/month/weekday combination that can match does within 8 years
(28-year weekday cycle aside, every Feb 29 weekday recurs within that)."""


class _Field(msgspec.Struct, frozen=True):
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, _MONTHS, 1),
    _Field("day of week", 0, 7, _DAYS, 0),
)


class Cron(msgspec.Struct, frozen=True):
    """A parsed cron expression; ``matches`` a minute, ``next_after`` a time."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday (7 is folded into 0)."""
    any_day: bool
    """Day of month was ``*``."""
    any_weekday: bool
    """Day of week was ``*``."""

    def _day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return in_month and in_week  # the unrestricted one is always true
        return in_month or in_week

    def matches(self, ts_ns: int) -> bool:
        """Return True when the minute holding ``ts_ns`` (UTC) is one the expression names."""
        at = _utc(ts_ns)
        return at.minute in self.minutes and at.hour in self.hours and self._day_matches(at.date())

    def next_after(self, ts_ns: int) -> int:
        """Return the start (ns) of the first matching minute strictly after ``ts_ns``."""
        start = _utc(ts_ns - ts_ns % _NS_PER_MINUTE + _NS_PER_MINUTE)
        first_day = start.date()
        for offset in range(_SEARCH_DAYS):
            day = first_day + dt.timedelta(days=offset)
            if not self._day_matches(day):
                continue
            for hour in sorted(self.hours):
                for minute in sorted(self.minutes):
                    at = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
                    if at >= start:
                        return int(at.timestamp()) * 1_000_000_000
        raise ConfigError(f"cron {self.text!r}: never matches (no such day)")


def _utc(ts_ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=dt.UTC)


def parse_cron(text: str) -> Cron:
    """Parse ``text``; raise ``ConfigError`` naming the bad field and value."""
    expanded = _MACROS.get(text.strip().lower(), text) if text.strip().startswith("@") else text
    if expanded.strip().startswith("@"):
        raise ConfigError(f"cron {text!r}: unknown macro; use one of {', '.join(_MACROS)}")
    parts = expanded.split()
    if len(parts) != len(_FIELDS):
        raise ConfigError(
            f"cron {text!r}: {len(parts)} fields; give 5: minute hour day-of-month month "
            "day-of-week (e.g. '5 0 * * *')"
        )
    sets = [_parse_field(text, part, field) for part, field in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    cron = Cron(
        text=text, minutes=sets[0], hours=sets[1], days=sets[2], months=sets[3],
        weekdays=weekdays, any_day=parts[2] == "*", any_weekday=parts[4] == "*",
    )  # fmt: skip
    cron.next_after(0)  # an expression naming only impossible days fails now
    return cron


def _parse_field(text: str, part: str, field: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in part.split(","):
        values.update(_parse_item(text, item, field))
    return frozenset(values)


def _parse_item(text: str, item: str, field: _Field) -> range:
    where = f"cron {text!r}: {field.name} {item!r}"
    if not item:
        raise ConfigError(f"{where}: empty list item")
    base, _, step_text = item.partition("/")
    step = 1
    if step_text or item.endswith("/"):
        step = _number(where, step_text, field, is_step=True)
    if base == "*":
        low, high = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _number(where, first, field), _number(where, last, field)
        if low > high:
            raise ConfigError(f"{where}: range runs backwards ({low} > {high})")
    else:
        low = _number(where, base, field)
        high = field.high if step_text else low  # 'a/n' runs from a to the field's end
    return range(low, high + 1, step)


def _number(where: str, token: str, field: _Field, *, is_step: bool = False) -> int:
    lowered = token.lower()
    if not is_step and lowered in field.names:
        return field.names.index(lowered) + field.name_base
    if not token.isdigit():
        named = f" or a name ({', '.join(field.names)})" if field.names and not is_step else ""
        what = "a step" if is_step else f"a number {field.low}-{field.high}"
        raise ConfigError(f"{where}: {token!r} is not {what}{named}")
    value = int(token)
    if is_step:
        if value < 1:
            raise ConfigError(f"{where}: step must be >= 1, got {value}")
        return value
    if not field.low <= value <= field.high:
        raise ConfigError(f"{where}: {value} outside {field.low}-{field.high}")
    return value
