"""Prices and sizes on the wire: rounded with integer arithmetic, printed at a precision.

A float such as ``0.1 + 0.2`` must reach a venue as ``0.3`` (at one decimal), never
``0.30000000000000004``: the value is scaled to an integer count of the precision's
units, rounded half away from zero once, and printed from that integer.
"""

from __future__ import annotations

import math


def wire_decimal(value: float, decimals: int) -> str:
    """Return ``value`` rounded to ``decimals`` places and printed without float noise."""
    if not math.isfinite(value):
        raise ValueError(f"cannot send a non-finite number: {value!r}")
    scale = 10**decimals
    units = math.floor(abs(value) * scale + 0.5 + 1e-9)
    sign = "-" if value < 0 and units else ""
    whole, frac = divmod(units, scale)
    return f"{sign}{whole}.{frac:0{decimals}d}" if decimals > 0 else f"{sign}{whole}"


def decimals_of(step: float) -> int:
    """Return how many decimals a tick or lot of ``step`` needs (0.01 -> 2, 1 -> 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))
