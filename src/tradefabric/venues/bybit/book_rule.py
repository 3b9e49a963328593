"""How Bybit v5 ``orderbook.<depth>.<symbol>`` update ids chain.

Bybit documents ``u`` as the update id of the book stream, a sequence that goes up
by one with every message of a topic (``"u": 20254869`` snapshot, then deltas
20254870, 20254871, ... on the real ``orderbook.500.XRPUSDT`` archive). A
``snapshot`` always replaces the book (at subscription, when Bybit re-sends one,
and with ``"u": 1`` after a restart of Bybit's service, when the count starts
again). A delta therefore continues a book at ``u`` only if its own ``u`` is
``u + 1``; anything else is a gap. Bybit publishes no book checksum.

The parser sets ``first_id == last_id == u`` on every ``OrderBookDeltas``.
"""

from __future__ import annotations

from tradefabric.data.order_book import OrderBook
from tradefabric.model.data import OrderBookDeltas


class BybitBookRule:
    """Bybit's rule: each delta's ``u`` is the previous message's ``u`` + 1."""

    snapshot_supersedes_buffer = True
    """Bybit pushes snapshots in-stream, so a snapshot already contains every delta
    received before it (or, with ``u == 1``, ends their sequence): ``OrderBooks``
    drops the buffered deltas instead of replaying them."""

    def is_stale(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when the book at ``last_id`` already contains ``deltas``."""
        return deltas.last_id <= last_id

    def bridges(self, deltas: OrderBookDeltas, snapshot_id: int) -> bool:
        """Return True when ``deltas`` is the message right after the snapshot."""
        return deltas.first_id == snapshot_id + 1

    def follows(self, deltas: OrderBookDeltas, last_id: int) -> bool:
        """Return True when ``deltas`` is the message right after ``last_id``."""
        return deltas.first_id == last_id + 1

    def checksum_ok(self, book: OrderBook, checksum: int) -> bool:
        """Return True: Bybit publishes no book checksum."""
        return True
