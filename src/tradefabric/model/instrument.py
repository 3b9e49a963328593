"""Instruments: what is traded where, with its price and size precision."""

from __future__ import annotations

import msgspec

from tradefabric.model.enums import InstrumentKind


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """A tradeable instrument on one venue.

    ``symbol`` is the unified symbol (``BTC/USDT`` for spot, ``BTC/USDT:USDT``
    for a USDT-margined perpetual, as ccxt writes it); ``raw_symbol`` is the
    venue's own spelling (``BTCUSDT``). Increments are decimal strings so they
    stay exact.
    """

    venue: str
    symbol: str
    raw_symbol: str
    base: str
    quote: str
    kind: InstrumentKind
    price_increment: str
    size_increment: str

    @property
    def price_precision(self) -> int:
        """Return the number of decimals of the price increment."""
        return _decimals(self.price_increment)

    @property
    def size_precision(self) -> int:
        """Return the number of decimals of the size increment."""
        return _decimals(self.size_increment)


def _decimals(increment: str) -> int:
    _, _, fraction = increment.partition(".")
    return len(fraction.rstrip("0"))
