"""The Binance spot live client (``binance``): WebSocket API order entry and user stream.

Orders are placed and cancelled on the WebSocket API session (``order.place``,
``order.cancel``), over REST while that session reconnects, or always over REST with
``order_entry: rest``; queries, cancel-all and the mass status use REST. Spot has no
cancel-after: ``supports_cancel_after`` is False and the guard process covers it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from tradefabric.core.errors import MalformedMessageError
from tradefabric.execution.live.binance import wire
from tradefabric.execution.live.binance.client import BinanceClientBase
from tradefabric.execution.live.binance.config import BinanceClientConfig, KeyPair
from tradefabric.execution.live.binance.orders import SPOT_ENCODING
from tradefabric.execution.live.binance.ws_api import WsApiSession
from tradefabric.execution.live.protocol import LiveReports
from tradefabric.execution.live.reports import BalanceReport, OrderStatusReport, TradeReport
from tradefabric.model.orders import OrderSnapshot
from tradefabric.venues.binance.live import raw_symbol


class BinanceSpotClient(BinanceClientBase):
    """Binance spot's private API as a ``LiveExecutionClient``."""

    prefix = "/api/v3"
    encoding = SPOT_ENCODING
    cancel_all_path = "/api/v3/openOrders"
    trades_path = "/api/v3/myTrades"

    def __init__(self, config: BinanceClientConfig, credentials: KeyPair) -> None:
        super().__init__(config, credentials)
        self.ws = WsApiSession(
            self.endpoints.ws_api_url, credentials.api_key, self.signer,
            on_event=self._on_event, on_reconnect=self.on_stream_reconnected,
            timestamp_ms=self.rest.timestamp_ms, gate=self.rest.gate,
            timeout_s=config.request_timeout_s,
            reconnect_delay_s=config.reconnect_delay_s,
        )  # fmt: skip
        self._by_websocket = config.order_entry == "websocket"
        self._order_decoder = msgspec.json.Decoder(wire.SpotOrder)
        self._type_decoder = msgspec.json.Decoder(wire.EventType)
        self._report_decoder = msgspec.json.Decoder(wire.ExecutionReport)
        self._position_decoder = msgspec.json.Decoder(wire.OutboundAccountPosition)

    async def connect(self, reports: LiveReports) -> None:
        """Open REST (clock offset, instruments) and the WebSocket API with the user stream."""
        self._reports = reports
        await self._open_rest()
        await self.ws.start()

    async def close(self) -> None:
        """Close the WebSocket API session and REST."""
        await self.ws.stop()
        await self.rest.close()

    async def submit(self, order: OrderSnapshot) -> str:
        """Place ``order``; return its venue order id once acknowledged."""
        params = self.wire_order(order)
        if self._by_websocket and self.ws.connected:
            raw = await self.ws.request("order.place", params, order_entry=True)
            report = self.parse_order(msgspec.json.decode(raw))
        else:
            answer = await self.rest.signed("POST", "/api/v3/order", params, order_entry=True)
            report = self.parse_order(answer)
        return self.remember(report).venue_order_id

    async def cancel(self, symbol: str, client_order_id: str) -> None:
        """Ask the venue to cancel one order (-2011 when it is not open: ``OrderRejectedError``)."""
        params = {"symbol": raw_symbol(symbol), "origClientOrderId": client_order_id}
        if self._by_websocket and self.ws.connected:
            await self.ws.request("order.cancel", params)
        else:
            await self.rest.signed("DELETE", "/api/v3/order", params)

    async def heartbeat(self, timeout_s: float) -> None:
        """Do nothing: spot has no cancel-after (the guard process cancels for it)."""

    def parse_order(self, answer: Any) -> OrderStatusReport:
        """Return the report of a spot order answer."""
        return self.parser.spot_order(msgspec.convert(answer, wire.SpotOrder))

    def parse_trade(self, row: Any, client_order_id: str) -> TradeReport:
        """Return the report of a ``myTrades`` row."""
        return self.parser.spot_trade(msgspec.convert(row, wire.SpotTrade), client_order_id)

    async def balances(self) -> tuple[BalanceReport, ...]:
        """Return every balance of ``GET /api/v3/account``."""
        answer = await self.rest.signed("GET", "/api/v3/account", {})
        return self.parser.spot_balances(msgspec.convert(answer, wire.SpotAccount))

    def _on_event(self, raw: bytes) -> None:
        try:
            kind = self._type_decoder.decode(raw).e
            if kind == "executionReport":
                self.deliver(*self.parser.execution_report(self._report_decoder.decode(raw)))
            elif kind == "outboundAccountPosition":
                for balance in self.parser.account_position(self._position_decoder.decode(raw)):
                    self.reports.on_balance(balance)
        except (msgspec.DecodeError, MalformedMessageError, KeyError) as exc:
            self.malformed_event(raw, exc)
