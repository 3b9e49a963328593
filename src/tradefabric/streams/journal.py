"""Durable outputs of ``stream consume``: nothing is acknowledged before it is on disk.

Contract (every output mode):

- ``--events-out`` only: each released batch is appended to the event log and
  fsynced, then acknowledged (``XACK``).
- ``--out`` (with or without ``--events-out``): the candles and book tops written
  at exit are derived state, so the deliveries are journaled first, to
  ``--events-out`` or else to ``<out>.events.jsonl`` beside it, fsynced before
  the ack. A restarted consumer replays its journal through the downstream
  (clock moved to each event's publisher time, events republished), so its
  candles and book tops start from every event it ever acknowledged.
- neither: events only reach the local bus; nothing outlives the process, and
  acking after dispatch is all there is to do.

Delivery from Redis is at least once: a consumer killed between the fsync and the
``XACK`` gets those entries again. They are recognized by ``(stream, entry id)``
(the journal's ids are the consumer's ``processed``) and acknowledged without
being dispatched, so the journal, and what is built from it, holds every
acknowledged entry exactly once. A line torn by the kill is cut on reopening; its
entry was never acknowledged and is delivered again.
"""

from __future__ import annotations

from pathlib import Path

from tradefabric.streams import codec
from tradefabric.streams.event_log import EventLog, read_event_log
from tradefabric.streams.pipeline import Downstream

JOURNAL_SUFFIX = ".events.jsonl"


def journal_path(out: Path | None, events_out: Path | None) -> Path | None:
    """Return where deliveries are made durable before the ack (None: nowhere to)."""
    if events_out is not None:
        return events_out
    if out is not None:
        return out.with_name(out.name + JOURNAL_SUFFIX)
    return None


def open_journal(path: Path, downstream: Downstream | None) -> tuple[EventLog, int]:
    """Open the journal at ``path``, replay what it holds into ``downstream``.

    Return the open log and how many events were replayed (0 without a downstream).
    """
    replayed = replay(path, downstream) if downstream is not None else 0
    return EventLog(path), replayed


def replay(path: Path, downstream: Downstream) -> int:
    """Republish every event journaled at ``path`` on ``downstream`` at its publisher time."""
    clock, publish = downstream.clock, downstream.bus.publish
    records = read_event_log(path)
    for record in records:
        clock.advance_to(record.clk)
        publish(codec.KINDS_BY_NAME[record.kind].topic, record.decode_event())
    return len(records)
