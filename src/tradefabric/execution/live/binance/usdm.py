"""The Binance USD-M futures live client (``binance-usdm``): REST and the listen-key stream.

Limits are amended in place (``modify``: ``PUT /fapi/v1/order``, the order keeps its
ids). The dead man's switch is ``countdownCancelAll`` per symbol: ``heartbeat`` re-arms
it for every symbol this client trades, so the venue cancels their orders if
the heartbeats stop (``supports_cancel_after`` is True).
"""

from __future__ import annotations

from typing import Any

import msgspec

from tradefabric.core.errors import MalformedMessageError, OrderRejectedError
from tradefabric.execution.live.binance import wire
from tradefabric.execution.live.binance.client import BinanceClientBase
from tradefabric.execution.live.binance.config import BinanceClientConfig, KeyPair
from tradefabric.execution.live.binance.listen_stream import ListenKeyStream
from tradefabric.execution.live.binance.orders import USDM_ENCODING
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.model.orders import OrderSide, OrderSnapshot
from tradefabric.venues.binance.live import raw_symbol


class BinanceUsdmClient(BinanceClientBase):
    """Binance USD-M futures' private API as a ``LiveExecutionClient``."""

    prefix = "/fapi/v1"
    encoding = USDM_ENCODING
    cancel_all_path = "/fapi/v1/allOpenOrders"
    trades_path = "/fapi/v1/userTrades"
    trades_window_ms = 7 * 24 * 3_600_000
    supports_cancel_after = True
    supports_modify = True

    def __init__(self, config: BinanceClientConfig, credentials: KeyPair) -> None:
        super().__init__(config, credentials)
        self.stream = ListenKeyStream(
            self.rest, self.endpoints.stream_url, on_event=self._on_event,
            on_reconnect=self.on_stream_reconnected, keepalive_s=config.keepalive_s,
            reconnect_delay_s=config.reconnect_delay_s,
        )  # fmt: skip
        self._type_decoder = msgspec.json.Decoder(wire.EventType)
        self._order_decoder = msgspec.json.Decoder(wire.OrderTradeUpdate)
        self._account_decoder = msgspec.json.Decoder(wire.AccountUpdate)

    async def connect(self, reports: LiveReports) -> None:
        """Open REST (clock offset, instruments) and the user stream."""
        self._reports = reports
        await self._open_rest()
        await self.stream.start()

    async def close(self) -> None:
        """Close the user stream and REST."""
        await self.stream.stop()
        await self.rest.close()

    async def submit(self, order: OrderSnapshot) -> str:
        """Place ``order``; return its venue order id once acknowledged."""
        answer = await self.rest.signed(
            "POST", "/fapi/v1/order", self.wire_order(order), order_entry=True
        )
        return self.remember(self.parse_order(answer)).venue_order_id

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """Ask the venue to cancel one order (-2011 when it is not open: ``OrderRejectedError``)."""
        params = {"symbol": raw_symbol(symbol), "origClientOrderId": client_order_id}
        await self.rest.signed("DELETE", "/fapi/v1/order", params)

    async def modify(
        self, symbol: str, client_order_id: str, quantity: float, price: float | None
    ) -> None:
        """Amend a resting limit's quantity and price in place (``PUT /fapi/v1/order``)."""
        if price is None:
            raise OrderRejectedError(f"{client_order_id}: an amend needs the price")
        side = self.sides.get(client_order_id)
        if side is None:
            known = await self.query_order(symbol, client_order_id)
            if known is None:
                raise OrderRejectedError(f"{client_order_id}: no such order at the venue", "-2013")
            side = known.side
        precision = self.precision(symbol)
        buy = side is OrderSide.BUY
        units = precision.tick.floor_units(price) if buy else precision.tick.ceil_units(price)
        params = {
            "symbol": raw_symbol(symbol), "origClientOrderId": client_order_id,
            "side": "BUY" if buy else "SELL", "price": precision.tick.format(units),
            "quantity": precision.lot.format(precision.lot.floor_units(quantity)),
        }  # fmt: skip
        answer = await self.rest.signed("PUT", "/fapi/v1/order", params, order_entry=True)
        self.remember(self.parse_order(answer))

    async def heartbeat(self, timeout_s: float) -> None:
        """Re-arm ``countdownCancelAll`` at ``timeout_s`` for every symbol traded."""
        countdown = str(max(1, round(timeout_s * 1000)))
        for symbol in sorted(self.symbols):
            params = {"symbol": raw_symbol(symbol), "countdownTime": countdown}
            await self.rest.signed("POST", "/fapi/v1/countdownCancelAll", params)

    def parse_order(self, answer: Any) -> OrderStatusReport:
        """Return the report of a USD-M order answer."""
        return self.parser.usdm_order(msgspec.convert(answer, wire.UsdmOrder))

    def parse_trade(self, row: Any, client_order_id: str) -> TradeReport:
        """Return the report of a ``userTrades`` row."""
        return self.parser.usdm_trade(msgspec.convert(row, wire.UsdmTrade), client_order_id)

    async def balances(self) -> tuple[BalanceReport, ...]:
        """Return the wallet balances of ``GET /fapi/v2/account``."""
        answer = await self.rest.signed("GET", "/fapi/v2/account", {})
        return self.parser.usdm_balances(msgspec.convert(answer, wire.UsdmAccount))

    async def positions(self) -> tuple[PositionReport, ...]:
        """Return every position of ``GET /fapi/v2/positionRisk``."""
        rows = await self.rest.signed("GET", "/fapi/v2/positionRisk", {})
        return self.parser.usdm_positions(msgspec.convert(rows, list[wire.UsdmPosition]))

    def _on_event(self, raw: bytes) -> None:
        try:
            kind = self._type_decoder.decode(raw).e
            if kind == "ORDER_TRADE_UPDATE":
                self.deliver(*self.parser.order_trade_update(self._order_decoder.decode(raw)))
            elif kind == "ACCOUNT_UPDATE":
                balances, positions = self.parser.account_update(self._account_decoder.decode(raw))
                for balance in balances:
                    self.reports.on_balance(balance)
                for position in positions:
                    self.reports.on_position(position)
        except (msgspec.DecodeError, MalformedMessageError, KeyError) as exc:
            self.malformed_event(raw, exc)
