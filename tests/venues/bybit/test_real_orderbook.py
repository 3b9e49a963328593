"""The real Bybit v5 ``orderbook.500.XRPUSDT`` archive through parser, OrderBooks, BybitBookRule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import report_figure
from tests.venues.bybit.conftest import Collected
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.order_book import OrderBook
from tradefabric.venues.bybit.markets import BYBIT_LINEAR, sequence_rules
from tradefabric.venues.bybit.parser import BybitStreamParser

VENUE = "bybit-linear"  # depth 500 is served on linear (spot: 1/50/200/1000)
SYMBOL = "XRP/USDT:USDT"
REAL_FILE = "real_orderbook_xrpusdt_2024-12-01.data"


class Pipeline:
    """Parser and books wired on one bus."""

    def __init__(self) -> None:
        self.bus = MessageBus()
        self.got = Collected(self.bus)
        self.books = OrderBooks(self.bus, SimClock(0), sequence_rules())
        self.parser = BybitStreamParser(self.bus, BYBIT_LINEAR)

    def feed(self, lines: list[bytes]) -> None:
        for n, line in enumerate(lines):
            self.parser.on_frame(line, n)

    def book(self) -> OrderBook:
        book = self.books.book(VENUE, SYMBOL)
        assert book is not None
        return book


@pytest.fixture
def lines(bybit_fixtures: Path) -> list[bytes]:
    return (bybit_fixtures / REAL_FILE).read_bytes().splitlines()


def _top(book: OrderBook) -> tuple[float, float, float, float]:
    return book.best_bid(), book.best_bid_size(), book.best_ask(), book.best_ask_size()


def test_real_archive_stays_valid_without_gaps(lines: list[bytes]) -> None:
    run = Pipeline()
    run.feed(lines)
    synced = run.books.synced(VENUE, SYMBOL)
    assert synced is not None
    stats = synced.stats()
    assert (len(lines), len(run.got.snapshots), len(run.got.deltas)) == (50, 1, 49)
    assert (stats.deltas_applied, stats.gaps, stats.stale_dropped, stats.resyncs) == (49, 0, 0, 0)
    book = run.book()
    assert book.valid and not book.is_crossed()
    assert book.sequence == 20254918
    assert [s.valid for s in run.got.status] == [True]
    # Independent rebuild with plain dicts from the raw JSON: same final book, level by level.
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for line in lines:
        data = json.loads(line)["data"]
        for side, levels in ((bids, data["b"]), (asks, data["a"])):
            for price, size in levels:
                if float(size) == 0:
                    del side[float(price)]
                else:
                    side[float(price)] = float(size)
    depth = book.depth(10_000)
    assert dict(depth.bids) == bids and dict(depth.asks) == asks
    top = _top(book)
    assert top == (max(bids), bids[max(bids)], min(asks), asks[min(asks)])
    report_figure(
        f"bybit orderbook.500 XRPUSDT real archive: {len(lines)} messages (1 snapshot + "
        f"{stats.deltas_applied} deltas), 0 gaps, u 20254869..{book.sequence}, "
        f"final best bid {top[0]} x {top[1]}, best ask {top[2]} x {top[3]}, "
        f"levels {book.level_count()}"
    )


def test_a_removed_delta_is_a_gap_and_a_snapshot_revalidates(lines: list[bytes]) -> None:
    reference = Pipeline()
    reference.feed(lines)
    run = Pipeline()
    run.feed(lines[:20] + lines[21:])  # drop the delta u=20254889
    synced = run.books.synced(VENUE, SYMBOL)
    assert synced is not None
    assert synced.stats().gaps == 1
    assert not run.book().valid
    invalid = run.got.status[-1]
    assert (invalid.valid, invalid.venue, invalid.symbol) == (False, VENUE, SYMBOL)
    assert "sequence gap: book at 20254888, next batch 20254890..20254890" in invalid.reason
    assert len(synced.buffer) == 29  # the deltas after the gap wait for a snapshot
    # Bybit re-sends a snapshot (here the correct book at the last u): valid again, buffer dropped.
    resent = _snapshot_line(reference.book(), 20254918, 1733011205490)
    run.parser.on_frame(resent, 99)
    assert run.book().valid and run.got.status[-1].valid
    assert _top(run.book()) == _top(reference.book())
    assert run.book().depth(10_000) == reference.book().depth(10_000)


def test_restart_snapshot_u_1_resets_the_sequence(lines: list[bytes]) -> None:
    reference = Pipeline()
    reference.feed(lines)
    run = Pipeline()
    run.feed(lines)
    restart = _snapshot_line(reference.book(), 1, 1733011205590)
    delta_u2 = _delta_line(2, [["1.9000", "5"]], 1733011205690)
    run.feed([restart, delta_u2])
    assert run.book().valid and run.book().sequence == 2
    assert (1.9, 5.0) in run.book().depth(10_000).bids
    run.feed([_delta_line(4, [], 1733011205790)])  # u=3 lost
    assert not run.book().valid
    run.feed([_snapshot_line(reference.book(), 1, 1733011205890)])  # another restart
    # The in-stream snapshot supersedes the buffered delta u=4 of the old sequence.
    assert run.book().valid and run.book().sequence == 1
    run.feed([_snapshot_line(reference.book(), 5, 1733011205990)])
    assert run.book().valid and run.book().sequence == 5


def _snapshot_line(book: OrderBook, update_id: int, ts_ms: int) -> bytes:
    depth = book.depth(10_000)
    frame = {
        "topic": "orderbook.500.XRPUSDT",
        "type": "snapshot",
        "ts": ts_ms,
        "data": {
            "s": "XRPUSDT",
            "b": [[repr(p), repr(s)] for p, s in depth.bids],
            "a": [[repr(p), repr(s)] for p, s in depth.asks],
            "u": update_id,
            "seq": 130020252700,
        },
    }
    return json.dumps(frame).encode()


def _delta_line(update_id: int, bids: list[list[str]], ts_ms: int) -> bytes:
    frame = {
        "topic": "orderbook.500.XRPUSDT",
        "type": "delta",
        "ts": ts_ms,
        "data": {"s": "XRPUSDT", "b": bids, "a": [], "u": update_id, "seq": 130020252800},
    }
    return json.dumps(frame).encode()
