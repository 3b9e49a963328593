"""Cron expressions: fields, lists, ranges, steps, names, macros, and errors naming the field."""

from __future__ import annotations

import datetime as dt

import pytest

from tradefabric.core.cron import parse_cron
from tradefabric.core.errors import ConfigError


def ns(text: str) -> int:
    """Return the ns of a UTC ``YYYY-MM-DD HH:MM``."""
    at = dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    return int(at.timestamp()) * 1_000_000_000


def iso(ts_ns: int) -> str:
    return dt.datetime.fromtimestamp(ts_ns // 1_000_000_000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def test_fields_lists_ranges_and_steps_expand_to_their_values() -> None:
    cron = parse_cron("*/15 1-3,22 1,15 jan-mar/2 *")
    assert cron.minutes == frozenset({0, 15, 30, 45})
    assert cron.hours == frozenset({1, 2, 3, 22})
    assert cron.days == frozenset({1, 15})
    assert cron.months == frozenset({1, 3})
    assert cron.weekdays == frozenset(range(7))
    assert parse_cron("10/20 * * * *").minutes == frozenset({10, 30, 50})
    assert parse_cron("0 0 * * 7").weekdays == frozenset({0})  # 7 is Sunday too
    assert parse_cron("0 0 * * MON-fri").weekdays == frozenset({1, 2, 3, 4, 5})


def test_matches_the_minute_in_utc() -> None:
    daily = parse_cron("5 0 * * *")
    assert daily.matches(ns("2024-08-08 00:05"))
    assert daily.matches(ns("2024-08-08 00:05") + 59_999_999_999)  # any time in that minute
    assert not daily.matches(ns("2024-08-08 00:06"))
    assert not daily.matches(ns("2024-08-08 01:05"))
    weekly = parse_cron("0 3 * * 0")  # Sundays 03:00; 2024-08-11 is a Sunday
    assert weekly.matches(ns("2024-08-11 03:00"))
    assert not weekly.matches(ns("2024-08-10 03:00"))


def test_day_of_month_or_day_of_week_when_both_are_restricted() -> None:
    cron = parse_cron("0 12 13 * fri")  # the 13th, and every Friday (Vixie cron)
    assert cron.matches(ns("2024-08-13 12:00"))  # a Tuesday
    assert cron.matches(ns("2024-08-09 12:00"))  # a Friday
    assert not cron.matches(ns("2024-08-12 12:00"))
    only_13th = parse_cron("0 12 13 * *")
    assert not only_13th.matches(ns("2024-08-09 12:00"))


def test_next_after_walks_to_the_next_matching_minute() -> None:
    assert iso(parse_cron("5 0 * * *").next_after(ns("2024-08-08 00:05"))) == "2024-08-09 00:05"
    assert iso(parse_cron("5 0 * * *").next_after(ns("2024-08-08 00:04"))) == "2024-08-08 00:05"
    assert iso(parse_cron("0 3 * * 0").next_after(ns("2024-08-08 10:00"))) == "2024-08-11 03:00"
    assert iso(parse_cron("@monthly").next_after(ns("2024-12-31 23:59"))) == "2025-01-01 00:00"
    assert iso(parse_cron("0 0 29 2 *").next_after(ns("2025-03-01 00:00"))) == "2028-02-29 00:00"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5 0 * *", "4 fields; give 5: minute hour"),
        ("60 0 * * *", "minute '60': 60 outside 0-59"),
        ("0 24 * * *", "hour '24': 24 outside 0-23"),
        ("0 0 0 * *", "day of month '0': 0 outside 1-31"),
        ("0 0 * 13 *", "month '13': 13 outside 1-12"),
        ("0 0 * * 8", "day of week '8': 8 outside 0-7"),
        ("0 0 * * funday", "day of week 'funday': 'funday' is not a number 0-7 or a name"),
        ("*/0 * * * *", "minute '*/0': step must be >= 1"),
        ("5-1 * * * *", "minute '5-1': range runs backwards (5 > 1)"),
        ("1,,2 * * * *", "minute '': empty list item"),
        ("*/x * * * *", "minute '*/x': 'x' is not a step"),
        ("0 0 30 2 *", "never matches"),
        ("@fortnightly", "unknown macro"),
    ],
)
def test_a_bad_expression_fails_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="cron") as info:
        parse_cron(text)
    assert message in str(info.value)
    assert repr(text) in str(info.value)
