"""Concurrent writers keep natural-key uniqueness: real processes import one real file at once.

Each writer is a separate ``tradefabric data import`` process. They load Python
and the CLI first, then all wait for one start file, so their dedup reads and
commits overlap (without it the later ones would find the first one's commit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tradefabric.store.catalog import Catalog, as_int
from tradefabric.store.schema import RowCounts

BTC_1M = "candles_1m/binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
BTC_1M_ROWS = 43_209

# Waits for the start file, then runs the CLI with the given arguments in this process.
_WRITER = """
import os, sys, time
from pathlib import Path
import tradefabric.cli.data_commands  # the import command and all it loads, before the start
from tradefabric.cli import app
go = Path(sys.argv[1])
Path(f"{go}.ready-{os.getpid()}").touch()
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.001)
app(sys.argv[2:], prog_name="tradefabric")
"""


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _start_writers(go: Path, argv: list[str], count: int) -> list[subprocess.Popen[str]]:
    cmd = [sys.executable, "-c", _WRITER, str(go), *argv]
    return [
        subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]


def _wait_until_loaded(go: Path, procs: list[subprocess.Popen[str]]) -> None:
    """Wait until every writer has loaded the CLI and waits for the start file."""
    deadline = time.monotonic() + 60
    ready = [Path(f"{go}.ready-{p.pid}") for p in procs]
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        assert all(p.poll() is None for p in procs), "a writer exited before the start"
        time.sleep(0.01)
    assert all(r.exists() for r in ready), "writers did not load the CLI in 60 s"


def _distinct_and_total(root: Path) -> tuple[int, int]:
    """Count the candle keys of the newest version that are distinct, and all its candle rows."""
    result = Catalog(root).query(
        "SELECT count(DISTINCT (venue, symbol, interval, ts_open)), count(*) FROM candles"
    )
    distinct, total = result.rows[0]
    return as_int(distinct), as_int(total)


@pytest.mark.parametrize(("writers", "rounds"), [(2, 3), (4, 2)])
def test_parallel_imports_of_one_file_store_each_candle_once(
    shared_data: Path, tmp_path: Path, writers: int, rounds: int
) -> None:
    source = shared_data / BTC_1M
    for round_no in range(rounds):
        root = tmp_path / f"catalog-{round_no}"
        go = tmp_path / f"go-{round_no}"
        argv = ["data", "import", str(source), "--format", "freqtrade", "--venue", "binance"]
        procs = _start_writers(go, [*argv, "--catalog", str(root), "--json"], writers)
        _wait_until_loaded(go, procs)
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
        for proc, (_out, err) in zip(procs, outputs, strict=True):
            assert proc.returncode == 0, err
        reports = [json.loads(out) for out, _ in outputs]
        # Every row was added by exactly one writer; the others counted it as a duplicate.
        assert sum(r["rows_added"] for r in reports) == BTC_1M_ROWS
        assert all(r["rows_added"] + r["duplicates"] == BTC_1M_ROWS for r in reports)
        assert _distinct_and_total(root) == (BTC_1M_ROWS, BTC_1M_ROWS)
        assert Catalog(root).summary() == RowCounts(candles=BTC_1M_ROWS)
        # Files written by a writer that lost a race are deleted, not left unreferenced.
        on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*.parquet")}
        assert on_disk == set(Catalog(root).files())
