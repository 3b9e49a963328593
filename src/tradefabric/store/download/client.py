"""One venue's history endpoints through ccxt: markets, candle pages, trade pages.

Every request goes through a ``Retrier`` (errors mapped by type, retryable
ones retried with backoff) on top of ccxt's own rate limiter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tradefabric.core.errors import ConfigError
from tradefabric.store.download.retry import Retrier
from tradefabric.store.download.venues import CcxtVenue, build_exchange, ccxt_venue

T = TypeVar("T")


class HistoryClient:
    """A ccxt exchange for one venue, with the venue's paging quirks and a retrier."""

    def __init__(self, venue: CcxtVenue, exchange: Any, retrier: Retrier | None = None) -> None:
        self.venue = venue
        self.exchange = exchange
        self.retrier = retrier or Retrier(exchange)
        self.max_used_weight: int | None = None

    @classmethod
    def open(
        cls, venue: str, base_url: str | None = None, rate_limit_ms: float | None = None
    ) -> HistoryClient:
        """Return a client of venue ``venue`` (``binance``), optionally at ``base_url``."""
        spec = ccxt_venue(venue)
        return cls(spec, build_exchange(spec, base_url, rate_limit_ms))

    def close(self) -> None:
        """Close the HTTP session."""
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()

    def __enter__(self) -> HistoryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def check(self, symbol: str, timeframe: str | None = None) -> None:
        """Load the venue's markets; raise ``ConfigError`` for an unknown symbol or timeframe."""
        markets: dict[str, Any] = self._call("load_markets", self.exchange.load_markets)
        if symbol not in markets:
            listed = ", ".join(sorted(markets)[:5])
            raise ConfigError(
                f"{self.venue.name} has no market {symbol!r} (unified symbols such as {listed})"
            )
        timeframes = getattr(self.exchange, "timeframes", None) or {}
        if timeframe is not None and timeframe not in timeframes:
            raise ConfigError(
                f"{self.venue.name} has no {timeframe!r} candles; it has {', '.join(timeframes)}"
            )

    def candles(self, symbol: str, timeframe: str, since_ms: int, until_ms: int) -> list[Any]:
        """Return one page of OHLCV rows opening in ``[since_ms, until_ms]``, oldest first."""
        limit = self.venue.candles_per_page
        rows: list[Any] = self._call(
            "fetch_ohlcv",
            lambda: self.exchange.fetch_ohlcv(
                symbol, timeframe, since_ms, limit, {"until": until_ms}
            ),
        )
        return rows

    def trades_between(self, symbol: str, since_ms: int, until_ms: int) -> list[Any]:
        """Return the first page of trades in ``[since_ms, until_ms]`` (one trade window)."""
        limit = self.venue.trades_per_page
        rows: list[Any] = self._call(
            "fetch_trades",
            lambda: self.exchange.fetch_trades(symbol, since_ms, limit, {"until": until_ms}),
        )
        return rows

    def trades_from(self, symbol: str, first_id: int) -> list[Any]:
        """Return one page of trades from id ``first_id`` on, oldest first."""
        limit = self.venue.trades_per_page
        params = {self.venue.trade_id_param: first_id}
        rows: list[Any] = self._call(
            "fetch_trades", lambda: self.exchange.fetch_trades(symbol, None, limit, params)
        )
        return rows

    def _call(self, what: str, request: Callable[[], T]) -> T:
        result = self.retrier.call(what, request)
        self._note_weight()
        return result

    def _note_weight(self) -> None:
        header = self.venue.used_weight_header
        headers = getattr(self.exchange, "last_response_headers", None)
        if header is None or not headers:
            return
        value = headers.get(header)
        if value is not None and str(value).isdigit():
            used = int(value)
            self.max_used_weight = max(self.max_used_weight or 0, used)
