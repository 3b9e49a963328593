"""Bybit symbol spelling (``BTCUSDT``) to unified symbols (``BTC/USDT``, ``BTC/USDT:USDT``).

Bybit writes symbols without a separator, so the quote asset is found by
suffix, longest first. USDC perpetuals listed before 2024 end in ``PERP``
(``BTCPERP`` settles in USDC). Dated futures (``BTC-26DEC25``) are not mapped.
"""

from __future__ import annotations

from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.venues.bybit.markets import BybitMarket

QUOTE_ASSETS: tuple[str, ...] = tuple(
    sorted(
        (
            "USDT", "USDC", "USDE", "USD1", "FDUSD", "DAI", "BTC", "ETH", "EUR", "BRL",
            "PLN", "TRY", "MNT", "USD",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip

_PERP_SUFFIX = "PERP"
_PERP_QUOTE = "USDC"


def split_symbol(raw_symbol: str) -> tuple[str, str]:
    """Split ``BTCUSDT`` into ``("BTC", "USDT")`` and ``BTCPERP`` into ``("BTC", "USDC")``."""
    upper = raw_symbol.upper()
    if upper.endswith(_PERP_SUFFIX) and len(upper) > len(_PERP_SUFFIX):
        return upper[: -len(_PERP_SUFFIX)], _PERP_QUOTE
    for quote in QUOTE_ASSETS:
        if upper.endswith(quote) and len(upper) > len(quote):
            return upper[: -len(quote)], quote
    raise MalformedMessageError(f"cannot find the quote asset of Bybit symbol {raw_symbol!r}")


def unified_symbol(raw_symbol: str, market: BybitMarket) -> str:
    """Return the unified symbol of ``raw_symbol`` on ``market`` (``BTC/USDT:USDT`` on linear)."""
    base, quote = split_symbol(raw_symbol)
    return f"{base}/{quote}{market.settle_suffix.format(quote=quote)}"


def raw_symbol(symbol: str) -> str:
    """Return Bybit's spelling of a unified symbol: ``BTC/USDT:USDT`` -> ``BTCUSDT``."""
    pair = symbol.split(":", 1)[0]
    if "/" not in pair:
        raise ConfigError(f"symbol {symbol!r}: expected a unified symbol such as BTC/USDT")
    return pair.replace("/", "").upper()
