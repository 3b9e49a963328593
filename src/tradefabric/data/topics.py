"""The market data topics every feed publishes on and every consumer subscribes to."""

from __future__ import annotations

from tradefabric.core.bus import Topic
from tradefabric.model.data import (
    Candle,
    GapReport,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookDeltas,
    OrderBookSnapshot,
    OrderBookStatus,
    Quote,
    Trade,
    TradeGap,
)

TRADES: Topic[Trade] = Topic("data.trades", Trade)
TRADE_GAPS: Topic[TradeGap] = Topic("data.trades.gaps", TradeGap)
TRADES_BACKFILLED: Topic[Trade] = Topic("data.trades.backfilled", Trade)
"""Trades recovered by REST after a gap; older than the live stream's latest trade."""
GAP_REPORTS: Topic[GapReport] = Topic("data.trades.gap_reports", GapReport)
QUOTES: Topic[Quote] = Topic("data.quotes", Quote)
BOOK_DELTAS: Topic[OrderBookDeltas] = Topic("data.book.deltas", OrderBookDeltas)
BOOK_SNAPSHOTS: Topic[OrderBookSnapshot] = Topic("data.book.snapshots", OrderBookSnapshot)
BOOK_STATUS: Topic[OrderBookStatus] = Topic("data.book.status", OrderBookStatus)
CANDLES: Topic[Candle] = Topic("data.candles", Candle)
MARK_PRICES: Topic[MarkPrice] = Topic("data.derivatives.mark_prices", MarkPrice)
LIQUIDATIONS: Topic[Liquidation] = Topic("data.derivatives.liquidations", Liquidation)
OPEN_INTEREST: Topic[OpenInterest] = Topic("data.derivatives.open_interest", OpenInterest)
