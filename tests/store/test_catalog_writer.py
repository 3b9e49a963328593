"""CatalogWriter: events published on a real bus end up in Parquet files, exactly."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tradefabric.core.bus import MessageBus
from tradefabric.core.errors import ConfigError, DataSourceError
from tradefabric.data.topics import CANDLES, QUOTES, TRADES
from tradefabric.model.enums import AggressorSide
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.store import storage
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import COLUMNS, RowCounts

from .factories import MIDNIGHT, make_candle, make_quote, make_trade

BTC_DIR = "venue=binance/symbol=BTC-USDT_USDT"


def parquet_files(root: Path) -> list[Path]:
    """Return every data file (finished or temporary) below ``root``, not the manifest."""
    return sorted(p for p in root.rglob("*") if p.is_file() and "_manifest" not in p.parts)


def test_trades_round_trip_exact_values(root: Path, bus: MessageBus, writer: CatalogWriter) -> None:
    t0 = MIDNIGHT + 5_000_000_123
    bus.publish(
        TRADES, make_trade(t0, price=60_000.5, size=0.25, side=AggressorSide.BUY, trade_id="a-1")
    )
    bus.publish(
        TRADES,
        make_trade(t0 + 7, price=59_999.75, size=1.125, side=AggressorSide.SELL, trade_id="a-2"),
    )
    bus.publish(
        TRADES, make_trade(t0 + 9, price=3_100.25, size=4.0, trade_id="e-1", symbol="ETH/USDT")
    )
    assert writer.files_written == 0
    writer.flush()

    rows = Catalog(root).query("SELECT * FROM trades ORDER BY ts_event").rows
    assert rows == (
        ("binance", "BTC/USDT:USDT", t0, t0 + 1_000, 60_000.5, 0.25, "buy", "a-1"),
        ("binance", "BTC/USDT:USDT", t0 + 7, t0 + 1_007, 59_999.75, 1.125, "sell", "a-2"),
        ("binance", "ETH/USDT", t0 + 9, t0 + 1_009, 3_100.25, 4.0, "buy", "e-1"),
    )
    assert writer.rows_written() == RowCounts(trades=3)
    assert writer.buffered_rows() == RowCounts()
    assert writer.files_written == 2  # one per (venue, symbol, date) partition


def test_quotes_round_trip_exact_values(root: Path, bus: MessageBus, writer: CatalogWriter) -> None:
    bus.publish(QUOTES, make_quote(MIDNIGHT + 1, 60_000.0, 60_000.1))
    bus.publish(QUOTES, make_quote(MIDNIGHT + 2, 60_000.2, 60_000.3, venue="bybit"))
    writer.flush()

    rows = Catalog(root).query("SELECT * FROM quotes ORDER BY ts_event").rows
    assert rows == (
        ("binance", "BTC/USDT:USDT", MIDNIGHT + 1, MIDNIGHT + 2_001, 60_000.0, 1.5, 60_000.1, 2.25),
        ("bybit", "BTC/USDT:USDT", MIDNIGHT + 2, MIDNIGHT + 2_002, 60_000.2, 1.5, 60_000.3, 2.25),
    )
    assert writer.rows_written() == RowCounts(quotes=2)


def test_candles_round_trip_exact_values(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    bus.publish(CANDLES, make_candle(MIDNIGHT, "1m"))
    bus.publish(CANDLES, make_candle(MIDNIGHT, "5m"))
    writer.close()

    rows = Catalog(root).query("SELECT * FROM candles ORDER BY interval").rows
    end = MIDNIGHT + 60_000_000_000
    common = (MIDNIGHT, 100.0, 110.5, 99.25, 105.0, 12.5, 7, 5.0, 104.75, end, end + 500_000, 0, 0)
    assert rows == (
        ("binance", "BTC/USDT:USDT", "1m", *common),
        ("binance", "BTC/USDT:USDT", "5m", *common),
    )
    assert writer.rows_written() == RowCounts(candles=2)


def test_file_schema_is_exact(root: Path, bus: MessageBus, writer: CatalogWriter) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT))
    bus.publish(QUOTES, make_quote(MIDNIGHT))
    bus.publish(CANDLES, make_candle(MIDNIGHT))
    writer.flush()

    expected = {
        "trades": [
            ("venue", pa.string()),
            ("symbol", pa.string()),
            ("ts_event", pa.int64()),
            ("ts_recv", pa.int64()),
            ("price", pa.float64()),
            ("size", pa.float64()),
            ("side", pa.string()),
            ("trade_id", pa.string()),
        ],
        "quotes": [("venue", pa.string()), ("symbol", pa.string())]
        + [("ts_event", pa.int64()), ("ts_recv", pa.int64())]
        + [(n, pa.float64()) for n in ("bid", "bid_size", "ask", "ask_size")],
        "candles": [("venue", pa.string()), ("symbol", pa.string()), ("interval", pa.string())]
        + [("ts_open", pa.int64())]
        + [(n, pa.float64()) for n in ("open", "high", "low", "close", "volume")]
        + [("trades", pa.int64()), ("buy_volume", pa.float64()), ("vwap", pa.float64())]
        + [(n, pa.int64()) for n in ("ts_event", "ts_recv", "revision", "flags")],
    }
    for data_type, fields in expected.items():
        (path,) = parquet_files(root / data_type)
        schema = pq.read_schema(path)
        assert [(f.name, f.type) for f in schema] == fields, data_type


def test_every_table_starts_with_venue_and_symbol() -> None:
    # The writer fills these two from the partition key instead of buffering them.
    for columns in COLUMNS.values():
        assert [c.name for c in columns[:2]] == ["venue", "symbol"]


def test_partitions_split_at_utc_midnight(
    root: Path, bus: MessageBus, writer: CatalogWriter
) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT - 1, trade_id="before"))
    bus.publish(TRADES, make_trade(MIDNIGHT, trade_id="after"))
    # A candle opening before midnight belongs to that day even though it closes after.
    bus.publish(CANDLES, make_candle(MIDNIGHT - 60_000_000_000))
    writer.flush()

    files = [p.relative_to(root) for p in parquet_files(root)]
    dirs = sorted(str(p.parent) for p in files)
    assert dirs == [
        f"candles/{BTC_DIR}/date=2024-08-08",
        f"trades/{BTC_DIR}/date=2024-08-08",
        f"trades/{BTC_DIR}/date=2024-08-09",
    ]
    for path in files:
        assert path.name.startswith("part-") and path.suffix == ".parquet"
    before = pq.read_table(root / f"trades/{BTC_DIR}/date=2024-08-08").to_pylist()
    after = pq.read_table(root / f"trades/{BTC_DIR}/date=2024-08-09").to_pylist()
    assert [(r["trade_id"], r["ts_event"]) for r in before] == [("before", MIDNIGHT - 1)]
    assert [(r["trade_id"], r["ts_event"]) for r in after] == [("after", MIDNIGHT)]


def test_flush_rows_threshold_writes_several_files(root: Path, bus: MessageBus) -> None:
    writer = CatalogWriter(root, bus, flush_rows=3)
    for i in range(7):
        bus.publish(TRADES, make_trade(MIDNIGHT + i, price=100.0 + i, trade_id=f"id-{i}"))
    # Two full buffers were written by the handler itself, one row waits.
    assert writer.files_written == 2
    assert writer.rows_written() == RowCounts(trades=6)
    assert writer.buffered_rows() == RowCounts(trades=1)
    writer.close()

    assert writer.files_written == 3
    files = parquet_files(root / "trades")
    assert len(files) == 3
    assert sorted(pq.read_metadata(p).num_rows for p in files) == [1, 3, 3]
    result = Catalog(root).query("SELECT trade_id, price FROM trades ORDER BY ts_event")
    assert result.rows == tuple((f"id-{i}", 100.0 + i) for i in range(7))


def test_no_temp_files_left_after_flush(root: Path, bus: MessageBus, writer: CatalogWriter) -> None:
    for i in range(5):
        bus.publish(TRADES, make_trade(MIDNIGHT + i))
        bus.publish(QUOTES, make_quote(MIDNIGHT + i))
    writer.flush()

    names = [p.name for p in parquet_files(root)]
    assert len(names) == 2
    assert all(not n.startswith(".") and not n.endswith(".tmp") for n in names)


def test_flush_twice_does_not_duplicate(root: Path, bus: MessageBus, writer: CatalogWriter) -> None:
    bus.publish(TRADES, make_trade(MIDNIGHT))
    writer.flush()
    writer.flush()
    assert writer.files_written == 1
    assert Catalog(root).summary() == RowCounts(trades=1)


def test_close_unsubscribes_and_is_idempotent(root: Path, bus: MessageBus) -> None:
    writer = CatalogWriter(root, bus)
    assert bus.subscriber_count(TRADES) == 1
    writer.close()
    writer.close()
    assert [bus.subscriber_count(t) for t in (TRADES, QUOTES, CANDLES)] == [0, 0, 0]
    bus.publish(TRADES, make_trade(MIDNIGHT))
    assert writer.buffered_rows() == RowCounts()
    assert writer.files_written == 0


def test_context_manager_flushes_on_exit(root: Path, bus: MessageBus) -> None:
    with CatalogWriter(root, bus) as writer:
        bus.publish(QUOTES, make_quote(MIDNIGHT))
    assert writer.rows_written() == RowCounts(quotes=1)
    assert Catalog(root).summary() == RowCounts(quotes=1)


def test_flush_rows_must_be_positive(root: Path, bus: MessageBus) -> None:
    with pytest.raises(ConfigError, match="flush_rows"):
        CatalogWriter(root, bus, flush_rows=0)


def test_failed_write_keeps_rows_and_leaves_no_temp_file(
    root: Path, bus: MessageBus, writer: CatalogWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(path: object, data: object) -> None:
        raise OSError(28, "No space left on device")

    bus.publish(TRADES, make_trade(MIDNIGHT, trade_id="kept"))
    with monkeypatch.context() as patch:
        patch.setattr(storage, "_write_synced", disk_full)
        with pytest.raises(DataSourceError, match="No space left on device"):
            writer.flush()
    assert parquet_files(root) == []
    assert writer.buffered_rows() == RowCounts(trades=1)
    assert writer.rows_written() == RowCounts()

    writer.flush()  # the disk is back: the kept rows are written
    assert Catalog(root).query("SELECT trade_id FROM trades").rows == (("kept",),)


def test_background_writes_store_what_inline_writes_store_off_the_bus_thread(
    shared_data: Path, tmp_path: Path
) -> None:
    threads: list[str] = []
    original = CatalogWriter.write_table

    def recording_thread(self: CatalogWriter, *args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    counts = {}
    for mode in ("inline", "background"):
        root = tmp_path / mode
        config = MarketDataConfig(
            venue="binance", catalog=root, write_in_background=mode == "background"
        )
        node = MarketDataNode(config)
        assert node.writer is not None
        node.writer._flush_rows = 2_000  # several files during the replay, not only at close
        CatalogWriter.write_table = recording_thread  # type: ignore[method-assign]
        try:
            node.replay(recording)
        finally:
            CatalogWriter.write_table = original  # type: ignore[method-assign]
        # Row by row (file order may differ: the writer thread commits as buffers fill).
        counts[mode] = (
            Catalog(root)
            .query("SELECT trade_id, ts_event, price, size, side FROM trades ORDER BY ALL")
            .rows
        )
        if mode == "inline":
            assert set(threads) == {"MainThread"}
        else:
            assert "catalog-writer" in set(threads[:-1])  # full buffers: the writer thread
        threads.clear()
    assert counts["inline"] == counts["background"]
    assert len(counts["inline"]) == len({row[0] for row in counts["inline"]}) > 9_000
