"""Kraken's book rule: unsequenced updates checked by a CRC32 of the top 10 levels.

Kraken v2 book frames carry no sequence ids, so the parser numbers each symbol's
book frames with a local counter (snapshot ``n``, then updates ``n+1, n+2...``)
and ``KrakenBookRule`` accepts every update in order. Loss is caught by Kraken's
checksum instead, computed as Kraken documents (book-checksum-v2):

- top 10 asks, lowest first, then top 10 bids, highest first;
- each price and qty printed with the pair's precision, ``.`` removed, leading
  zeros stripped, ``price + qty`` appended;
- CRC32 of the concatenation, as an unsigned 32-bit integer.

Kraken also requires the local book be truncated to the subscribed depth after
every update: levels pushed out of scope by an insert are dropped without a
``qty: 0``. ``checksum_ok`` is the one hook ``OrderBooks`` gives a rule after a
batch is applied, so it truncates first (``truncate_book``), then checks.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

import structlog

from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas, PriceLevel
from tradefabric.venues.kraken.markets import KrakenMarket, PairPrecision

log = structlog.get_logger(__name__)


class KrakenPairs:
    """What each pair's book needs: precisions and the subscribed depth.

    Shared by the parser (which learns from ``instrument`` frames and subscribe
    acks) and ``KrakenBookRule`` (which checksums with it).
    """

    def __init__(
        self,
        precisions: Mapping[str, PairPrecision],
        default_depth: int,
        checksum_levels: int = 10,
    ) -> None:
        self._precisions = dict(precisions)
        self._depths: dict[str, int] = {}
        self.default_depth = default_depth
        self.checksum_levels = checksum_levels

    @classmethod
    def for_market(cls, market: KrakenMarket) -> KrakenPairs:
        """Return the pairs known from ``market``'s table, at its default book depth."""
        return cls(market.pair_precisions, market.default_book_depth, market.checksum_levels)

    def precision(self, symbol: str) -> PairPrecision | None:
        """Return the precisions of ``symbol``, None when unknown."""
        return self._precisions.get(symbol)

    def set_precision(self, symbol: str, precision: PairPrecision) -> None:
        """Record the precisions of ``symbol`` (from ``instrument`` or REST ``AssetPairs``)."""
        self._precisions[symbol] = precision

    def update(self, precisions: Mapping[str, PairPrecision]) -> None:
        """Record many pairs' precisions."""
        self._precisions.update(precisions)

    def depth(self, symbol: str) -> int:
        """Return the book depth subscribed for ``symbol``."""
        return self._depths.get(symbol, self.default_depth)

    def set_depth(self, symbol: str, depth: int) -> None:
        """Record the book depth subscribed for ``symbol`` (from the subscribe ack)."""
        self._depths[symbol] = depth


def _digits(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def checksum_string(
    asks: Iterable[PriceLevel], bids: Iterable[PriceLevel], precision: PairPrecision
) -> str:
    """Return the string Kraken's CRC32 covers, from levels already best first and cut to 10."""
    price, qty = precision.price, precision.qty
    parts = [_digits(p, price) + _digits(q, qty) for p, q in asks]
    parts.extend(_digits(p, price) + _digits(q, qty) for p, q in bids)
    return "".join(parts)


def levels_checksum(
    asks: Iterable[PriceLevel], bids: Iterable[PriceLevel], precision: PairPrecision
) -> int:
    """Return Kraken's CRC32 of levels already best first and cut to the checksum depth."""
    return zlib.crc32(checksum_string(asks, bids, precision).encode("ascii"))


def book_checksum(book: OrderBook, precision: PairPrecision, levels: int = 10) -> int:
    """Return Kraken's CRC32 of ``book``'s top ``levels`` asks then bids."""
    top = book.depth(levels)
    return levels_checksum(top.asks, top.bids, precision)


def truncate_book(book: OrderBook, depth: int) -> int:
    """Remove the levels beyond ``depth`` on each side; return how many were removed.

    Uses the book's public API: a size-0 batch that keeps the book's sequence and
    event time (so ``level_changes`` counts the removals).
    """
    bid_count, ask_count = book.level_count()
    if bid_count <= depth and ask_count <= depth:
        return 0
    full = book.depth(max(bid_count, ask_count))
    drop_bids = tuple((price, 0.0) for price, _ in full.bids[depth:])
    drop_asks = tuple((price, 0.0) for price, _ in full.asks[depth:])
    seq = book.sequence
    book.apply_deltas(
        OrderBookDeltas(book.venue, book.symbol, drop_bids, drop_asks, seq, seq, -1,
                        book.ts_event, book.ts_event)
    )  # fmt: skip
    return len(drop_bids) + len(drop_asks)


class KrakenBookRule:
    """Kraken v2's rule: unsequenced frames in order, verified by CRC32 after each one."""

    snapshot_supersedes_buffer = True
    """Snapshots arrive in-stream (on subscribe): buffered updates predate them."""

    def __init__(self, pairs: KrakenPairs) -> None:
        self._pairs = pairs

    @property
    def pairs(self) -> KrakenPairs:
        """Return the precisions and depths this rule checks with."""
        return self._pairs

    def is_stale(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return False: Kraken numbers nothing, so no update is known to be stale."""
        return False

    def bridges(self, deltas: OrderBookDeltas, snapshot_id: int) -> bool:
        """Return True: any update may follow a snapshot; the checksum catches a miss."""
        return True

    def follows(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True: any update may follow another; the checksum catches a miss."""
        return True

    def checksum_ok(self, book: OrderBook, checksum: int) -> bool:
        """Truncate ``book`` to the subscribed depth, then compare Kraken's CRC32 to ``checksum``.

        A pair without known precisions cannot be verified and fails (logged).
        """
        pairs = self._pairs
        truncate_book(book, pairs.depth(book.symbol))
        precision = pairs.precision(book.symbol)
        if precision is None:
            log.warning("kraken_no_precision", symbol=book.symbol)
            return False
        return book_checksum(book, precision, pairs.checksum_levels) == checksum
