"""Identifiers of the trading domain: one ``InstrumentId`` for cache, risk, analytics and topics.

An instrument is a symbol on a venue. ``venue`` is the name of the trading venue
as the venue registry spells it (``binance``, ``binance-usdm``, ``bybit``...);
``symbol`` is the unified symbol (``BTC/USDT``, ``BTC/USDT:USDT`` for a
USDT-margined perpetual, as ccxt writes it).
"""

from __future__ import annotations

import msgspec

from tradefabric.core.errors import ConfigError


class InstrumentId(msgspec.Struct, frozen=True, order=True, gc=False):
    """A symbol on a venue; ``str()`` gives ``venue:symbol``, ``parse`` reads it back."""

    venue: str
    symbol: str

    def __str__(self) -> str:
        return f"{self.venue}:{self.symbol}"

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        """Read ``venue:symbol`` (``binance:BTC/USDT``); anything else is a ``ConfigError``."""
        venue, sep, symbol = text.partition(":")
        if not sep or not venue or not symbol:
            raise ConfigError(f"instrument {text!r}: expected venue:symbol, e.g. binance:BTC/USDT")
        return cls(venue=venue, symbol=symbol)
