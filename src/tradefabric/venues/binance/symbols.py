"""Binance symbol spelling (``BTCUSDT``) to unified symbols (``BTC/USDT``).

Binance writes symbols without a separator, so the quote asset is found by
suffix, longest first. The live feed will refine this from ``exchangeInfo``;
the table covers the quote assets Binance lists.
"""

from __future__ import annotations

from tradefabric.core.errors import MalformedMessageError
from tradefabric.venues.binance.markets import BinanceMarket

QUOTE_ASSETS: tuple[str, ...] = tuple(
    sorted(
        (
            "USDT", "USDC", "FDUSD", "TUSD", "BUSD", "USDP", "DAI", "BTC", "ETH", "BNB",
            "EUR", "TRY", "BRL", "GBP", "AUD", "JPY", "ARS", "MXN", "PLN", "RON", "UAH",
            "ZAR", "IDRT", "BIDR", "XRP", "DOGE", "DOT", "TRX", "PAX", "USDS", "AEUR",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip


def split_symbol(raw_symbol: str) -> tuple[str, str]:
    """Split ``BTCUSDT`` into ``("BTC", "USDT")``."""
    upper = raw_symbol.upper()
    for quote in QUOTE_ASSETS:
        if upper.endswith(quote) and len(upper) > len(quote):
            return upper[: -len(quote)], quote
    raise MalformedMessageError(f"cannot find the quote asset of Binance symbol {raw_symbol!r}")


def unified_symbol(raw_symbol: str, market: BinanceMarket) -> str:
    """Return the unified symbol of ``raw_symbol`` on ``market`` (``BTC/USDT:USDT`` for USD-M)."""
    base, quote = split_symbol(raw_symbol)
    return f"{base}/{quote}{market.settle_suffix.format(quote=quote)}"
