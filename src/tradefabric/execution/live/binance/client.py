"""What Binance's spot and USD-M live clients share: REST queries, mass status, precision.

A subclass (``spot``, ``usdm``) says how its market places and cancels orders,
parses its answers and runs its user stream. Trade rows carry no client order
id: it is taken from the orders this client has seen, else asked of the venue
by ``orderId`` (an order placed by hand gets ``""``, and the reconciler adopts it).
"""

from __future__ import annotations

import time
from typing import Any, Final

import msgspec
import structlog

from tradefabric.core.errors import ConfigError, OrderRejectedError, TradefabricError
from tradefabric.execution.live.binance.config import BinanceClientConfig, KeyPair
from tradefabric.execution.live.binance.errors import NOT_FOUND, UNKNOWN_ORDER
from tradefabric.execution.live.binance.orders import OrderEncoding, order_params
from tradefabric.execution.live.binance.parse import BinanceParser
from tradefabric.execution.live.binance.rest import BinanceRest
from tradefabric.execution.live.binance.signing import signer_for
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    MassStatus,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.execution.precision import Precision
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import OrderSide, OrderSnapshot
from tradefabric.venues.binance.instruments import parse_exchange_info
from tradefabric.venues.binance.live import raw_symbol
from tradefabric.venues.binance.markets import market
from tradefabric.venues.binance.symbols import unified_symbol

log = structlog.get_logger(__name__)

_TRADES_PAGE: Final = 1000


class _ServerTime(msgspec.Struct, frozen=True):
    serverTime: int  # noqa: N815


class BinanceClientBase:
    """The shared half of a Binance live client (see ``spot`` and ``usdm``)."""

    supports_modify = False
    supports_cancel_after = False
    prefix = ""
    """``/api/v3`` or ``/fapi/v1``."""
    encoding: OrderEncoding
    cancel_all_path = ""

    def __init__(self, config: BinanceClientConfig, credentials: KeyPair) -> None:
        self.name = config.venue
        self.config = config
        self._market = market(config.venue)
        self.endpoints = config.endpoints()
        self.signer = signer_for(credentials.api_secret)
        self.api_key = credentials.api_key
        self.rest = BinanceRest(
            self.endpoints.rest_url, credentials.api_key, self.signer,
            recv_window_ms=config.recv_window_ms, timeout_s=config.request_timeout_s,
        )  # fmt: skip
        self.parser = BinanceParser(config.venue, lambda raw: unified_symbol(raw, self._market))
        self._instruments: dict[str, Instrument] = {i.symbol: i for i in config.instruments}
        self._precision: dict[str, Precision] = {}
        self.sides: dict[str, OrderSide] = {}
        """Client order id -> side, of the orders this client sent (an amend repeats it)."""
        self._client_ids: dict[str, str] = {}
        """Venue order id -> our client order id, from every order report seen."""
        self.symbols: set[str] = set(config.symbols)
        """Unified symbols this client traded or was configured with."""
        self._reports: LiveReports | None = None
        self.malformed = 0

    @property
    def reports(self) -> LiveReports:
        """Return where reports go (set by ``connect``)."""
        if self._reports is None:
            raise ConfigError(f"{self.name} client: connect() first")
        return self._reports

    async def _open_rest(self) -> None:
        await self.rest.open()
        await self._sync_time()
        if not self._instruments:
            raw = await self.rest.public(f"{self.prefix}/exchangeInfo")
            self._instruments = {i.symbol: i for i in parse_exchange_info(raw, self._market)}

    async def _sync_time(self) -> None:
        sent = time.time_ns() // 1_000_000
        answer = msgspec.convert(await self.rest.keyed("GET", f"{self.prefix}/time"), _ServerTime)
        received = time.time_ns() // 1_000_000
        self.rest.clock_offset_ms = answer.serverTime - (sent + received) // 2

    def precision(self, symbol: str) -> Precision:
        """Return the tick and lot of a unified symbol."""
        found = self._precision.get(symbol)
        if found is None:
            instrument = self._instruments.get(symbol)
            if instrument is None:
                raise OrderRejectedError(f"{self.name}: no instrument {symbol!r} at the venue")
            found = self._precision[symbol] = Precision.of(instrument)
        return found

    def wire_order(self, order: OrderSnapshot) -> dict[str, str]:
        """Return the wire parameters of ``order`` (rounded and printed from its precision)."""
        self.symbols.add(order.symbol)
        self.sides[order.client_order_id] = order.side
        raw = raw_symbol(order.symbol)
        return order_params(order, raw, self.precision(order.symbol), self.encoding)

    def remember(self, report: OrderStatusReport) -> OrderStatusReport:
        """Note a report's client id for its venue id (trade rows carry only the latter)."""
        if report.client_order_id:
            self._client_ids[report.venue_order_id] = report.client_order_id
        return report

    # -- what every market does the same way --------------------------------------------

    async def query_order(self, symbol: str, client_order_id: str) -> OrderStatusReport | None:
        """Return the venue's view of one order by its client id; None when it never had it."""
        params = {"symbol": raw_symbol(symbol), "origClientOrderId": client_order_id}
        try:
            answer = await self.rest.signed("GET", f"{self.prefix}/order", params)
        except OrderRejectedError as exc:
            if _code(exc) in NOT_FOUND:
                return None
            raise
        return self.remember(self.parse_order(answer))

    async def open_orders(self, symbol: str | None = None) -> list[OrderStatusReport]:
        """Return the open orders of ``symbol`` (or of the account)."""
        params = {"symbol": raw_symbol(symbol)} if symbol else {}
        rows = await self.rest.signed("GET", f"{self.prefix}/openOrders", params)
        return [self.remember(self.parse_order(row)) for row in rows]

    async def cancel_all(self, symbol: str | None = None) -> None:
        """Cancel every open order of ``symbol``, or of every symbol with open orders."""
        symbols = {symbol} if symbol else {o.symbol for o in await self.open_orders()}
        for each in sorted(symbols):
            try:
                await self.rest.signed("DELETE", self.cancel_all_path, {"symbol": raw_symbol(each)})
            except OrderRejectedError as exc:
                if _code(exc) not in UNKNOWN_ORDER:  # -2011: nothing was open
                    raise

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """Refuse: this client does not amend in place (``supports_modify`` is False)."""
        raise OrderRejectedError(f"{self.name}: modify is not supported; cancel and resubmit")

    async def mass_status(self, symbols: tuple[str, ...], trades_since_ns: int) -> MassStatus:
        """Return open orders, trades since ``trades_since_ns``, balances and positions."""
        orders: list[OrderStatusReport] = []
        for symbol in symbols or (None,):
            orders += await self.open_orders(symbol)
        traded = set(symbols) or (self.symbols | {o.symbol for o in orders})
        trades: list[TradeReport] = []
        for symbol in sorted(traded):
            trades += await self.trades(symbol, trades_since_ns)
        return MassStatus(
            venue=self.name, ts_event=time.time_ns(), orders=tuple(orders), trades=tuple(trades),
            balances=await self.balances(), positions=await self.positions(),
        )  # fmt: skip

    async def trades(self, symbol: str, since_ns: int) -> list[TradeReport]:
        """Return the account's trades of ``symbol`` since ``since_ns`` (0: the last window).

        Binance answers one time window per request (spot 24 h, USD-M 7 days:
        ``trades_window_ms``), so a start further back is asked window by window; a
        full page goes on by trade id (``fromId``), which reaches the newest trade.
        """
        raw = raw_symbol(symbol)
        out: list[TradeReport] = []
        for window in self._trade_windows(since_ns // 1_000_000):
            rows = await self._trade_page({"symbol": raw, **window})
            out += [await self._trade_report(symbol, row) for row in rows]
            if len(rows) < _TRADES_PAGE:
                continue
            while len(rows) == _TRADES_PAGE:  # by id from here: up to the newest trade
                rows = await self._trade_page(
                    {"symbol": raw, "fromId": str(int(out[-1].trade_id) + 1)}
                )
                out += [await self._trade_report(symbol, row) for row in rows]
            break
        return out

    def _trade_windows(self, since_ms: int) -> list[dict[str, str]]:
        now_ms = self.rest.timestamp_ms()
        step = self.trades_window_ms
        if since_ms <= 0:
            # What the venue keeps by default (its last window), asked so it pages forward.
            since_ms = now_ms - step + 1
        return [
            {"startTime": str(start), "endTime": str(min(start + step - 1, now_ms))}
            for start in range(since_ms, now_ms + 1, step)
        ]

    async def _trade_page(self, params: dict[str, str]) -> list[Any]:
        rows: list[Any] = await self.rest.signed(
            "GET", self.trades_path, {**params, "limit": str(_TRADES_PAGE)}
        )
        return rows

    async def _trade_report(self, symbol: str, row: Any) -> TradeReport:
        venue_id = str(row["orderId"])
        client_id = self._client_ids.get(venue_id)
        if client_id is None:
            client_id = await self._client_id_of(symbol, venue_id)
        return self.parse_trade(row, client_id)

    async def _client_id_of(self, symbol: str, venue_order_id: str) -> str:
        params = {"symbol": raw_symbol(symbol), "orderId": venue_order_id}
        try:
            answer = await self.rest.signed("GET", f"{self.prefix}/order", params)
        except OrderRejectedError:
            return ""
        return self.remember(self.parse_order(answer)).client_order_id

    def deliver(self, report: OrderStatusReport, trade: TradeReport | None) -> None:
        """Hand a stream event's reports to the engine (the trade after the status)."""
        self.remember(report)
        self.reports.on_order_status(report)
        if trade is not None:
            self.reports.on_trade(trade)

    def on_stream_reconnected(self) -> None:
        """Tell the engine the user stream was down (it reconciles)."""
        self.reports.on_stream_reconnected(self.name)

    def malformed_event(self, raw: bytes, error: Exception) -> None:
        """Count and log an event that could not be parsed (never raise into the stream)."""
        self.malformed += 1
        log.warning(
            "binance_user_event_malformed", venue=self.name, error=str(error), size=len(raw)
        )

    # -- what each market says its own way -------------------------------------------------

    trades_path = ""
    trades_window_ms = 24 * 3_600_000
    """The longest startTime..endTime one trade request may span."""

    def parse_order(self, answer: Any) -> OrderStatusReport:
        """Return the report of one order answer (a decoded JSON object)."""
        raise NotImplementedError

    def parse_trade(self, row: Any, client_order_id: str) -> TradeReport:
        """Return the report of one trade row."""
        raise NotImplementedError

    async def balances(self) -> tuple[BalanceReport, ...]:
        """Return the account's balances."""
        raise NotImplementedError

    async def positions(self) -> tuple[PositionReport, ...]:
        """Return the account's positions (none on spot)."""
        return ()


def _code(error: TradefabricError) -> int:
    code = getattr(error, "code", "")
    return int(code) if isinstance(code, str) and code.lstrip("-").isdigit() else 0
