"""OrderBooks: Binance's snapshot + diff procedure for spot (U/u) and USD-M (U/u/pu)."""

from __future__ import annotations

import contextlib

import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError, MalformedMessageError
from tradefabric.data import topics
from tradefabric.data.book_sync import ContiguousIds, OrderBooks, PreviousIdLink
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import (
    OrderBookDeltas,
    OrderBookSnapshot,
    OrderBookStatus,
    PriceLevel,
)
from tradefabric.venues.binance.markets import sequence_rules

SPOT = "binance"
USDM = "binance-usdm"
SYMBOL = "BTC/USDT"
T0 = 1_723_161_600_000_000_000
Levels = tuple[PriceLevel, ...]


class FakeVenue:
    """The venue's true book and the id chain it publishes.

    Spot batches cover ``last + 1 .. last + n`` with no ``pu``; USD-M batches may
    skip ids (``gap_ids``) and name the previous batch's last id in ``prev_id``.
    """

    def __init__(self, venue: str, symbol: str = SYMBOL, last_id: int = 1_000) -> None:
        self.venue = venue
        self.symbol = symbol
        self.last_id = last_id
        self.bids: dict[float, float] = {100.0 - i: 1.0 + i for i in range(5)}
        self.asks: dict[float, float] = {101.0 + i: 2.0 + i for i in range(5)}
        self.ts = T0

    def snapshot(self) -> OrderBookSnapshot:
        bids, asks = tuple(self.bids.items()), tuple(self.asks.items())
        return OrderBookSnapshot(
            self.venue, self.symbol, bids, asks, self.last_id, self.ts, self.ts
        )

    def deltas(
        self, bids: Levels = (), asks: Levels = (), n_ids: int = 1, gap_ids: int = 0
    ) -> OrderBookDeltas:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, size in levels:
                if size > 0:
                    side[price] = size
                else:
                    side.pop(price, None)
        first = self.last_id + 1 + gap_ids
        prev = self.last_id if self.venue == USDM else -1
        self.last_id = first + n_ids - 1
        self.ts += 1_000_000
        return OrderBookDeltas(
            self.venue, self.symbol, bids, asks, first, self.last_id, prev, self.ts, self.ts
        )

    def step(self, k: int) -> OrderBookDeltas:
        """A deterministic batch touching both sides (adds, updates and removals)."""
        return self.deltas(
            bids=((100.0 - k % 7, 1.0 + k), (90.0 - k % 3, 0.0 if k % 2 else 0.5)),
            asks=((101.0 + k % 5, 2.0 + k), (110.0 + k % 4, 0.0 if k % 3 else 0.25)),
            n_ids=1 + k % 3,
        )


class Rig:
    """A real bus, a SimClock and OrderBooks with Binance's rules; records statuses."""

    def __init__(self, buffer_limit: int = 10_000) -> None:
        self.bus = MessageBus()
        self.clock = SimClock(start_ns=T0)
        self.books = OrderBooks(self.bus, self.clock, sequence_rules(), buffer_limit)
        self.statuses: list[OrderBookStatus] = []
        self.bus.subscribe(topics.BOOK_STATUS, self.statuses.append)

    def send(self, *messages: OrderBookDeltas | OrderBookSnapshot) -> None:
        for message in messages:
            if isinstance(message, OrderBookSnapshot):
                self.bus.publish(topics.BOOK_SNAPSHOTS, message)
            else:
                self.bus.publish(topics.BOOK_DELTAS, message)

    def book(self, venue: str = SPOT, symbol: str = SYMBOL) -> OrderBook:
        book = self.books.book(venue, symbol)
        assert book is not None
        return book

    def stats(self, venue: str = SPOT) -> tuple[int, int, int, int, int]:
        synced = self.books.synced(venue, SYMBOL)
        assert synced is not None
        s = synced.stats()
        return (s.deltas_applied, s.stale_dropped, s.gaps, s.resyncs, s.buffer_overflows)

    def buffered(self, venue: str = SPOT) -> list[tuple[int, int]]:
        synced = self.books.synced(venue, SYMBOL)
        assert synced is not None
        return [(d.first_id, d.last_id) for d in synced.buffer]

    def validity(self) -> list[bool]:
        return [status.valid for status in self.statuses]


def assert_matches(book: OrderBook, venue: FakeVenue) -> None:
    depth = book.depth(1_000)
    assert depth.bids == sorted(venue.bids.items(), reverse=True)
    assert depth.asks == sorted(venue.asks.items())
    assert book.level_count() == (len(venue.bids), len(venue.asks))
    assert book.sequence == venue.last_id


# --- rules (the id arithmetic of Binance's documents) -------------------------


def _d(first: int, last: int, prev: int = -1) -> OrderBookDeltas:
    return OrderBookDeltas(SPOT, SYMBOL, (), (), first, last, prev, T0, T0)


def test_binance_venues_map_to_their_rules() -> None:
    rules = sequence_rules()
    assert isinstance(rules[SPOT], ContiguousIds)
    assert isinstance(rules[USDM], PreviousIdLink)


@pytest.mark.parametrize(
    ("first", "last", "stale", "bridges"),
    [
        (90, 99, True, False),
        (95, 100, True, False),  # u == lastUpdateId: already in the snapshot
        (95, 101, False, True),  # U <= L+1 <= u
        (101, 101, False, True),
        (101, 105, False, True),
        (102, 105, False, False),  # id 101 missing
    ],
)
def test_spot_rule_around_snapshot_100(first: int, last: int, stale: bool, bridges: bool) -> None:
    rule = ContiguousIds()
    assert rule.is_stale(_d(first, last), 100) is stale
    assert rule.bridges(_d(first, last), 100) is bridges


def test_spot_rule_follows_only_the_next_id() -> None:
    rule = ContiguousIds()
    assert rule.follows(_d(106, 110), 105)
    assert not rule.follows(_d(107, 110), 105)
    assert not rule.follows(_d(105, 110), 105)


@pytest.mark.parametrize(
    ("first", "last", "stale", "bridges"),
    [
        (90, 99, True, False),  # u < lastUpdateId
        (95, 100, False, True),  # u == lastUpdateId: not stale, bridges (U <= L <= u)
        (100, 104, False, True),
        (101, 104, False, False),  # U > L
    ],
)
def test_usdm_rule_around_snapshot_100(first: int, last: int, stale: bool, bridges: bool) -> None:
    rule = PreviousIdLink()
    assert rule.is_stale(_d(first, last), 100) is stale
    assert rule.bridges(_d(first, last), 100) is bridges


def test_usdm_rule_follows_by_previous_id_not_by_contiguity() -> None:
    rule = PreviousIdLink()
    assert rule.follows(_d(130, 140, prev=105), 105)  # ids may jump; pu links
    assert not rule.follows(_d(106, 110, prev=104), 105)


# --- spot: the full procedure through the bus ---------------------------------


def test_deltas_before_the_snapshot_are_buffered_not_applied() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.step(1), venue.step(2))
    book = rig.book()
    assert book.valid is False
    assert book.level_count() == (0, 0)
    assert len(rig.buffered()) == 2
    # A new book announces once that it needs a snapshot (live feeds fetch one).
    assert [(s.valid, s.reason) for s in rig.statuses] == [(False, "new book: awaiting a snapshot")]
    assert rig.stats() == (0, 0, 0, 0, 0)


def test_spot_snapshot_drops_stale_bridges_and_replays_buffer() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    early = [venue.step(k) for k in range(3)]
    snap = venue.snapshot()
    later = [venue.step(k) for k in range(3, 6)]
    rig.send(*early, *later, snap)
    assert rig.book().valid is True
    assert rig.stats() == (3, 3, 0, 0, 0)
    assert rig.buffered() == []
    assert_matches(rig.book(), venue)
    assert rig.validity() == [False, True]
    rig.send(venue.step(6), venue.step(7))  # live deltas continue the book
    assert_matches(rig.book(), venue)
    assert rig.stats() == (5, 3, 0, 0, 0)


def test_spot_first_delta_may_straddle_the_snapshot_id() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.snapshot())  # lastUpdateId 1000
    straddling = OrderBookDeltas(SPOT, SYMBOL, ((100.0, 9.0),), (), 998, 1_003, -1, T0, T0)
    rig.send(straddling)
    assert rig.book().valid is True
    assert rig.book().best_bid_size() == 9.0
    assert rig.book().sequence == 1_003


def test_spot_delta_ending_at_the_snapshot_id_is_stale() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.snapshot())
    stale = OrderBookDeltas(SPOT, SYMBOL, ((100.0, 9.0),), (), 995, 1_000, -1, T0, T0)
    rig.send(stale)
    assert rig.stats() == (0, 1, 0, 0, 0)
    assert_matches(rig.book(), venue)


def test_spot_first_delta_that_does_not_bridge_is_a_gap() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.snapshot())
    venue.step(0)  # lost in transit: ids 1001.. never arrive
    after = venue.step(1)
    rig.send(after)
    book = rig.book()
    assert book.valid is False
    assert rig.stats() == (0, 0, 1, 1, 0)
    assert rig.buffered() == [(after.first_id, after.last_id)]
    assert rig.validity() == [True, False]
    assert rig.statuses[-1].reason.startswith("sequence gap: book at 1000")


def test_spot_continuity_gap_invalidates_publishes_and_buffers_later_deltas() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.clock.advance_to(T0 + 5)
    rig.send(venue.snapshot(), venue.step(1), venue.step(2))
    levels_before = rig.book().depth(100)
    venue.step(3)  # lost
    rest = [venue.step(k) for k in (4, 5, 6)]
    rig.send(*rest)
    book = rig.book()
    assert book.valid is False
    assert book.depth(100) == levels_before  # nothing applied past the gap
    assert rig.stats() == (2, 0, 1, 1, 0)
    assert rig.buffered() == [(d.first_id, d.last_id) for d in rest]
    status = rig.statuses[-1]
    assert (status.venue, status.symbol, status.valid) == (SPOT, SYMBOL, False)
    assert status.ts_recv == T0 + 5
    assert status.ts_event == book.ts_event
    assert f"next batch {rest[0].first_id}..{rest[0].last_id}" in status.reason


def test_new_snapshot_resyncs_and_replays_buffer_to_the_venue_state() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.snapshot(), venue.step(1), venue.step(2))
    venue.step(3)  # lost
    rig.send(*(venue.step(k) for k in (4, 5, 6)))
    resnap = venue.snapshot()  # the REST answer, taken while more deltas stream in
    rig.send(*(venue.step(k) for k in (7, 8)))
    rig.send(resnap)
    book = rig.book()
    assert book.valid is True
    assert_matches(book, venue)
    assert rig.buffered() == []
    # applied: 1, 2, then 7, 8 after the resync; stale: 4, 5, 6 (inside the new snapshot)
    assert rig.stats() == (4, 3, 1, 1, 0)
    assert rig.validity() == [True, False, True]
    rig.send(venue.step(9))
    assert_matches(rig.book(), venue)


def test_resync_snapshot_that_is_too_old_gaps_again() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    old = venue.snapshot()
    venue.step(1)  # lost
    rig.send(venue.step(2))
    rig.send(old)
    assert rig.book().valid is False
    assert rig.stats() == (0, 0, 1, 1, 0)
    rig.send(venue.snapshot())
    assert rig.book().valid is True
    assert_matches(rig.book(), venue)
    assert rig.validity() == [False, True, False, True]


def test_duplicate_delta_after_bridging_is_dropped_as_stale() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    snap = venue.snapshot()
    first = venue.step(1)
    rig.send(snap, first, first)
    assert rig.book().valid is True
    assert rig.stats() == (1, 1, 0, 0, 0)
    assert_matches(rig.book(), venue)


def test_buffer_overflow_drops_oldest_and_is_counted() -> None:
    rig, venue = Rig(buffer_limit=3), FakeVenue(SPOT)
    sent = [venue.step(k) for k in range(5)]
    rig.send(*sent)
    assert rig.stats() == (0, 0, 0, 0, 2)
    assert rig.buffered() == [(d.first_id, d.last_id) for d in sent[2:]]
    rig.send(venue.snapshot())
    assert rig.book().valid is True
    assert_matches(rig.book(), venue)


def test_buffer_overflow_after_a_gap_is_counted() -> None:
    rig, venue = Rig(buffer_limit=2), FakeVenue(SPOT)
    rig.send(venue.snapshot())
    venue.step(0)  # lost
    rig.send(*(venue.step(k) for k in range(1, 5)))
    assert rig.stats() == (0, 0, 1, 1, 2)
    assert len(rig.buffered()) == 2


def test_negative_size_in_a_delta_invalidates_and_a_snapshot_recovers() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.snapshot(), venue.step(1))
    bad = OrderBookDeltas(
        SPOT, SYMBOL, (), ((105.0, -3.0),), venue.last_id + 1, venue.last_id + 1, -1, T0, T0
    )
    rig.send(bad)
    assert rig.book().valid is False
    assert rig.stats() == (1, 0, 0, 1, 0)
    assert rig.validity() == [True, False]
    assert rig.statuses[-1].reason.startswith("invalid level:")
    rig.send(venue.step(2))  # buffered while invalid
    assert len(rig.buffered()) == 1
    rig.send(venue.snapshot())
    assert rig.book().valid is True
    assert_matches(rig.book(), venue)
    assert rig.validity() == [True, False, True]


def test_negative_size_in_a_snapshot_leaves_the_book_invalid() -> None:
    rig, venue = Rig(), FakeVenue(SPOT)
    rig.send(venue.snapshot(), venue.step(1))
    bad = OrderBookSnapshot(SPOT, SYMBOL, ((99.0, 1.0),), ((101.0, -1.0),), 5_000, T0, T0)
    with contextlib.suppress(MalformedMessageError):
        rig.send(bad)
    assert rig.book().valid is False
    assert rig.validity()[-1] is False
    rig.send(venue.step(2))  # continues the old chain: must not land on a half-loaded book
    assert rig.book().valid is False
    assert rig.stats()[0] == 1


def test_books_are_independent_per_symbol() -> None:
    rig = Rig()
    btc, eth = FakeVenue(SPOT), FakeVenue(SPOT, symbol="ETH/USDT", last_id=50)
    rig.send(btc.snapshot(), eth.snapshot(), btc.step(1), eth.step(1))
    btc.step(2)  # lost on BTC only
    rig.send(btc.step(3), eth.step(3))
    assert rig.book(SPOT, SYMBOL).valid is False
    assert rig.book(SPOT, "ETH/USDT").valid is True
    assert_matches(rig.book(SPOT, "ETH/USDT"), eth)
    assert [(s.symbol, s.valid) for s in rig.statuses] == [
        (SYMBOL, True),
        ("ETH/USDT", True),
        (SYMBOL, False),
    ]
    assert {(b.book.symbol) for b in rig.books.all_books()} == {SYMBOL, "ETH/USDT"}


def test_unknown_venue_is_a_config_error() -> None:
    rig = Rig()
    stray = FakeVenue("kraken")
    with pytest.raises(ConfigError, match=r"'kraken'.*binance"):
        rig.send(stray.step(1))
    with pytest.raises(ConfigError, match="kraken"):
        rig.send(stray.snapshot())
    assert rig.books.book("kraken", SYMBOL) is None
    assert rig.books.synced("kraken", SYMBOL) is None


# --- USD-M: U <= L <= u to bridge, pu == previous u to continue ---------------


def test_usdm_drops_u_below_snapshot_and_bridges_on_u_equal_to_it() -> None:
    rig, venue = Rig(), FakeVenue(USDM)
    rig.send(venue.deltas(bids=((100.0, 7.0),), n_ids=3))  # ids 1001..1003
    before = venue.last_id
    bridging = venue.deltas(bids=((99.0, 8.0),), n_ids=2)  # 1004..1005
    snap_at_bridging_end = venue.snapshot()  # L = 1005 == u of the bridging batch
    rig.send(bridging)
    following = venue.deltas(asks=((101.0, 0.0),), gap_ids=7)  # ids jump, pu links
    rig.send(following, snap_at_bridging_end)
    assert before < snap_at_bridging_end.sequence
    book = rig.book(USDM)
    assert book.valid is True
    # 1001..1003 dropped (u < L); 1004..1005 applied (U <= L <= u); then the pu-linked batch
    assert rig.stats(USDM) == (2, 1, 0, 0, 0)
    assert_matches(book, venue)


def test_usdm_previous_id_mismatch_is_a_gap_and_resync_recovers() -> None:
    rig, venue = Rig(), FakeVenue(USDM)
    # The first batch starts at L itself (U <= L <= u): ids 1000..1001.
    rig.send(venue.snapshot(), venue.deltas(bids=((100.0, 3.0),), n_ids=2, gap_ids=-1))
    assert rig.book(USDM).valid is True
    venue.deltas(asks=((102.0, 0.5),))  # lost
    rig.send(venue.deltas(asks=((103.0, 0.0),), gap_ids=4))
    assert rig.book(USDM).valid is False
    assert rig.stats(USDM) == (1, 0, 1, 1, 0)
    assert rig.validity() == [True, False]
    rig.send(venue.snapshot())
    assert rig.book(USDM).valid is True
    assert_matches(rig.book(USDM), venue)
    # The buffered batch ends at the new snapshot's id: u == L bridges on USD-M and is applied.
    assert rig.stats(USDM) == (2, 0, 1, 1, 0)


def test_usdm_first_batch_starting_after_the_snapshot_is_a_gap() -> None:
    rig, venue = Rig(), FakeVenue(USDM)
    rig.send(venue.snapshot())  # L = 1000
    rig.send(venue.deltas(bids=((100.0, 3.0),)))  # U = 1001 > L: does not contain L
    assert rig.book(USDM).valid is False
    assert rig.stats(USDM) == (0, 0, 1, 1, 0)
