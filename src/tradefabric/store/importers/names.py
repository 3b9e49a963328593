"""Unified symbols and intervals from what file names and options spell.

The catalog keys candles by venue, unified symbol (``BTC/USDT``, perpetuals
``BTC/USDT:USDT``) and interval label. Quote currencies are kept exactly as
spelled: USD, USDT and USDC are different markets.
"""

from __future__ import annotations

import re
from typing import Final

from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_DAY, NS_PER_HOUR, NS_PER_MINUTE, NS_PER_SECOND

QUOTE_ASSETS: Final[tuple[str, ...]] = (
    "USDT", "USD", "USDC", "EUR", "BTC", "ETH", "FDUSD", "DAI", "GBP", "JPY", "AUD", "CAD",
    "CHF", "TRY", "BRL", "BNB", "PYUSD", "USDP", "BUSD", "TUSD",
)  # fmt: skip
"""Quote assets a pair written without a separator can end in, most common first."""

KNOWN_BASES: Final[frozenset[str]] = frozenset(
    ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "BNB", "LTC", "DOT", "AVAX", "LINK", "TRX",
     "BCH", "XLM", "ATOM", "UNI", "MATIC", "POL", *QUOTE_ASSETS)
)  # fmt: skip
"""Assets a split prefers as base: ``USDTUSD`` is USDT/USD, not USD/TUSD; ``BTCTUSD`` BTC/TUSD."""

_SYMBOL = re.compile(r"[A-Z0-9]+/[A-Z0-9]+(:[A-Z0-9]+)?")
_PAIR_SEPARATORS = re.compile(r"[-_/]")
_LABELS: Final = ((NS_PER_DAY, "d"), (NS_PER_HOUR, "h"), (NS_PER_MINUTE, "m"), (NS_PER_SECOND, "s"))


def check_symbol(symbol: str) -> str:
    """Return ``symbol`` if it is a unified symbol (``BTC/USDT``, ``BTC/USDT:USDT``), else raise."""
    if not _SYMBOL.fullmatch(symbol):
        raise ConfigError(
            f"symbol {symbol!r} is not a unified symbol: expected BASE/QUOTE in capitals, "
            "e.g. BTC/USDT, or BTC/USDT:USDT for a perpetual"
        )
    return symbol


def pair_to_symbol(pair: str) -> str | None:
    """Return the unified symbol of a pair as file names write it, or None if it is unclear.

    ``btcusd`` -> ``BTC/USD``, ``usdtusd`` -> ``USDT/USD``, ``BTC-USDT`` -> ``BTC/USDT``.
    Without a separator the quote is a known quote asset the pair ends in,
    preferring splits whose base is a known asset, then the more common quote.
    """
    upper = pair.upper()
    parts = _PAIR_SEPARATORS.split(upper)
    if len(parts) == 2 and all(parts):
        return f"{parts[0]}/{parts[1]}"
    if len(parts) != 1 or not upper.isalnum():
        return None
    splits = [
        (upper[: -len(quote)], quote)
        for quote in QUOTE_ASSETS
        if upper.endswith(quote) and len(upper) > len(quote)
    ]
    known = [split for split in splits if split[0] in KNOWN_BASES]
    best = (known or splits)[:1]
    return f"{best[0][0]}/{best[0][1]}" if best else None


def interval_label(interval_ns: int) -> str:
    """Return the label of an interval in its largest whole unit (60 s -> ``1m``)."""
    for unit_ns, unit in _LABELS:
        if interval_ns % unit_ns == 0:
            return f"{interval_ns // unit_ns}{unit}"
    raise ConfigError(f"interval of {interval_ns} ns is not a whole number of seconds")
