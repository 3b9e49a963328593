"""RFC 3339 -> int ns: exact to the nanosecond, strict about what is not a timestamp."""

from __future__ import annotations

import calendar
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradefabric.core.errors import MalformedMessageError
from tradefabric.venues.coinbase.timestamps import format_rfc3339_ns, parse_rfc3339_ns


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2026-04-07T14:30:00.123456Z", 1_775_572_200_123_456_000),
        ("2024-10-08T09:10:36.04370306Z", 1_728_378_636_043_703_060),
        ("2023-06-23T20:31:26.122969572Z", 1_687_552_286_122_969_572),
        ("2026-04-07 14:30:10.000000000+00:00", 1_775_572_210_000_000_000),
        ("2026-04-07T16:30:00.5+02:00", 1_775_572_200_500_000_000),
        ("2024-02-29T23:59:59.999999999z", 1_709_251_199_999_999_999),
    ],
)
def test_known_values(text: str, expected: int) -> None:
    assert parse_rfc3339_ns(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-04-07T14:30:00",  # no zone
        "2026-04-07T14:30:00.Z",
        "2026-04-07T14:30:00.1234567890Z",  # 10 digits
        "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-04-07T24:00:00Z",
        "2026-04-07T14:60:00Z",
        "2026-04-07T14:30:60Z",
        "2026-04-07T14:30:00+24:00",
        "2026-04-07T14:30:0\u0661Z",  # a non-ASCII digit
        "1775521800",
        "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105",  # Go's format
    ],
)
def test_rejects(text: str) -> None:
    with pytest.raises(MalformedMessageError):
        parse_rfc3339_ns(text)


_SECOND = 1_000_000_000


@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 12, 31)),
    st.integers(0, _SECOND - 1),
    st.integers(1, 9),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
)
def test_exact_for_any_time_precision_and_offset(
    when: dt.datetime, ns: int, digits: int, offset_minutes: int
) -> None:
    utc_seconds = calendar.timegm(when.replace(microsecond=0).timetuple())
    fraction = f"{ns:09d}"[:digits]
    expected = utc_seconds * _SECOND + int(fraction.ljust(9, "0"))
    local = dt.datetime.fromtimestamp(utc_seconds, tz=dt.UTC) + dt.timedelta(minutes=offset_minutes)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{local:%Y-%m-%dT%H:%M:%S}.{fraction}{sign}{hours:02d}:{minutes:02d}"
    assert parse_rfc3339_ns(text) == expected
    assert parse_rfc3339_ns(format_rfc3339_ns(expected)) == expected


@given(st.integers(0, 7_258_118_399 * _SECOND))
def test_format_then_parse_is_identity(ts_ns: int) -> None:
    assert parse_rfc3339_ns(format_rfc3339_ns(ts_ns)) == ts_ns
    assert parse_rfc3339_ns(format_rfc3339_ns(ts_ns, digits=0)) == ts_ns - ts_ns % _SECOND
