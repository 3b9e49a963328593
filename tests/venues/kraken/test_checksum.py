"""Kraken's book CRC32: reproduced on real checksums, and enforced by ``OrderBooks``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import report_figure
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas, OrderBookSnapshot, PriceLevel
from tradefabric.venues.kraken.book import (
    KrakenBookRule,
    KrakenPairs,
    checksum_string,
    levels_checksum,
    truncate_book,
)
from tradefabric.venues.kraken.markets import PairPrecision

from .conftest import Pipeline

T0 = 1_700_000_000_000_000_000


def _levels(rows: list[list[str]]) -> tuple[PriceLevel, ...]:
    return tuple((float(row[0]), float(row[1])) for row in rows)


def _decimals(row: list[str]) -> PairPrecision:
    return PairPrecision(len(row[0].partition(".")[2]), len(row[1].partition(".")[2]))


class _V1Replay:
    """Rebuild Kraken v1 ``book-1000`` books of a capture and check every update's checksum.

    v1 prints levels as strings at a fixed number of decimals per pair; the checksum
    is Kraken's same algorithm over those strings, so the pair's "precision" here is
    the decimals of its v1 strings (learned from its snapshot).
    """

    def __init__(self) -> None:
        self.pairs = KrakenPairs({}, default_depth=1000)
        self.rule = KrakenBookRule(self.pairs)
        self.books: dict[str, OrderBook] = {}
        self.verified: dict[str, int] = {}
        self.failed = 0

    def on_message(self, message: list[object]) -> None:
        pair = str(message[-1])
        parts = [p for p in message[1:-2] if isinstance(p, dict)]
        if "as" in parts[0] or "bs" in parts[0]:
            self._snapshot(pair, parts[0])
        else:
            self._update(pair, parts)

    def _snapshot(self, pair: str, body: dict[str, list[list[str]]]) -> None:
        asks, bids = body.get("as", []), body.get("bs", [])
        self.pairs.set_precision(pair, _decimals((asks or bids)[0]))
        book = OrderBook("kraken", pair)
        book.apply_snapshot(
            OrderBookSnapshot("kraken", pair, _levels(bids), _levels(asks), 0, 0, 0)
        )
        self.books[pair] = book

    def _update(self, pair: str, parts: list[dict[str, object]]) -> None:
        book = self.books[pair]
        bids: tuple[PriceLevel, ...] = ()
        asks: tuple[PriceLevel, ...] = ()
        checksum = -1
        for part in parts:
            asks += _levels(part.get("a", []))  # type: ignore[arg-type]
            bids += _levels(part.get("b", []))  # type: ignore[arg-type]
            checksum = int(str(part.get("c", checksum)))
        seq = book.sequence + 1
        book.apply_deltas(OrderBookDeltas("kraken", pair, bids, asks, seq, seq, -1, 0, 0))
        if self.rule.checksum_ok(book, checksum):
            self.verified[pair] = self.verified.get(pair, 0) + 1
        else:
            self.failed += 1


def test_real_v1_checksums_are_reproduced(shared_data: Path) -> None:
    """Every checksum Kraken sent in a real 30 s capture of 10 pairs is reproduced."""
    replay = _V1Replay()
    lines = (shared_data / "ws_captures" / "KRAKEN.ws.50.0").read_text().splitlines()
    for line in lines:
        if line[:1].isdigit():
            message = json.loads(line.partition(": ")[2])
            if isinstance(message, list):
                replay.on_message(message)
    total = sum(replay.verified.values())
    report_figure(f"kraken v1 capture: {total} real book checksums reproduced, 0 failed")
    assert replay.failed == 0
    assert total == 4269
    assert len(replay.verified) == 10


def test_documented_example_string() -> None:
    """Kraken's v2 guide: ask 45285.2 / 0.00100000 formats as ``452852100000``."""
    precision = PairPrecision(1, 8)
    assert checksum_string([(45285.2, 0.001)], [], precision) == "452852100000"
    assert checksum_string([], [(0.05, 0.00000304)], PairPrecision(5, 8)) == "5000304"


def test_truncate_book_drops_levels_beyond_depth() -> None:
    book = OrderBook("kraken", "BTC/USD")
    bids = tuple((100.0 - i, 1.0) for i in range(15))
    asks = tuple((101.0 + i, 1.0) for i in range(12))
    book.apply_snapshot(OrderBookSnapshot("kraken", "BTC/USD", bids, asks, 7, 5, 5))
    assert truncate_book(book, 10) == 7
    assert book.level_count() == (10, 10)
    assert book.depth(20).bids[-1] == (91.0, 1.0) and book.depth(20).asks[-1] == (110.0, 1.0)
    assert (book.sequence, book.ts_event, book.valid) == (7, 5, True)
    assert truncate_book(book, 10) == 0


def _book_frame(kind: str, bids: list[PriceLevel], asks: list[PriceLevel], crc: int) -> bytes:
    def levels(rows: list[PriceLevel]) -> str:
        return ",".join(f'{{"price":{p:.1f},"qty":{q:.8f}}}' for p, q in rows)

    return (
        f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":[{levels(bids)}],'
        f'"asks":[{levels(asks)}],"checksum":{crc},"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}'
    ).encode()


def test_wrong_checksum_invalidates_book(pipeline: Pipeline) -> None:
    precision = PairPrecision(1, 8)
    bids = [(100.0 - i, 0.5 + i) for i in range(10)]
    asks = [(101.0 + i, 0.25 + i) for i in range(10)]
    pipeline.parser.on_frame(
        _book_frame("snapshot", bids, asks, levels_checksum(asks, bids, precision)), T0
    )
    assert [s.valid for s in pipeline.events.statuses] == [True]
    # An insert at the top pushes 91.0 out of the subscribed depth (10): Kraken sends no delete.
    new_bids = [(100.5, 1.0), *bids[:9]]
    good = levels_checksum(asks, new_bids, precision)
    pipeline.parser.on_frame(_book_frame("update", [(100.5, 1.0)], [], good), T0 + 1)
    assert [s.valid for s in pipeline.events.statuses] == [True]
    book = pipeline.books.book("kraken", "BTC/USD")
    assert book is not None and book.level_count() == (10, 10)
    pipeline.parser.on_frame(_book_frame("update", [(100.5, 2.0)], [], good), T0 + 2)
    status = pipeline.events.statuses[-1]
    assert not status.valid
    assert status.reason == f"checksum mismatch at 3: venue says {good}"
