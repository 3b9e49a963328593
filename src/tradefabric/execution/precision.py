"""Tick and lot rounding with integer arithmetic (ARCHITECTURE invariant 5).

A value is turned into an integer count of the instrument's smallest unit once;
rounding to a tick or lot is then integer division, and the text sent to a
venue is printed from those integers, never from a float's repr.
"""

from __future__ import annotations

import math
from decimal import Decimal

from tradefabric.core.errors import ConfigError
from tradefabric.model.instrument import Instrument


class Increment:
    """One increment (a tick or a lot) as an integer count of ``10**-decimals``."""

    __slots__ = ("decimals", "scale", "step")

    def __init__(self, increment: str) -> None:
        value = Decimal(increment)
        if not value.is_finite() or value <= 0:
            raise ConfigError(f"increment must be a positive decimal, got {increment!r}")
        exponent = value.normalize().as_tuple().exponent
        self.decimals = max(0, -int(exponent))
        self.scale: int = int(10**self.decimals)
        self.step: int = int(value * self.scale)

    def floor_units(self, value: float) -> int:
        """Return ``value`` rounded down to a multiple of the increment, in units."""
        # The 1e-9 guard keeps 0.3 / 0.1 = 2.9999999999999996 from losing a step.
        units = math.floor(value * self.scale + 1e-9)
        return units - units % self.step

    def ceil_units(self, value: float) -> int:
        """Return ``value`` rounded up to a multiple of the increment, in units."""
        units = math.ceil(value * self.scale - 1e-9)
        rest = units % self.step
        return units if rest == 0 else units + self.step - rest

    def to_float(self, units: int) -> float:
        """Return ``units`` as a float (the nearest double to the exact decimal)."""
        return units / self.scale

    def format(self, units: int) -> str:
        """Print ``units`` with exactly ``decimals`` digits after the point."""
        sign = "-" if units < 0 else ""
        whole, frac = divmod(abs(units), self.scale)
        if self.decimals == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{frac:0{self.decimals}d}"

    def floor(self, value: float) -> float:
        """Return ``value`` rounded down to the increment."""
        return self.to_float(self.floor_units(value))

    def ceil(self, value: float) -> float:
        """Return ``value`` rounded up to the increment."""
        return self.to_float(self.ceil_units(value))


class Precision:
    """An instrument's tick and lot, for rounding orders before they leave."""

    __slots__ = ("lot", "tick")

    def __init__(self, price_increment: str, size_increment: str) -> None:
        self.tick = Increment(price_increment)
        self.lot = Increment(size_increment)

    @classmethod
    def of(cls, instrument: Instrument) -> Precision:
        """Return the precision of ``instrument``."""
        return cls(instrument.price_increment, instrument.size_increment)

    def passive_price(self, price: float, buy: bool) -> float:
        """Round a limit price away from the market: buys down, sells up."""
        return self.tick.floor(price) if buy else self.tick.ceil(price)

    def aggressive_price(self, price: float, buy: bool) -> float:
        """Round a stop trigger towards being reached later: buys up, sells down."""
        return self.tick.ceil(price) if buy else self.tick.floor(price)

    def quantity(self, quantity: float) -> float:
        """Round a quantity down to the lot (never more than asked)."""
        return self.lot.floor(quantity)
