"""Peer for bench_binance_pipeline.py: the same book work on Nautilus Trader's ``OrderBook``.

Runs under an interpreter that has ``nautilus_trader`` and ``msgspec`` installed
(``NAUTILUS_PYTHON``), never inside the project's venv:

    $NAUTILUS_PYTHON bench/peer_nautilus_book.py LEVELS.msgpack --repeat 5

``LEVELS.msgpack`` holds ``{"snapshot": {"bids": [[p, s], ...], "asks": [...]},
"deltas": [[bids, asks], ...], "price_precision": n, "size_precision": n}``.
Delta objects are built before timing (as our side decodes before timing); the
timed loop is ``apply_deltas(snapshot)`` then, per batch, ``apply_deltas(batch)``
and ``best_bid_price()`` / ``best_ask_price()``. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import BookOrder, OrderBookDelta, OrderBookDeltas
from nautilus_trader.model.enums import BookAction, BookType, OrderSide, RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

INSTRUMENT = InstrumentId.from_str("BTCUSDT.BINANCE")
F_LAST = RecordFlag.F_LAST.value
F_SNAPSHOT = RecordFlag.F_SNAPSHOT.value


class _Factory:
    """Build nautilus deltas from (price, size) levels at fixed precisions."""

    def __init__(self, price_precision: int, size_precision: int) -> None:
        self.px = price_precision
        self.sz = size_precision

    def level(self, side: OrderSide, level: list[float], seq: int, flags: int) -> OrderBookDelta:
        price, size = level
        action = BookAction.UPDATE if size > 0.0 else BookAction.DELETE
        order = BookOrder(side, Price(price, self.px), Quantity(size, self.sz), 0)
        return OrderBookDelta(INSTRUMENT, action, order, flags, seq, seq, seq)

    def batch(self, bids: list[Any], asks: list[Any], seq: int, flags: int = 0) -> OrderBookDeltas:
        items = [self.level(OrderSide.BUY, lv, seq, flags) for lv in bids]
        items += [self.level(OrderSide.SELL, lv, seq, flags) for lv in asks]
        if flags & F_SNAPSHOT:
            items.insert(0, OrderBookDelta.clear(INSTRUMENT, seq, seq, seq))
        last = items[-1]
        items[-1] = OrderBookDelta(
            INSTRUMENT, last.action, last.order, last.flags | F_LAST, seq, seq, seq
        )
        return OrderBookDeltas(INSTRUMENT, items)


def _build(data: dict[str, Any]) -> tuple[OrderBookDeltas, list[OrderBookDeltas], int]:
    factory = _Factory(data["price_precision"], data["size_precision"])
    snap = data["snapshot"]
    snapshot = factory.batch(snap["bids"], snap["asks"], 1, F_SNAPSHOT)
    batches = []
    changes = 0
    for i, (bids, asks) in enumerate(data["deltas"], start=2):
        if bids or asks:
            batches.append(factory.batch(bids, asks, i))
            changes += len(bids) + len(asks)
    return snapshot, batches, changes


def _run_once(snapshot: OrderBookDeltas, batches: list[OrderBookDeltas]) -> tuple[float, Any]:
    book = OrderBook(INSTRUMENT, BookType.L2_MBP)
    apply = book.apply_deltas
    best_bid = book.best_bid_price
    best_ask = book.best_ask_price
    gc.collect()
    started = time.perf_counter()
    apply(snapshot)
    for batch in batches:
        apply(batch)
        best_bid()
        best_ask()
    return time.perf_counter() - started, book


def main() -> int:
    """Time the book and print ``{"level_changes_per_s": ..., ...}`` as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("levels", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    data = msgspec.msgpack.decode(args.levels.read_bytes())
    snapshot, batches, changes = _build(data)
    best = float("inf")
    book = None
    for _ in range(max(1, args.repeat)):
        seconds, book = _run_once(snapshot, batches)
        best = min(best, seconds)
    import nautilus_trader

    result = {
        "nautilus_trader": nautilus_trader.__version__,
        "python": sys.version.split()[0],
        "level_changes": changes,
        "seconds": best,
        "level_changes_per_s": changes / best,
        "best_bid": float(book.best_bid_price()) if book else None,
        "best_ask": float(book.best_ask_price()) if book else None,
        "bid_levels": len(book.bids()) if book else 0,
        "ask_levels": len(book.asks()) if book else 0,
    }
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
