"""Instruments: what is traded where, with its price and size precision and order minimums."""

from __future__ import annotations

import msgspec

from tradefabric.model.enums import InstrumentKind
from tradefabric.model.identifiers import InstrumentId


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """A tradeable instrument on one venue, as the venue's exchange info defines it.

    ``symbol`` is the unified symbol (``BTC/USDT`` for spot, ``BTC/USDT:USDT``
    for a USDT-margined perpetual, as ccxt writes it); ``raw_symbol`` is the
    venue's own spelling (``BTCUSDT``). Every number is a decimal string so it
    stays exact: ``price_increment`` is the tick, ``size_increment`` the lot step,
    ``min_size`` the smallest order quantity, ``min_notional`` the smallest order
    value in the quote asset (``"0"``: the venue sets none), ``contract_size`` how
    much base asset one unit of quantity is (``"1"`` for spot and for linear
    contracts quoted in the base asset, as Binance and Bybit define them).
    """

    venue: str
    symbol: str
    raw_symbol: str
    base: str
    quote: str
    kind: InstrumentKind
    price_increment: str
    size_increment: str
    min_size: str = "0"
    min_notional: str = "0"
    contract_size: str = "1"

    @property
    def id(self) -> InstrumentId:
        """Return the instrument's identity: its venue and unified symbol."""
        return InstrumentId(venue=self.venue, symbol=self.symbol)

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


class InstrumentSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Every instrument one venue listed at ``fetched_at_ns`` (UTC, ns since epoch)."""

    venue: str
    fetched_at_ns: int
    url: str
    """Where the listing was fetched from."""
    instruments: tuple[Instrument, ...]
