"""Venues history can be downloaded from, through ccxt: one table, no branches.

Each entry says which ccxt class speaks to the venue, the ccxt options that
keep it on public market data endpoints, and the venue's paging quirks. Only
Binance (spot and USD-M) is listed so far; Coinbase, Kraken and Bybit can join
once the fake venue serves their history endpoints, so they can be tested offline.

A base URL override (``http://127.0.0.1:8765``) replaces the scheme and host
of every REST URL of the ccxt class, so a downloader pointed at the fake venue
cannot reach the internet through an endpoint left out of a list.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Final

# ccxt ships no type information; exchange objects are Any here.
import msgspec

from tradefabric.core.errors import ConfigError


class CcxtVenue(msgspec.Struct, frozen=True, kw_only=True):
    """How to download one venue's history through ccxt, and its paging quirks."""

    name: str
    """Venue name on catalog rows (``binance``), as the rest of tradefabric spells it."""
    ccxt_id: str
    """ccxt class name (``binance``, ``binanceusdm``)."""
    options: dict[str, object]
    """ccxt options: public market data only (no currencies, margin or other market types)."""
    candles_per_page: int
    trades_per_page: int
    trade_window_ms: int
    """Longest time window one time-bounded trade request may span."""
    trade_id_param: str
    """Request parameter that pages trades by id, from this id on (``fromId``)."""
    aggregate_trades: bool
    """Trades are the venue's aggregate trades (ids are aggregate ids, as its aggTrade stream)."""
    empty_page_ends: bool
    """An empty candle page means no later candles (the venue skips over its own gaps)."""
    used_weight_header: str | None
    """Response header with the request weight used so far, for the download report."""


_BINANCE_PAGING: Final[dict[str, Any]] = {
    "candles_per_page": 1000,
    "trades_per_page": 1000,
    "trade_window_ms": 3_600_000,
    "trade_id_param": "fromId",
    "aggregate_trades": True,
    "empty_page_ends": True,
    "used_weight_header": "X-MBX-USED-WEIGHT-1M",
}

CCXT_VENUES: Final[dict[str, CcxtVenue]] = {
    venue.name: venue
    for venue in (
        CcxtVenue(
            name="binance",
            ccxt_id="binance",
            options={"fetchCurrencies": False, "fetchMargins": False,
                     "fetchMarkets": {"types": ["spot"]}},
            **_BINANCE_PAGING,
        ),
        CcxtVenue(
            name="binance-usdm",
            ccxt_id="binanceusdm",
            options={"fetchCurrencies": False, "fetchMarkets": {"types": ["linear"]}},
            **_BINANCE_PAGING,
        ),
    )
}  # fmt: skip

_ORIGIN: Final = re.compile(r"^https?://[^/]+")
_BASE_URL: Final = re.compile(r"^https?://[^/\s]+(/[^\s]*)?$")


def ccxt_venue(name: str) -> CcxtVenue:
    """Return the download entry of venue ``name``; an unknown name is a ``ConfigError``."""
    found = CCXT_VENUES.get(name)
    if found is None:
        raise ConfigError(
            f"cannot download from venue {name!r} yet; downloads support {sorted(CCXT_VENUES)}"
        )
    return found


def build_exchange(
    venue: CcxtVenue,
    base_url: str | None = None,
    rate_limit_ms: float | None = None,
    timeout_ms: int = 10_000,
) -> Any:
    """Return a synchronous ccxt exchange for ``venue``, rate limited by ccxt itself.

    ``base_url`` replaces the origin of every REST URL (a fake venue, a proxy);
    ``rate_limit_ms`` overrides ccxt's delay per unit of request cost.
    """
    config: dict[str, object] = {
        "enableRateLimit": True,
        "timeout": timeout_ms,
        # ccxt changes its options while it runs: give it a copy of the table's.
        "options": copy.deepcopy(venue.options),
    }
    import ccxt  # noqa: PLC0415  (a third of a second to import: only when downloading)

    exchange = getattr(ccxt, venue.ccxt_id)(config)
    if rate_limit_ms is not None:
        exchange.rateLimit = rate_limit_ms
    if base_url is not None:
        exchange.urls["api"] = _rebase(exchange.urls["api"], _check_base_url(base_url))
    return exchange


def _check_base_url(base_url: str) -> str:
    if not _BASE_URL.match(base_url):
        raise ConfigError(
            f"invalid exchange URL {base_url!r}: expected http(s)://host[:port], "
            "e.g. http://127.0.0.1:8765"
        )
    return base_url.rstrip("/")


def _rebase(urls: object, base_url: str) -> object:
    """Return ``urls`` (a string, or nested dicts of them) with every origin replaced."""
    if isinstance(urls, str):
        return _ORIGIN.sub(lambda _match: base_url, urls, count=1)
    if isinstance(urls, dict):
        return {key: _rebase(value, base_url) for key, value in urls.items()}
    return urls
