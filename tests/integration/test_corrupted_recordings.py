"""Corrupted copies of real recordings: bad lines are counted and skipped, nothing else is lost."""

from __future__ import annotations

import gzip
import random
from functools import cache
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.conftest import shared_data_dir
from tests.integration.recordings import frame_kind, read_lines, write_lines
from tradefabric.core.errors import DataSourceError
from tradefabric.data import topics
from tradefabric.model.data import OrderBookStatus
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode, ReplaySummary
from tradefabric.store.catalog import Catalog

SPOT = "spot_btcusdt_20240808.gz"
USDM = "usdm_btcusdt_20240808.gz"


@cache
def _lines(file: str) -> tuple[bytes, ...]:
    return tuple(read_lines(shared_data_dir() / "binance_ws" / file))


@cache
def _kinds(file: str) -> tuple[str, ...]:
    return tuple(frame_kind(line) for line in _lines(file))


@cache
def _trades(file: str) -> int:
    return _kinds(file).count("trade")


def _replay(path: Path, venue: str = "binance", catalog: Path | None = None) -> ReplaySummary:
    node = MarketDataNode(MarketDataConfig(venue=venue, check_books=True, catalog=catalog))
    return node.replay(path)


def _indices(file: str, kind: str, count: int, seed: int) -> list[int]:
    candidates = [i for i, k in enumerate(_kinds(file)) if k == kind]
    return sorted(random.Random(seed).sample(candidates, count))


def test_truncated_lines_are_counted_and_skipped(shared_data: Path, tmp_path: Path) -> None:
    lines = list(_lines(SPOT))
    cut = _indices(SPOT, "trade", 40, seed=1)
    for i in cut:
        lines[i] = lines[i][: len(lines[i]) // 2]
    with capture_logs() as logs:
        summary = _replay(write_lines(tmp_path / "cut.gz", lines))
    assert summary.replay.rejected == {"malformed": 40}
    assert summary.events.trades == _trades(SPOT) - 40
    logged_lines = {e["line"] for e in logs if e["event"] == "replay line rejected"}
    assert logged_lines == {i + 1 for i in cut}  # 1-based line numbers
    (book,) = summary.books
    assert book.valid and book.gaps == 0


def test_removed_diff_is_a_gap_and_invalidates_the_book(shared_data: Path, tmp_path: Path) -> None:
    lines = list(_lines(USDM))
    depth = _indices(USDM, "depth", 1, seed=2)[0]
    depth = max(depth, 2000)
    while _kinds(USDM)[depth] != "depth":
        depth += 1
    del lines[depth]
    node = MarketDataNode(MarketDataConfig(venue="binance-usdm", check_books=True))
    statuses: list[OrderBookStatus] = []
    node.bus.subscribe(topics.BOOK_STATUS, statuses.append)
    summary = node.replay(write_lines(tmp_path / "gap.gz", lines))

    (book,) = summary.books
    assert (book.valid, book.gaps, book.resyncs) == (False, 1, 1)
    assert [s.valid for s in statuses] == [False, True, False]  # new, snapshot, gap
    assert "sequence gap" in statuses[-1].reason
    # The book was never compared while invalid, and every comparison before was right.
    assert summary.book_check is not None
    assert summary.book_check.matches == summary.book_check.comparisons > 0
    assert summary.events.trades == _trades(USDM)


def test_shuffled_neighbours_are_stale_not_fatal(shared_data: Path, tmp_path: Path) -> None:
    lines = list(_lines(SPOT))
    rng = random.Random(3)
    swaps = sorted(rng.sample(range(5000, len(lines) - 1, 2), 300))
    for i in swaps:
        lines[i], lines[i + 1] = lines[i + 1], lines[i]
    summary = _replay(write_lines(tmp_path / "shuffled.gz", lines))
    total_trades = _trades(SPOT)
    stale = summary.replay.rejected.get("stale", 0)
    assert stale > 0
    assert set(summary.replay.rejected) <= {"stale"}
    assert summary.replay.time_regressions > 0
    # Every trade line was either published or rejected as stale, never lost silently.
    swapped_trades = summary.events.trades + stale
    assert summary.events.trades <= total_trades <= swapped_trades


def test_duplicated_lines_are_dropped(shared_data: Path, tmp_path: Path) -> None:
    original = _lines(SPOT)
    dup_trades = _indices(SPOT, "trade", 25, seed=4)
    dup_quotes = _indices(SPOT, "quote", 25, seed=5)
    lines = list(original)
    for i in sorted(dup_trades + dup_quotes, reverse=True):
        lines.insert(i + 1, lines[i])
    summary = _replay(write_lines(tmp_path / "dup.gz", lines))
    assert summary.replay.rejected == {"stale": 50}
    assert summary.events.trades == _trades(SPOT)
    assert summary.book_check is not None
    assert summary.book_check.match_rate == 1.0


@pytest.mark.parametrize("bad_price", [b'"NaN"', b'"-61837.63"', b'"0"', b'"inf"'])
def test_bad_prices_are_rejected(shared_data: Path, tmp_path: Path, bad_price: bytes) -> None:
    original = _lines(SPOT)
    bad = _indices(SPOT, "trade", 10, seed=6)
    lines = list(original)
    for i in bad:
        head, _, tail = lines[i].partition(b'"p":')
        lines[i] = head + b'"p":' + bad_price + tail[tail.index(b",") :]
    summary = _replay(write_lines(tmp_path / "nan.gz", lines))
    assert summary.replay.rejected == {"malformed": 10}
    assert summary.events.trades == _trades(SPOT) - 10


def test_garbage_unknown_streams_and_blank_lines(shared_data: Path, tmp_path: Path) -> None:
    lines = list(_lines(SPOT)[:3000])
    lines[100:100] = [
        b"",
        b"no-timestamp-here",
        b"1723161254087896568 {not json",
        b'1723161254087896568 {"stream":"btcusdt@ticker","data":{}}',
        b'1723161254087896568 {"id":1,"result":null}',
    ]
    summary = _replay(write_lines(tmp_path / "garbage.gz", lines))
    assert summary.replay.rejected == {"malformed": 2, "unknown_stream": 2}
    assert summary.events.trades == _kinds(SPOT)[:3000].count("trade")


def test_plain_text_recording_equals_gzip(shared_data: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"\n".join(_lines(SPOT)[:5000]) + b"\n")
    compressed = write_lines(tmp_path / "same.gz", list(_lines(SPOT)[:5000]))
    a, b = _replay(plain), _replay(compressed)
    assert a.events == b.events
    assert a.books == b.books


def test_truncated_gzip_keeps_what_was_read(shared_data: Path, tmp_path: Path) -> None:
    whole = shared_data / "binance_ws" / SPOT
    broken = tmp_path / "broken.gz"
    broken.write_bytes(whole.read_bytes()[:400_000])
    catalog = tmp_path / "catalog"
    with pytest.raises(DataSourceError, match="corrupt or truncated"):
        _replay(broken, catalog=catalog)
    stored = Catalog(catalog).query("SELECT count(*) FROM trades").rows[0][0]
    assert isinstance(stored, int)
    assert 0 < stored < _trades(SPOT)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"cannot read recording .*nope\.gz"):
        _replay(tmp_path / "nope.gz")
    with pytest.raises(DataSourceError, match="is a directory"):
        _replay(tmp_path)


def test_not_gzip_despite_name(tmp_path: Path) -> None:
    path = tmp_path / "fake.gz"
    path.write_bytes(gzip.compress(b"x")[:1] + b"garbage\n")
    summary = _replay(path)
    assert summary.replay.rejected == {"malformed": 1}
