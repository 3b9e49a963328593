"""Temp files of a writer killed mid-write are removed by the next write, live ones are kept.

The kill is real: a writer process is frozen (SIGSTOP) while one of its temp files
exists, then killed with SIGKILL, so the file it was writing stays behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.schema import RowCounts

from .test_versions_and_dedupe import trades

# Writes ever new 300,000-trade tables into the catalog until killed.
_WRITER = """
import sys
import pyarrow as pa
from tradefabric.store.catalog_writer import CatalogWriter
writer = CatalogWriter(sys.argv[1])
n, chunk = 0, 300_000
while True:
    ids = range(n, n + chunk)
    table = pa.table({
        "venue": ["binance"] * chunk, "symbol": ["BTC/USDT"] * chunk,
        "ts_event": [1_723_161_600_000_000_000 + i for i in ids],
        "price": [60_000.0 + i % 1000 for i in ids], "size": [0.5] * chunk,
        "side": ["buy"] * chunk, "trade_id": [str(i) for i in ids],
    })
    writer.write_table("trades", table, "killed")
    n += chunk
"""


def _temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp") if p.is_file()]


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_the_next_write_removes_temp_files_of_dead_writers_only(tmp_path: Path) -> None:
    writer = CatalogWriter(tmp_path)
    writer.write_table("trades", trades(range(10)), "first")
    day = next(p.parent for p in tmp_path.rglob("*.parquet"))
    host = socket.gethostname().replace(".", "_")
    dead = day / f".part-1.parquet.{host}.{_dead_pid()}.ab12cd34.tmp"
    live = day / f".part-2.parquet.{host}.{os.getpid()}.ab12cd34.tmp"
    old_unnamed = tmp_path / "_manifest" / ".000000000009.json.tmp"  # older naming, no pid
    fresh_unnamed = day / ".part-3.parquet.tmp"
    for path in (dead, live, old_unnamed, fresh_unnamed):
        path.write_bytes(b"half a parquet file")
    two_hours_ago = time.time() - 7200
    os.utime(old_unnamed, (two_hours_ago, two_hours_ago))

    CatalogWriter(tmp_path).write_table("trades", trades(range(10, 20)), "second")
    assert sorted(_temp_files(tmp_path)) == sorted([live, fresh_unnamed])
    assert Catalog(tmp_path).summary() == RowCounts(trades=20)


def test_kill_9_mid_write_leaves_a_temp_file_that_the_next_write_removes(tmp_path: Path) -> None:
    root = tmp_path / "catalog"
    stale: list[Path] = []
    for _attempt in range(20):
        victim = subprocess.Popen([sys.executable, "-c", _WRITER, str(root)], env=_env())
        deadline = time.monotonic() + 60
        while victim.poll() is None and time.monotonic() < deadline and not _temp_files(root):
            time.sleep(0.001)
        os.kill(victim.pid, signal.SIGSTOP)  # frozen: the temp file it writes stays as it is
        stale = _temp_files(root)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        if stale:
            break
    assert stale, "no writer was caught with a temp file open in 20 tries"
    assert all(p.exists() for p in stale)

    committed = Catalog(root).summary().trades
    table = pa.table(
        {
            "venue": ["binance"], "symbol": ["BTC/USDT"], "ts_event": [1_723_161_600_000_000_000],
            "price": [1.0], "size": [1.0], "side": ["buy"], "trade_id": ["after-kill"],
        }
    )  # fmt: skip
    CatalogWriter(root).write_table("trades", table, "next")
    assert _temp_files(root) == []
    assert Catalog(root).summary() == RowCounts(trades=committed + 1)
