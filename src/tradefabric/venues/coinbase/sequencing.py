"""Gap detection for Coinbase Advanced Trade: one ``sequence_num`` per connection.

Every message on a connection carries ``sequence_num``, one more than the
previous message *of any channel* on that connection. A gap therefore says a
message was lost but not which channel or product it belonged to, so the only
safe reading is: **any gap on a connection invalidates every level2 book of
that connection**, and each book stays invalid until a fresh level2 snapshot
of its product arrives (re-subscribe ``level2``, or reconnect).

How this reaches ``OrderBooks`` (``tradefabric.data.book_sync``) with no
Coinbase branch there:

- Book ids are connection ids: ``epoch << 40 | sequence_num``. The epoch grows
  with every new connection, so ids only increase, and anything buffered from
  an old connection is older (stale) than the next connection's snapshot.
- A snapshot's ``sequence`` is its message id. Each delta batch has
  ``first_id == last_id ==`` its message id and ``prev_id ==`` the id of the
  previous level2 message *of the same product* that the parser published
  while the connection stayed contiguous (its "link").
- On a gap (or a new connection, or a level2 frame that had to be dropped) the
  parser breaks every link (``BROKEN``) and at once publishes, per product, an
  empty delta batch whose ``prev_id`` is ``BROKEN``: ``OrderBooks`` sees a
  batch that does not follow the book, marks it invalid and publishes
  ``OrderBookStatus(valid=False)`` right away, even for a quiet product.
- A fresh snapshot sets the product's link to its id again, so the next update
  bridges it (``prev_id == snapshot id``) and the book is valid again.
"""

from __future__ import annotations

from tradefabric.core.errors import StaleMessageError
from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas

EPOCH_SHIFT = 40
"""Bits of ``sequence_num`` inside a book id (2**40 messages per connection)."""
BROKEN = -1
"""The link of a book whose continuity was lost; no real id equals it."""


class CoinbaseBookRule:
    """``SequenceRule`` of Coinbase level2: batches chain by ``prev_id`` per product."""

    # level2 snapshots arrive on the socket and contain everything sent before them.
    snapshot_supersedes_buffer = True

    def is_stale(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the batch's message is not after ``last_id``."""
        return deltas.last_id <= last_id

    def bridges(self, deltas: OrderBookDeltas, snapshot_id: int) -> bool:
        """Return True when the batch names the snapshot as its product's previous message."""
        return deltas.prev_id == snapshot_id

    def follows(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the batch names ``last_id`` as its product's previous message."""
        return deltas.prev_id == last_id

    def checksum_ok(self, book: OrderBook, checksum: int) -> bool:
        """Return True: Coinbase publishes no book checksum."""
        return True


class ConnectionSequence:
    """The ``sequence_num`` state of one connection and the level2 links of its books."""

    __slots__ = ("base", "epoch", "last_seq", "links")

    def __init__(self) -> None:
        self.epoch = 0
        self.base = 0
        self.last_seq = -1
        self.links: dict[str, int] = {}
        """Unified symbol -> id of its last level2 message on a contiguous connection."""

    def new_connection(self) -> None:
        """Start a new epoch: sequence numbers restart, every link is broken."""
        self.epoch += 1
        self.base = self.epoch << EPOCH_SHIFT
        self.last_seq = -1
        self.break_links()

    def advance(self, sequence_num: int) -> bool:
        """Accept the next message's number; return True when continuity was lost before it.

        A ``0`` after other numbers is a new connection (sequence numbers restart);
        a number at or below the last one is stale and raises ``StaleMessageError``.
        """
        last = self.last_seq
        if sequence_num == last + 1:
            self.last_seq = sequence_num
            return False
        if sequence_num == 0 or (last < 0 and sequence_num > 0):
            broken = last >= 0
            if broken:
                self.new_connection()
            self.last_seq = sequence_num
            return broken
        if sequence_num <= last:
            raise StaleMessageError(
                f"sequence_num {sequence_num} is not after the last seen {last}"
            )
        self.last_seq = sequence_num
        self.break_links()
        return True

    def message_id(self) -> int:
        """Return the id of the message accepted last (the epoch's first id before any)."""
        return self.base + max(self.last_seq, 0)

    def break_links(self) -> None:
        """Mark every level2 book of the connection as no longer continuous."""
        for symbol in self.links:
            self.links[symbol] = BROKEN

    def relink(self, symbol: str, message_id: int) -> int:
        """Return the link of ``symbol`` and set it to ``message_id``."""
        previous = self.links.get(symbol, BROKEN)
        self.links[symbol] = message_id
        return previous
