"""Comparisons and real-data slices shared by the importer tests."""

from __future__ import annotations

import math
from typing import Any


def same_values(actual: list[Any], expected: list[Any]) -> bool:
    """Return whether two lists are equal, NaN counting as equal to NaN."""
    return len(actual) == len(expected) and all(
        a == e
        or (isinstance(a, float) and isinstance(e, float) and math.isnan(a) and math.isnan(e))
        for a, e in zip(actual, expected, strict=True)
    )


def assert_same_candles(actual: Any, expected: Any, skip: tuple[str, ...] = ()) -> None:
    """Assert two candle tables hold the same values in every column but ``skip``."""
    assert actual.schema.equals(expected.schema)
    assert actual.num_rows == expected.num_rows
    for name in actual.column_names:
        if name not in skip:
            assert same_values(actual[name].to_pylist(), expected[name].to_pylist()), name
