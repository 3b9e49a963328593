"""OrderBook: snapshots, deltas, top of book, depth, and a property test against a dict model."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradefabric.core.errors import MalformedMessageError
from tradefabric.data.order_book import BookDepth, DepthNearMid, OrderBook
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, PriceLevel

VENUE = "binance"
SYMBOL = "BTC/USDT"
TS = 1_723_161_600_000_000_000

Levels = tuple[PriceLevel, ...]


def snapshot(bids: Levels, asks: Levels, sequence: int = 100, ts: int = TS) -> OrderBookSnapshot:
    return OrderBookSnapshot(VENUE, SYMBOL, bids, asks, sequence, ts, ts + 1)


def deltas(
    bids: Levels = (), asks: Levels = (), first: int = 101, last: int = 101, ts: int = TS
) -> OrderBookDeltas:
    return OrderBookDeltas(VENUE, SYMBOL, bids, asks, first, last, -1, ts, ts + 1)


def loaded_book() -> OrderBook:
    """Bids 99/98/96, asks 101/102/104: mid 100, spread 2."""
    book = OrderBook(VENUE, SYMBOL)
    book.apply_snapshot(
        snapshot(
            bids=((98.0, 2.0), (99.0, 1.0), (96.0, 4.0)),
            asks=((104.0, 40.0), (101.0, 10.0), (102.0, 20.0)),
        )
    )
    return book


def test_new_book_is_empty_and_invalid() -> None:
    book = OrderBook(VENUE, SYMBOL)
    assert (book.venue, book.symbol) == (VENUE, SYMBOL)
    assert book.valid is False
    assert book.sequence == -1
    assert book.level_count() == (0, 0)
    assert math.isnan(book.best_bid())
    assert math.isnan(book.best_ask())
    assert book.best_bid_size() == 0.0
    assert book.best_ask_size() == 0.0
    assert math.isnan(book.mid())
    assert math.isnan(book.spread())
    assert book.is_crossed() is False
    assert book.depth(5) == BookDepth(bids=[], asks=[])
    assert book.size_near_mid(10.0) == DepthNearMid(bps=10.0, bid_size=0.0, ask_size=0.0)


def test_snapshot_loads_both_sides_and_marks_valid() -> None:
    book = loaded_book()
    assert book.valid is True
    assert book.sequence == 100
    assert book.ts_event == TS
    assert book.level_count() == (3, 3)
    assert book.level_changes == 6
    assert (book.best_bid(), book.best_bid_size()) == (99.0, 1.0)
    assert (book.best_ask(), book.best_ask_size()) == (101.0, 10.0)
    assert book.mid() == 100.0
    assert book.spread() == 2.0
    assert book.is_crossed() is False


def test_snapshot_replaces_the_whole_book() -> None:
    book = loaded_book()
    book.apply_snapshot(snapshot(bids=((50.0, 5.0),), asks=((60.0, 6.0),), sequence=200))
    assert book.level_count() == (1, 1)
    assert book.depth(10) == BookDepth(bids=[(50.0, 5.0)], asks=[(60.0, 6.0)])
    assert book.sequence == 200


def test_snapshot_zero_size_levels_are_not_loaded() -> None:
    book = OrderBook(VENUE, SYMBOL)
    book.apply_snapshot(snapshot(bids=((99.0, 0.0), (98.0, 1.0)), asks=((101.0, 0.0),)))
    assert book.level_count() == (1, 0)
    assert book.best_bid() == 98.0
    assert math.isnan(book.best_ask())


def test_deltas_add_update_and_remove_levels() -> None:
    book = loaded_book()
    book.apply_deltas(
        deltas(
            bids=((99.5, 3.0), (98.0, 7.0), (96.0, 0.0)),
            asks=((101.0, 0.0), (103.0, 30.0)),
            first=101,
            last=105,
            ts=TS + 9,
        )
    )
    assert book.depth(10) == BookDepth(
        bids=[(99.5, 3.0), (99.0, 1.0), (98.0, 7.0)],
        asks=[(102.0, 20.0), (103.0, 30.0), (104.0, 40.0)],
    )
    assert (book.best_bid(), book.best_bid_size()) == (99.5, 3.0)
    assert (book.best_ask(), book.best_ask_size()) == (102.0, 20.0)
    assert book.sequence == 105
    assert book.ts_event == TS + 9
    assert book.level_changes == 6 + 5
    assert book.valid is True


def test_removing_an_absent_level_is_harmless() -> None:
    book = loaded_book()
    book.apply_deltas(deltas(bids=((90.0, 0.0),), asks=((110.0, 0.0),)))
    assert book.level_count() == (3, 3)
    assert book.best_bid() == 99.0


def test_removing_a_level_and_adding_it_back() -> None:
    book = loaded_book()
    book.apply_deltas(deltas(bids=((99.0, 0.0),)))
    assert book.best_bid() == 98.0
    book.apply_deltas(deltas(bids=((99.0, 5.0),)))
    assert (book.best_bid(), book.best_bid_size()) == (99.0, 5.0)
    book.apply_deltas(deltas(bids=((99.0, 0.0),)))
    assert (book.best_bid(), book.best_bid_size()) == (98.0, 2.0)


def test_emptying_a_side_gives_nan_prices_and_zero_sizes() -> None:
    book = loaded_book()
    book.apply_deltas(deltas(asks=((101.0, 0.0), (102.0, 0.0), (104.0, 0.0))))
    assert book.level_count() == (3, 0)
    assert math.isnan(book.best_ask())
    assert book.best_ask_size() == 0.0
    assert math.isnan(book.mid())
    assert math.isnan(book.spread())
    assert book.is_crossed() is False
    assert book.size_near_mid(10_000.0) == DepthNearMid(10_000.0, 0.0, 0.0)


@pytest.mark.parametrize(
    ("bid", "ask", "crossed"),
    [(100.0, 101.0, False), (101.0, 101.0, True), (101.5, 101.0, True)],
)
def test_is_crossed_when_bid_at_or_above_ask(bid: float, ask: float, crossed: bool) -> None:
    book = OrderBook(VENUE, SYMBOL)
    book.apply_snapshot(snapshot(bids=((bid, 1.0),), asks=((ask, 1.0),)))
    assert book.is_crossed() is crossed
    assert book.spread() == ask - bid


def test_depth_orders_best_first_and_truncates() -> None:
    book = loaded_book()
    assert book.depth(2) == BookDepth(
        bids=[(99.0, 1.0), (98.0, 2.0)], asks=[(101.0, 10.0), (102.0, 20.0)]
    )
    assert book.depth(1) == BookDepth(bids=[(99.0, 1.0)], asks=[(101.0, 10.0)])
    assert book.depth(0) == BookDepth(bids=[], asks=[])
    full = book.depth(50)
    assert full.bids == [(99.0, 1.0), (98.0, 2.0), (96.0, 4.0)]
    assert full.asks == [(101.0, 10.0), (102.0, 20.0), (104.0, 40.0)]


@pytest.mark.parametrize(
    ("bps", "bid_size", "ask_size"),
    [
        (0.0, 0.0, 0.0),  # mid 100 sits between the levels
        (100.0, 1.0, 10.0),  # band 1.0: 99 and 101, edges inclusive
        (150.0, 1.0, 10.0),  # band 1.5: still only the first level
        (200.0, 3.0, 30.0),  # band 2.0: 99+98 and 101+102
        (400.0, 7.0, 70.0),  # band 4.0: everything
        (10_000.0, 7.0, 70.0),
    ],
)
def test_size_near_mid_exact_values(bps: float, bid_size: float, ask_size: float) -> None:
    assert loaded_book().size_near_mid(bps) == DepthNearMid(bps, bid_size, ask_size)


@pytest.mark.parametrize("bad", [-1.0, -0.0001, math.nan])
@pytest.mark.parametrize("side", ["bids", "asks"])
def test_negative_or_nan_size_in_deltas_raises_and_invalidates(bad: float, side: str) -> None:
    book = loaded_book()
    level = ((100.0, bad),)
    batch = deltas(bids=level) if side == "bids" else deltas(asks=level)
    with pytest.raises(MalformedMessageError, match="negative or NaN size"):
        book.apply_deltas(batch)
    assert book.valid is False
    assert book.sequence == 100  # the bad batch is not recorded as applied


def test_invalid_book_becomes_valid_again_with_a_snapshot() -> None:
    book = loaded_book()
    with pytest.raises(MalformedMessageError):
        book.apply_deltas(deltas(bids=((99.0, -1.0),)))
    book.invalidate()
    assert book.valid is False
    book.apply_snapshot(snapshot(bids=((10.0, 1.0),), asks=((11.0, 1.0),), sequence=300))
    assert book.valid is True
    assert book.depth(5) == BookDepth(bids=[(10.0, 1.0)], asks=[(11.0, 1.0)])


@pytest.mark.parametrize("bad", [-1.0, math.nan])
def test_snapshot_with_negative_or_nan_size_raises_and_invalidates(bad: float) -> None:
    book = loaded_book()  # valid before the bad snapshot
    with pytest.raises(MalformedMessageError):
        book.apply_snapshot(snapshot(bids=((99.0, 1.0),), asks=((101.0, bad),), sequence=200))
    assert book.valid is False


def test_invalidate_keeps_levels_but_marks_unusable() -> None:
    book = loaded_book()
    book.invalidate()
    assert book.valid is False
    assert book.level_count() == (3, 3)


def test_many_add_remove_cycles_far_from_top_keep_best_and_bound_the_heap() -> None:
    book = loaded_book()
    for i in range(20_000):
        far_bid = 50.0 - (i % 997) * 0.01
        far_ask = 150.0 + (i % 991) * 0.01
        book.apply_deltas(deltas(bids=((far_bid, 1.0),), asks=((far_ask, 1.0),)))
        book.apply_deltas(deltas(bids=((far_bid, 0.0),), asks=((far_ask, 0.0),)))
        if i % 5_000 == 0:
            assert (book.best_bid(), book.best_ask()) == (99.0, 101.0)
    assert book.level_count() == (3, 3)
    assert (book.best_bid(), book.best_ask()) == (99.0, 101.0)
    assert book.depth(5) == loaded_book().depth(5)
    for side in (book._bids, book._asks):
        assert len(side.heap) <= 2 * len(side.levels) + 256 + 1
    # After the top levels go, the next ones are found through the compacted heap.
    book.apply_deltas(deltas(bids=((99.0, 0.0), (98.0, 0.0)), asks=((101.0, 0.0),)))
    assert (book.best_bid(), book.best_ask()) == (96.0, 102.0)


def test_heap_compaction_with_many_live_levels_keeps_order() -> None:
    book = OrderBook(VENUE, SYMBOL)
    book.apply_snapshot(snapshot(bids=(), asks=()))
    bids = tuple((1_000.0 - i, 1.0 + i) for i in range(600))
    book.apply_deltas(deltas(bids=bids))
    assert len(book._bids.heap) == 600
    book.apply_deltas(deltas(bids=tuple((p, 0.0) for p, _ in bids[:500])))
    assert len(book._bids.heap) == 100  # compacted: 600 entries > 2 * 100 live + 256
    book.apply_deltas(deltas(bids=((2_000.0, 9.0),)))
    assert len(book._bids.heap) == 101
    assert book.level_count() == (101, 0)
    assert book.depth(3).bids == [(2_000.0, 9.0), (500.0, 501.0), (499.0, 502.0)]
    book.apply_deltas(deltas(bids=((2_000.0, 0.0),)))
    assert (book.best_bid(), book.best_bid_size()) == (500.0, 501.0)


# --- property test against a naive reference model ---------------------------

PRICE_GRID = [float(p) for p in range(90, 111)]
Side = str
Update = tuple[Side, float, float]

updates = st.tuples(
    st.sampled_from(["bid", "ask"]),
    st.sampled_from(PRICE_GRID),
    st.one_of(st.just(0.0), st.floats(min_value=0.001, max_value=1_000.0)),
)
batches = st.lists(st.lists(updates, max_size=12), max_size=40)


def _reference_top(levels: dict[float, float], n: int, reverse: bool) -> list[PriceLevel]:
    return sorted(levels.items(), reverse=reverse)[:n]


def _check(book: OrderBook, ref_bids: dict[float, float], ref_asks: dict[float, float]) -> None:
    best_bid = max(ref_bids, default=math.nan)
    best_ask = min(ref_asks, default=math.nan)
    assert book.best_bid() == best_bid or (math.isnan(best_bid) and math.isnan(book.best_bid()))
    assert book.best_ask() == best_ask or (math.isnan(best_ask) and math.isnan(book.best_ask()))
    assert book.best_bid_size() == ref_bids.get(best_bid, 0.0)
    assert book.best_ask_size() == ref_asks.get(best_ask, 0.0)
    assert book.depth(5) == BookDepth(
        bids=_reference_top(ref_bids, 5, reverse=True),
        asks=_reference_top(ref_asks, 5, reverse=False),
    )
    assert book.level_count() == (len(ref_bids), len(ref_asks))


positive_sizes = st.floats(min_value=0.001, max_value=1_000.0)
snapshot_side = st.dictionaries(st.sampled_from(PRICE_GRID), positive_sizes, max_size=10)


@settings(max_examples=200, deadline=None)
@given(initial_bids=snapshot_side, initial_asks=snapshot_side, steps=batches)
def test_book_matches_a_dict_reference_model(
    initial_bids: dict[float, float],
    initial_asks: dict[float, float],
    steps: list[list[Update]],
) -> None:
    ref = {"bid": dict(initial_bids), "ask": dict(initial_asks)}
    book = OrderBook(VENUE, SYMBOL)
    book.apply_snapshot(snapshot(tuple(initial_bids.items()), tuple(initial_asks.items())))
    _check(book, ref["bid"], ref["ask"])
    for batch in steps:
        for side, price, size in batch:
            if size > 0:
                ref[side][price] = size
            else:
                ref[side].pop(price, None)
        book.apply_deltas(
            deltas(
                bids=tuple((p, s) for side, p, s in batch if side == "bid"),
                asks=tuple((p, s) for side, p, s in batch if side == "ask"),
            )
        )
        _check(book, ref["bid"], ref["ask"])
