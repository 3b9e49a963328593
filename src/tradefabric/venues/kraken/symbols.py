"""Kraken symbol spelling to unified symbols.

WebSocket v2 already writes unified symbols (``BTC/USD``, ``DOGE/USD``). REST still
uses the legacy names: ``XBT`` for bitcoin and ``XDG`` for dogecoin, either as an
altname (``XBTUSDT``) or with X/Z class prefixes (``XXBTZUSD``, ``XETHZEUR``).
"""

from __future__ import annotations

from tradefabric.core.errors import MalformedMessageError

ASSET_ALIASES: dict[str, str] = {"XBT": "BTC", "XDG": "DOGE"}
"""Kraken's legacy asset codes -> the common codes v2 uses."""
_LEGACY_CODES: dict[str, str] = {v: k for k, v in ASSET_ALIASES.items()}
LEGACY_PREFIXED: frozenset[str] = frozenset(
    ("XXBT", "XETH", "XXRP", "XLTC", "XXLM", "XXMR", "XZEC", "XETC", "XREP", "XMLN", "XXDG",
     "ZUSD", "ZEUR", "ZGBP", "ZCAD", "ZJPY", "ZAUD", "ZCHF")
)  # fmt: skip
"""Kraken's oldest asset codes carry an X (crypto) or Z (fiat) class prefix in REST."""

QUOTE_ASSETS: tuple[str, ...] = tuple(
    sorted(
        ("USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "USDT", "USDC", "DAI", "XBT", "ETH",
         "DOT", "PYUSD", "EURT", "AED"),
        key=len,
        reverse=True,
    )
)  # fmt: skip


def common_asset(code: str) -> str:
    """Return the common code of a Kraken asset (``XBT`` -> ``BTC``, ``XXBT`` -> ``XBT`` -> BTC)."""
    if code in LEGACY_PREFIXED:
        code = code[1:]
    return ASSET_ALIASES.get(code, code)


def check_symbol(symbol: str) -> str:
    """Return a v2 symbol (``BTC/USD``) unchanged, or raise if it is not ``BASE/QUOTE``."""
    base, sep, quote = symbol.partition("/")
    if not sep or not base or not quote or "/" in quote:
        raise MalformedMessageError(f"Kraken v2 symbol {symbol!r} is not BASE/QUOTE")
    return symbol


def rest_pair_to_symbol(pair: str) -> str:
    """Return the unified symbol of a REST pair name (``XXBTZUSD``/``XBTUSDT`` -> ``BTC/...``)."""
    upper = pair.upper()
    if "/" in upper:
        base, _, quote = upper.partition("/")
        return f"{common_asset(base)}/{common_asset(quote)}"
    if upper[:4] in LEGACY_PREFIXED and upper[4:] in LEGACY_PREFIXED:
        return f"{common_asset(upper[1:4])}/{common_asset(upper[5:])}"
    if upper[-4:] in LEGACY_PREFIXED and len(upper) > 4:
        return f"{common_asset(upper[:-4])}/{common_asset(upper[-4:])}"
    for quote in QUOTE_ASSETS:
        if upper.endswith(quote) and len(upper) > len(quote):
            return f"{common_asset(upper[: -len(quote)])}/{common_asset(quote)}"
    raise MalformedMessageError(f"cannot find the quote asset of Kraken pair {pair!r}")


def symbol_to_rest_pair(symbol: str) -> str:
    """Return the REST altname of a unified symbol (``BTC/USDT`` -> ``XBTUSDT``)."""
    base, _, quote = check_symbol(symbol).partition("/")
    return _LEGACY_CODES.get(base, base) + _LEGACY_CODES.get(quote, quote)
