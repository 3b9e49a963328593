"""Binance's private answers and events (``wire``) as the live reports the engine applies.

Statuses, order types and times in force are tables; the sample payload of each
input is in its struct's docstring (``wire``). Times: Binance's ms become ns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, NamedTuple

from tradefabric.execution.live.binance import wire
from tradefabric.execution.live.reports import (
    BalanceReport,
    OrderStatusReport,
    PositionReport,
    TradeReport,
)
from tradefabric.model.orders import LiquiditySide, OrderSide, OrderStatus, OrderType, TimeInForce

_MS: Final = 1_000_000

STATUS: Final[dict[str, OrderStatus]] = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.SUBMITTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.CANCEL_PENDING,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
TYPES: Final[dict[str, tuple[OrderType, bool]]] = {
    "LIMIT": (OrderType.LIMIT, False),
    "LIMIT_MAKER": (OrderType.LIMIT, True),
    "MARKET": (OrderType.MARKET, False),
    "STOP_LOSS": (OrderType.STOP_MARKET, False),
    "STOP_MARKET": (OrderType.STOP_MARKET, False),
    "STOP_LOSS_LIMIT": (OrderType.STOP_LIMIT, False),
    "STOP": (OrderType.STOP_LIMIT, False),
    "TAKE_PROFIT": (OrderType.TAKE_PROFIT, False),
    "TAKE_PROFIT_MARKET": (OrderType.TAKE_PROFIT, False),
    "TAKE_PROFIT_LIMIT": (OrderType.STOP_LIMIT, False),
    "TRAILING_STOP_MARKET": (OrderType.TRAILING_STOP, False),
}
"""Binance's order type -> (ours, post-only)."""
TIFS: Final[dict[str, tuple[TimeInForce, bool]]] = {
    "GTC": (TimeInForce.GTC, False),
    "IOC": (TimeInForce.IOC, False),
    "FOK": (TimeInForce.FOK, False),
    "GTX": (TimeInForce.GTC, True),
    "GTD": (TimeInForce.GTC, False),
}
"""Binance's time in force -> (ours, post-only); USD-M's GTX is post-only."""
SIDES: Final = {"BUY": OrderSide.BUY, "SELL": OrderSide.SELL}


def _f(text: str | None) -> float:
    return float(text) if text else 0.0


def _price(text: str) -> float | None:
    value = _f(text)
    return value if value > 0 else None


class BinanceParser:
    """Turn one Binance market's private wire shapes into reports."""

    def __init__(self, venue: str, unified: Callable[[str], str]) -> None:
        self.venue = venue
        self.unified = unified

    def _order(self, raw_symbol: str, fields: _OrderFields) -> OrderStatusReport:
        kind, maker_only = TYPES.get(fields.type, (OrderType.LIMIT, False))
        tif, gtx = TIFS.get(fields.tif, (TimeInForce.GTC, False))
        filled = _f(fields.filled)
        return OrderStatusReport(
            venue=self.venue, symbol=self.unified(raw_symbol),
            client_order_id=fields.client_id, venue_order_id=str(fields.order_id),
            side=SIDES[fields.side], order_type=kind,
            status=STATUS.get(fields.status, OrderStatus.ACCEPTED),
            quantity=_f(fields.quantity), price=_price(fields.price), filled_quantity=filled,
            avg_price=fields.avg_price, ts_event=fields.ts_ms * _MS, time_in_force=tif,
            post_only=maker_only or gtx, reduce_only=fields.reduce_only,
        )  # fmt: skip

    def spot_order(self, o: wire.SpotOrder) -> OrderStatusReport:
        """Return the report of a spot order answer."""
        filled = _f(o.executedQty)
        avg = _f(o.cummulativeQuoteQty) / filled if filled > 0 else 0.0
        ts = o.updateTime or o.transactTime or o.time
        fields = _OrderFields(
            o.clientOrderId, o.orderId, o.side, o.type, o.timeInForce, o.status, o.origQty,
            o.price, o.executedQty, avg, ts, False,
        )  # fmt: skip
        return self._order(o.symbol, fields)

    def usdm_order(self, o: wire.UsdmOrder) -> OrderStatusReport:
        """Return the report of a USD-M order answer."""
        fields = _OrderFields(
            o.clientOrderId, o.orderId, o.side, o.type, o.timeInForce, o.status, o.origQty,
            o.price, o.executedQty, _f(o.avgPrice), o.updateTime or o.time, o.reduceOnly,
        )  # fmt: skip
        return self._order(o.symbol, fields)

    def execution_report(
        self, r: wire.ExecutionReport
    ) -> tuple[OrderStatusReport, TradeReport | None]:
        """Return the order report (and the trade, on ``x == TRADE``) of an ``executionReport``."""
        client_id = r.C if r.x == "CANCELED" and r.C else r.c
        filled = _f(r.z)
        avg = _f(r.Z) / filled if filled > 0 else 0.0
        fields = _OrderFields(client_id, r.i, r.S, r.o, r.f, r.X, r.q, r.p, r.z, avg, r.T, False)
        report = self._order(r.s, fields)
        trade = None
        if r.x == "TRADE":
            trade = self._trade(
                _TradeFields(r.s, client_id, r.i, r.t, r.S, r.L, r.l, r.n, r.N or "", r.m, r.T)
            )
        return report, trade

    def order_trade_update(
        self, u: wire.OrderTradeUpdate
    ) -> tuple[OrderStatusReport, TradeReport | None]:
        """Return the order report (and the trade) of a USD-M ``ORDER_TRADE_UPDATE``."""
        o = u.o
        fields = _OrderFields(o.c, o.i, o.S, o.o, o.f, o.X, o.q, o.p, o.z, _f(o.ap), o.T, o.R)
        report = self._order(o.s, fields)
        trade = None
        if o.x == "TRADE":
            trade = self._trade(_TradeFields(o.s, o.c, o.i, o.t, o.S, o.L, o.l, o.n, o.N, o.m, o.T))
        return report, trade

    def spot_trade(self, t: wire.SpotTrade, client_id: str) -> TradeReport:
        """Return the report of a ``myTrades`` row (its order's client id found by the caller)."""
        side = "BUY" if t.isBuyer else "SELL"
        fields = _TradeFields(
            t.symbol, client_id, t.orderId, t.id, side, t.price, t.qty, t.commission,
            t.commissionAsset, t.isMaker, t.time,
        )  # fmt: skip
        return self._trade(fields)

    def usdm_trade(self, t: wire.UsdmTrade, client_id: str) -> TradeReport:
        """Return the report of a ``userTrades`` row."""
        fields = _TradeFields(
            t.symbol, client_id, t.orderId, t.id, t.side, t.price, t.qty, t.commission,
            t.commissionAsset, t.maker, t.time,
        )  # fmt: skip
        return self._trade(fields)

    def _trade(self, t: _TradeFields) -> TradeReport:
        return TradeReport(
            venue=self.venue, symbol=self.unified(t.symbol), client_order_id=t.client_id,
            venue_order_id=str(t.order_id), trade_id=str(t.trade_id), side=SIDES[t.side],
            price=_f(t.price), quantity=_f(t.qty), fee=_f(t.fee), fee_currency=t.fee_asset,
            liquidity=LiquiditySide.MAKER if t.maker else LiquiditySide.TAKER,
            ts_event=t.ts_ms * _MS,
        )  # fmt: skip

    def spot_balances(self, account: wire.SpotAccount) -> tuple[BalanceReport, ...]:
        """Return the balances of ``GET /api/v3/account``."""
        now = time.time_ns()
        return tuple(
            BalanceReport(
                venue=self.venue, asset=b.asset, free=_f(b.free), locked=_f(b.locked), ts_event=now
            )
            for b in account.balances
        )

    def account_position(self, p: wire.OutboundAccountPosition) -> tuple[BalanceReport, ...]:
        """Return the balances of an ``outboundAccountPosition``."""
        return tuple(
            BalanceReport(
                venue=self.venue, asset=b.a, free=_f(b.f), locked=_f(b.l), ts_event=p.E * _MS
            )
            for b in p.B
        )

    def usdm_balances(self, account: wire.UsdmAccount) -> tuple[BalanceReport, ...]:
        """Return the wallet balances of ``GET /fapi/v2/account`` (locked: margin in use)."""
        now = time.time_ns()
        return tuple(
            BalanceReport(
                venue=self.venue,
                asset=a.asset,
                free=_f(a.availableBalance),
                locked=_f(a.walletBalance) - _f(a.availableBalance),
                ts_event=now,
            )
            for a in account.assets
        )

    def usdm_positions(self, rows: list[wire.UsdmPosition]) -> tuple[PositionReport, ...]:
        """Return the positions of ``GET /fapi/v2/positionRisk``."""
        now = time.time_ns()
        return tuple(
            PositionReport(
                venue=self.venue,
                symbol=self.unified(r.symbol),
                quantity=_f(r.positionAmt),
                entry_price=_f(r.entryPrice),
                ts_event=r.updateTime * _MS or now,
            )
            for r in rows
        )

    def account_update(
        self, u: wire.AccountUpdate
    ) -> tuple[tuple[BalanceReport, ...], tuple[PositionReport, ...]]:
        """Return the balances and positions of a USD-M ``ACCOUNT_UPDATE``."""
        ts = u.E * _MS
        balances = tuple(
            BalanceReport(
                venue=self.venue, asset=b.a, free=_f(b.cw), locked=_f(b.wb) - _f(b.cw), ts_event=ts
            )
            for b in u.a.B
        )
        positions = tuple(
            PositionReport(
                venue=self.venue,
                symbol=self.unified(p.s),
                quantity=_f(p.pa),
                entry_price=_f(p.ep),
                ts_event=ts,
            )
            for p in u.a.P
        )
        return balances, positions


class _OrderFields(NamedTuple):
    """The fields every Binance order shape has, under one set of names."""

    client_id: str
    order_id: int
    side: str
    type: str
    tif: str
    status: str
    quantity: str
    price: str
    filled: str
    avg_price: float
    ts_ms: int
    reduce_only: bool


class _TradeFields(NamedTuple):
    """The fields every Binance trade shape has, in Binance's order."""

    symbol: str
    client_id: str
    order_id: int
    trade_id: int
    side: str
    price: str
    qty: str
    fee: str
    fee_asset: str
    maker: bool
    ts_ms: int
