"""Nanosecond time helpers: interval parsing, flooring and UTC formatting."""

from __future__ import annotations

import datetime as dt

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import (
    NS_PER_DAY,
    NS_PER_HOUR,
    NS_PER_MINUTE,
    NS_PER_MS,
    NS_PER_SECOND,
    floor_ns,
    interval_to_ns,
    ms_to_ns,
    ns_to_date,
    ns_to_datetime,
    ns_to_iso,
)

SEC = NS_PER_SECOND
MIDNIGHT = 1_723_161_600 * SEC  # 2024-08-09 00:00:00 UTC


def test_unit_constants() -> None:
    assert NS_PER_MS == 1_000_000
    assert NS_PER_MINUTE == 60 * SEC
    assert NS_PER_HOUR == 3_600 * SEC
    assert NS_PER_DAY == 86_400 * SEC


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        ("1s", SEC),
        ("5s", 5 * SEC),
        ("1m", 60 * SEC),
        ("15m", 900 * SEC),
        ("1h", 3_600 * SEC),
        ("4h", 14_400 * SEC),
        ("1d", 86_400 * SEC),
        ("120s", 120 * SEC),
    ],
)
def test_interval_to_ns_valid(interval: str, expected: int) -> None:
    assert interval_to_ns(interval) == expected


@pytest.mark.parametrize(
    "interval",
    ["", "m", "1", "0m", "01m", "-1m", "1.5m", "1M", "1w", "1ms", " 1m", "1m ", "1 m", "1m\n"],
)
def test_interval_to_ns_invalid_names_the_input(interval: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        interval_to_ns(interval)
    assert repr(interval) in str(excinfo.value)
    assert "s/m/h/d" in str(excinfo.value)


def test_ms_to_ns() -> None:
    assert ms_to_ns(1_723_161_600_123) == MIDNIGHT + 123 * NS_PER_MS


@pytest.mark.parametrize(
    ("ts", "step", "expected"),
    [
        (MIDNIGHT, 60 * SEC, MIDNIGHT),
        (MIDNIGHT + 59 * SEC + 999_999_999, 60 * SEC, MIDNIGHT),
        (MIDNIGHT + 60 * SEC, 60 * SEC, MIDNIGHT + 60 * SEC),
        (MIDNIGHT - 1, NS_PER_DAY, MIDNIGHT - NS_PER_DAY),
        (MIDNIGHT + 1_500 * NS_PER_MS, SEC, MIDNIGHT + SEC),
        (0, SEC, 0),
        (-1, SEC, -SEC),
    ],
)
def test_floor_ns(ts: int, step: int, expected: int) -> None:
    assert floor_ns(ts, step) == expected


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (MIDNIGHT, "2024-08-09T00:00:00.000Z"),
        (MIDNIGHT - 1, "2024-08-08T23:59:59.999Z"),
        (MIDNIGHT - 5 * 60 * SEC, "2024-08-08T23:55:00.000Z"),
        (MIDNIGHT + 7 * NS_PER_MS + 999_999, "2024-08-09T00:00:00.007Z"),
        (MIDNIGHT + 42 * SEC + 120 * NS_PER_MS, "2024-08-09T00:00:42.120Z"),
    ],
)
def test_ns_to_iso_truncates_to_the_millisecond(ts: int, expected: str) -> None:
    assert ns_to_iso(ts) == expected


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (MIDNIGHT - 1, "2024-08-08"),
        (MIDNIGHT, "2024-08-09"),
        (MIDNIGHT + NS_PER_DAY - 1, "2024-08-09"),
        (MIDNIGHT + NS_PER_DAY, "2024-08-10"),
        (0, "1970-01-01"),
        (1_709_164_800 * SEC, "2024-02-29"),  # leap day
        (1_735_689_600 * SEC - 1, "2024-12-31"),  # last ns of the year
    ],
)
def test_ns_to_date_at_utc_midnight_boundaries(ts: int, expected: str) -> None:
    assert ns_to_date(ts) == expected


def test_ns_to_datetime_is_aware_utc_to_the_microsecond() -> None:
    value = ns_to_datetime(MIDNIGHT + 1_234_567_000)
    assert value == dt.datetime(2024, 8, 9, 0, 0, 1, 234_567, tzinfo=dt.UTC)
    assert value.utcoffset() == dt.timedelta(0)
