"""Every importable candle format, by name: one table, no branches on format names."""

from __future__ import annotations

from typing import Final

from tradefabric.core.errors import ConfigError
from tradefabric.store.importers.formats.binance import BINANCE_KLINES
from tradefabric.store.importers.formats.freqtrade import FREQTRADE
from tradefabric.store.importers.formats.generic import GENERIC
from tradefabric.store.importers.formats.multi_exchange import MULTI_EXCHANGE
from tradefabric.store.importers.reader import CandleFormat

FORMATS: Final[dict[str, CandleFormat]] = {
    f.name: f for f in (FREQTRADE, BINANCE_KLINES, MULTI_EXCHANGE, GENERIC)
}


def candle_format(name: str) -> CandleFormat:
    """Return the format called ``name``; an unknown name is a ``ConfigError`` listing them."""
    found = FORMATS.get(name)
    if found is None:
        raise ConfigError(f"unknown import format {name!r}; expected one of {', '.join(FORMATS)}")
    return found
