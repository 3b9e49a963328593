"""Book matching of stop-limit, stop-market gaps, take-profit, trailing stop and OCO, on a
hand-built L2 book and hand-written trades (every fill can be checked by hand)."""

from __future__ import annotations

from pathlib import Path

from tests.execution.helpers import T0, Harness
from tradefabric.data import topics
from tradefabric.data.order_book import OrderBook
from tradefabric.execution import topics as exec_topics
from tradefabric.execution.sim.fees import FeeConfig
from tradefabric.execution.sim.venue import Matching, SimVenueConfig
from tradefabric.model.data import OrderBookSnapshot, PriceLevel, Trade
from tradefabric.model.enums import AggressorSide
from tradefabric.model.orders import Fill, OrderRequest, OrderSide, OrderStatus, OrderType

BUY, SELL = OrderSide.BUY, OrderSide.SELL
SYMBOL = "BTC/USDT"


class Books:
    """One hand-built book the venue reads."""

    def __init__(self) -> None:
        self.current = OrderBook("binance", SYMBOL)

    def book(self, venue: str, symbol: str) -> OrderBook | None:
        return self.current if (venue, symbol) == ("binance", SYMBOL) else None


class BookHarness:
    """Kernel + book-matching venue; ``levels`` resets the book, ``trade`` prints a trade."""

    def __init__(self, tmp: Path) -> None:
        self.books = Books()
        cfg = SimVenueConfig(matching=Matching.BOOK, fees=FeeConfig(maker_bps=0.0, taker_bps=0.0))
        self.h = Harness(tmp, venue=cfg, books=self.books)
        self.fills: list[Fill] = []
        self.h.bus.subscribe(exec_topics.FILLS, self.fills.append)
        self.ts = T0
        self.seq = 0

    def levels(self, bids: tuple[PriceLevel, ...], asks: tuple[PriceLevel, ...]) -> None:
        """Replace the whole book."""
        self.seq += 1
        self.books.current.apply_snapshot(
            OrderBookSnapshot("binance", SYMBOL, bids, asks, self.seq, self.ts, self.ts)
        )

    def trade(self, price: float, size: float, side: AggressorSide) -> None:
        """Print one trade one millisecond after the last event."""
        self.ts += 1_000_000
        self.h.clock.advance_to(self.ts)
        self.seq += 1
        trade = Trade("binance", SYMBOL, price, size, side, str(self.seq), self.ts, self.ts)
        self.h.bus.publish(topics.TRADES, trade)

    def send(self, side: OrderSide, qty: float, **kw: object) -> str:
        """Send an order (latency 0: it arrives at once against the current book)."""
        request = OrderRequest(strategy_id="t", venue="binance", symbol=SYMBOL, side=side,
                               quantity=qty, **kw)  # type: ignore[arg-type]  # fmt: skip
        self.h.clock.advance_to(self.ts)
        return self.h.execution.submit(request).client_order_id

    def status(self, oid: str) -> OrderStatus:
        """Return an order's status."""
        order = self.h.execution.order(oid)
        assert order is not None
        return order.status


B, S = AggressorSide.BUY, AggressorSide.SELL
BASE_BIDS: tuple[PriceLevel, ...] = ((98.0, 2.0), (97.0, 3.0), (96.0, 5.0))
BASE_ASKS: tuple[PriceLevel, ...] = ((99.0, 5.0), (100.0, 5.0))


def _fills(b: BookHarness) -> list[tuple[float, float, str]]:
    return [(round(f.price, 6), f.quantity, f.liquidity) for f in b.fills]


def test_stop_limit_walks_to_its_limit_then_rests_as_a_maker(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    oid = b.send(SELL, 10.0, order_type=OrderType.STOP_LIMIT, trigger_price=98.5, price=97.0)
    b.trade(99.0, 1.0, B)  # above the trigger: waits
    assert b.fills == []
    b.trade(98.0, 1.0, S)  # at/through 98.5: walks 98 x2 and 97 x3, not 96
    assert _fills(b) == [(round((2 * 98.0 + 3 * 97.0) / 5, 6), 5.0, "taker")]
    assert b.status(oid) is OrderStatus.PARTIALLY_FILLED
    # The rest (5) now rests among the asks at 97, where nobody else is: a buyer's 4 are ours.
    b.trade(96.5, 9.0, S)  # sellers never fill a resting sell
    b.trade(97.0, 4.0, B)
    assert _fills(b)[1:] == [(97.0, 4.0, "maker")]
    assert b.status(oid) is OrderStatus.PARTIALLY_FILLED


def test_stop_market_gap_fills_at_the_gapped_book(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    b.send(SELL, 1.0, order_type=OrderType.STOP_MARKET, trigger_price=97.5)
    b.levels(((94.0, 5.0),), ((95.0, 5.0),))  # the market gaps down through the stop
    b.trade(94.0, 1.0, S)
    assert _fills(b) == [(94.0, 1.0, "taker")]


def test_take_profit_triggers_on_the_favourable_side(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    b.send(SELL, 1.0, order_type=OrderType.TAKE_PROFIT, trigger_price=101.0)
    b.trade(97.0, 1.0, S)  # a fall never triggers a sell take-profit
    b.trade(100.5, 1.0, B)
    assert b.fills == []
    b.levels(((100.9, 5.0),), ((101.1, 5.0),))
    b.trade(101.1, 1.0, B)
    assert _fills(b) == [(100.9, 1.0, "taker")]


def test_trailing_sell_follows_trades_up_and_never_back(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    b.send(SELL, 1.0, order_type=OrderType.TRAILING_STOP, trailing_offset=1.0)
    # Anchored at the best bid 98: trigger 97.
    b.trade(99.0, 1.0, B)  # trigger 98
    b.trade(100.5, 1.0, B)  # trigger 99.5
    b.trade(99.8, 1.0, S)  # above 99.5: no trigger, and the trigger stays at 99.5
    assert b.fills == []
    b.levels(((99.3, 5.0),), ((99.5, 5.0),))
    b.trade(99.4, 1.0, S)  # through 99.5
    assert _fills(b) == [(99.3, 1.0, "taker")]


def test_oco_maker_fill_cancels_the_stop(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    b.send(BUY, 1.0)  # walks the asks: 1 at 99
    stop = b.send(SELL, 1.0, order_type=OrderType.STOP_MARKET, trigger_price=96.5, oco_group="g")
    target = b.send(SELL, 1.0, order_type=OrderType.LIMIT, price=100.0, oco_group="g")
    b.trade(100.5, 10.0, B)  # through the target's price: fills it before worse prices
    assert _fills(b) == [(99.0, 1.0, "taker"), (100.0, 1.0, "maker")]
    assert b.status(target) is OrderStatus.FILLED and b.status(stop) is OrderStatus.EXPIRED
    b.trade(95.0, 5.0, S)  # the stop is gone
    assert len(b.fills) == 2


def test_oco_stop_fill_cancels_the_target(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    b.send(BUY, 1.0)
    stop = b.send(SELL, 1.0, order_type=OrderType.STOP_MARKET, trigger_price=97.5, oco_group="g")
    target = b.send(SELL, 1.0, order_type=OrderType.TAKE_PROFIT, trigger_price=101.0,
                    oco_group="g")  # fmt: skip
    b.trade(97.0, 1.0, S)
    assert _fills(b)[1:] == [(98.0, 1.0, "taker")]
    assert b.status(stop) is OrderStatus.FILLED and b.status(target) is OrderStatus.EXPIRED


def test_trades_of_another_venue_never_trigger_or_fill(tmp_path: Path) -> None:
    b = BookHarness(tmp_path)
    b.levels(BASE_BIDS, BASE_ASKS)
    b.send(SELL, 1.0, order_type=OrderType.STOP_MARKET, trigger_price=97.5)
    b.send(BUY, 1.0, order_type=OrderType.LIMIT, price=97.0)
    b.ts += 1_000_000
    b.h.clock.advance_to(b.ts)
    other = Trade("bybit", SYMBOL, 90.0, 50.0, S, "x", b.ts, b.ts)
    b.h.bus.publish(topics.TRADES, other)
    assert b.fills == []
    b.trade(96.9, 5.0, S)  # the venue's own trade: the stop walks the bids, the buy fills
    assert sorted(f.liquidity for f in b.fills) == ["maker", "taker"]
