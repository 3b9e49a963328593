"""What goes into Redis: stream names, typed envelopes and watermarks, as msgpack.

One stream per (kind, venue, symbol): ``<prefix>:<kind>:<venue>:<symbol>``, e.g.
``tf:trades:binance:BTC/USDT``. Each entry has one field, ``e``: a msgpack
``StreamEntry`` whose first element is the kind's tag, then the publisher's clock
time and global sequence number, then the frozen domain struct itself. Decoding
is one pass into the tagged union of the entry types; nothing crosses a module
boundary as a bare dict.

Entry ids are assigned by the publisher from its clock (``<ms>-<n>``), so a batch
resent after a lost reply is refused by Redis instead of stored twice, and the
id is a natural key a consumer can use to spot a redelivered entry.

Each publisher also appends ``Watermark`` entries (field ``w``) to its clock
stream ``<prefix>:clock:<source>``: every entry it published with a key
``(clk, seq)`` up to the watermark's is already in Redis.
"""

from __future__ import annotations

from typing import Any, Final, Generic, TypeVar

import msgspec

from tradefabric.core.bus import Topic
from tradefabric.core.errors import ConfigError
from tradefabric.data import topics
from tradefabric.model.data import (
    Candle,
    Liquidation,
    MarkPrice,
    OpenInterest,
    OrderBookSnapshot,
    Quote,
    Trade,
    TradeGap,
)
from tradefabric.streams.books import BOOK_SAMPLES
from tradefabric.streams.errors import UndecodableEntryError

T = TypeVar("T")

ENTRY_FIELD: Final = b"e"
"""The one field of a data entry: the msgpack envelope."""
WATERMARK_FIELD: Final = b"w"
"""The one field of a clock stream entry: a msgpack ``Watermark``."""
DEFAULT_PREFIX: Final = "tf"

Event = (
    Trade | TradeGap | Quote | Candle | MarkPrice | Liquidation | OpenInterest | OrderBookSnapshot
)
"""Every domain event type that travels over Redis."""


class StreamEntry(msgspec.Struct, frozen=True, array_like=True):
    """The envelope of one event: publisher clock time, publisher sequence, event."""

    clk: int
    """The publisher's clock (ns) when it published the event; never decreases."""
    seq: int
    """The publisher's sequence number across all its streams, from 1."""
    event: Event


class TradeEntry(StreamEntry, frozen=True, tag="trades"):
    """A trade from ``topics.TRADES``."""

    event: Trade


class BackfillEntry(StreamEntry, frozen=True, tag="backfills"):
    """A trade recovered after a gap, from ``topics.TRADES_BACKFILLED``."""

    event: Trade


class TradeGapEntry(StreamEntry, frozen=True, tag="gaps"):
    """Trades a venue numbered but the feed never received, from ``topics.TRADE_GAPS``."""

    event: TradeGap


class QuoteEntry(StreamEntry, frozen=True, tag="quotes"):
    """A venue top of book, from ``topics.QUOTES``."""

    event: Quote


class CandleEntry(StreamEntry, frozen=True, tag="candles"):
    """A candle, from ``topics.CANDLES``."""

    event: Candle


class MarkPriceEntry(StreamEntry, frozen=True, tag="marks"):
    """A mark price with funding, from ``topics.MARK_PRICES``."""

    event: MarkPrice


class LiquidationEntry(StreamEntry, frozen=True, tag="liquidations"):
    """A liquidation, from ``topics.LIQUIDATIONS``."""

    event: Liquidation


class OpenInterestEntry(StreamEntry, frozen=True, tag="oi"):
    """Open interest, from ``topics.OPEN_INTEREST``."""

    event: OpenInterest


class BookEntry(StreamEntry, frozen=True, tag="books"):
    """A top-N order book sample, from ``books.BOOK_SAMPLES``."""

    event: OrderBookSnapshot


AnyEntry = (
    TradeEntry
    | BackfillEntry
    | TradeGapEntry
    | QuoteEntry
    | CandleEntry
    | MarkPriceEntry
    | LiquidationEntry
    | OpenInterestEntry
    | BookEntry
)


class Kind(msgspec.Struct, Generic[T], frozen=True):
    """One kind of stream: its name (the tag), the bus topic, and its envelope type."""

    name: str
    topic: Topic[T]
    entry_type: type[StreamEntry]


KINDS: Final[tuple[Kind[Any], ...]] = (
    Kind("trades", topics.TRADES, TradeEntry),
    Kind("backfills", topics.TRADES_BACKFILLED, BackfillEntry),
    Kind("gaps", topics.TRADE_GAPS, TradeGapEntry),
    Kind("quotes", topics.QUOTES, QuoteEntry),
    Kind("candles", topics.CANDLES, CandleEntry),
    Kind("marks", topics.MARK_PRICES, MarkPriceEntry),
    Kind("liquidations", topics.LIQUIDATIONS, LiquidationEntry),
    Kind("oi", topics.OPEN_INTEREST, OpenInterestEntry),
    Kind("books", BOOK_SAMPLES, BookEntry),
)
KINDS_BY_NAME: Final[dict[str, Kind[Any]]] = {kind.name: kind for kind in KINDS}
KIND_OF_ENTRY: Final[dict[type[StreamEntry], Kind[Any]]] = {k.entry_type: k for k in KINDS}


class Watermark(msgspec.Struct, frozen=True, array_like=True):
    """Every entry of the publisher with ``(clk, seq)`` up to this one's is in Redis.

    ``end`` is set by the publisher's last watermark, written when it closes.
    """

    clk: int
    seq: int
    end: bool = False


class StreamName(msgspec.Struct, frozen=True):
    """The parts of a data stream's name."""

    prefix: str
    kind: str
    venue: str
    symbol: str


def kinds_named(names: str | tuple[str, ...]) -> tuple[Kind[Any], ...]:
    """Return the kinds named (a tuple or a comma-separated string); ConfigError if unknown."""
    if isinstance(names, str):
        names = tuple(n.strip() for n in names.split(",") if n.strip())
    unknown = [n for n in names if n not in KINDS_BY_NAME]
    if unknown or not names:
        raise ConfigError(
            f"unknown stream kinds {unknown or names!r}; known: {list(KINDS_BY_NAME)}"
        )
    return tuple(KINDS_BY_NAME[n] for n in dict.fromkeys(names))


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can start a stream name; raise ``ConfigError`` otherwise."""
    if not prefix or ":" in prefix or any(c.isspace() for c in prefix):
        raise ConfigError(f"stream prefix must be non-empty, without ':' or spaces: {prefix!r}")
    return prefix


def stream_key(prefix: str, kind: str, venue: str, symbol: str) -> str:
    """Return the name of the stream of ``kind`` events for ``symbol`` on ``venue``."""
    return f"{prefix}:{kind}:{venue}:{symbol}"


def clock_key(prefix: str, source: str) -> str:
    """Return the name of the clock (watermark) stream of publisher ``source``."""
    return f"{prefix}:clock:{source}"


def parse_stream_key(key: str) -> StreamName:
    """Split a data stream name into its parts; raise ``ConfigError`` if it is not one."""
    # Symbols may hold ':' (BTC/USDT:USDT), so only the first three separators count.
    parts = key.split(":", 3)
    if len(parts) != 4 or parts[1] not in KINDS_BY_NAME or not all(parts):
        raise ConfigError(f"not a tradefabric stream name: {key!r}")
    return StreamName(prefix=parts[0], kind=parts[1], venue=parts[2], symbol=parts[3])


_ENCODER = msgspec.msgpack.Encoder()
_ENTRY_DECODER: msgspec.msgpack.Decoder[AnyEntry] = msgspec.msgpack.Decoder(AnyEntry)
_WATERMARK_DECODER = msgspec.msgpack.Decoder(Watermark)


def encode(value: StreamEntry | Watermark) -> bytes:
    """Return the msgpack bytes of an envelope or a watermark."""
    return _ENCODER.encode(value)


def decode_entry(payload: bytes) -> AnyEntry:
    """Decode one data entry; raise ``UndecodableEntryError`` for anything else."""
    try:
        return _ENTRY_DECODER.decode(payload)
    except msgspec.DecodeError as exc:
        raise UndecodableEntryError(f"undecodable stream entry: {exc}") from exc


def decode_watermark(payload: bytes) -> Watermark:
    """Decode one watermark; raise ``UndecodableEntryError`` for anything else."""
    try:
        return _WATERMARK_DECODER.decode(payload)
    except msgspec.DecodeError as exc:
        raise UndecodableEntryError(f"undecodable watermark: {exc}") from exc
