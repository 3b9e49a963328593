"""Paper trading against the local fake venue (real sockets, accelerated) gives exactly the
orders and fills of a backtest of the same recording."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import msgspec
import pytest

from tests.conftest import REPO_ROOT, report_figure
from tradefabric.demo.fake_venue import paper_on_fake_venue
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import DataConfig, TradingConfig, load_config

pytestmark = pytest.mark.slow

EXAMPLE = REPO_ROOT / "examples" / "paper_ema_cross.yaml"

# Stamped with the kernel's clock: wall time in paper, simulated time in a backtest.
# An engine-made transition (submitted, cancel pending, rejected before the venue) has
# no venue time, so its ts_event is the kernel's clock too.
WALL_CLOCK_FIELDS = {
    "orders.jsonl": ("ts_init", "ts_last"),
    "order_events.jsonl": ("ts_init",),
    "fills.jsonl": (),
}
ENGINE_STATUSES = {"submitted", "cancel_pending"}


def _config(shared_data: Path) -> TradingConfig:
    config = load_config(EXAMPLE)
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    return msgspec.structs.replace(
        config, data=msgspec.structs.replace(config.data, recording=recording)
    )


def _records(run_dir: Path, name: str) -> list[dict[str, object]]:
    out = []
    for line in (run_dir / name).read_bytes().splitlines():
        record = msgspec.json.decode(line)
        for key in WALL_CLOCK_FIELDS[name]:
            record.pop(key)
        if name == "order_events.jsonl" and record["status"] in ENGINE_STATUSES:
            record.pop("ts_event")
        out.append(record)
    return out


def test_paper_on_the_fake_venue_equals_the_backtest(shared_data: Path, tmp_path: Path) -> None:
    config = _config(shared_data)
    assert config.data.recording is not None
    started = time.perf_counter()
    paper = asyncio.run(paper_on_fake_venue(config, config.data.recording, tmp_path / "paper"))
    paper_s = time.perf_counter() - started
    backtest = BacktestRunner(config).run(tmp_path / "backtest")
    assert paper.info.candles == backtest.info.candles > 300
    assert paper.fills == backtest.fills >= 10
    assert paper.orders == backtest.orders
    for name in WALL_CLOCK_FIELDS:
        got, want = _records(tmp_path / "paper", name), _records(tmp_path / "backtest", name)
        assert got == want, name
    fills = _records(tmp_path / "paper", "fills.jsonl")
    assert {f["side"] for f in fills} == {"buy", "sell"}
    # Equity is sampled on the market's time in both: the same curve, the same Sharpe.
    assert (tmp_path / "paper" / "equity.csv").read_bytes() == (
        tmp_path / "backtest" / "equity.csv"
    ).read_bytes()
    assert paper.metrics == backtest.metrics
    assert paper.metrics.sharpe != 0.0
    # Both runs wrote the day's report from the same orders and fills.
    assert (tmp_path / "paper" / "reports" / "daily-2024-08-08.html").exists()
    report_figure(
        f"paper parity: fake venue (speed 0, real sockets) vs backtest of spot BTC/USDT: "
        f"{paper.orders} orders, {paper.fills} fills, {paper.info.candles} candles identical; "
        f"paper run {paper_s:.1f} s for 6 minutes of data"
    )


def test_backtest_without_a_data_source_fails(tmp_path: Path) -> None:
    config = TradingConfig(data=DataConfig())
    with pytest.raises(Exception, match="catalog"):
        BacktestRunner(config).run(tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_paper_as_a_process(shared_data: Path, tmp_path: Path) -> None:
    port = _free_port()
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    server = subprocess.Popen(
        [sys.executable, "-m", "tradefabric", "venue", "serve", "--venue", "binance",
         "--replay", str(recording), "--port", str(port), "--speed", "0", "--exit-when-done"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        config = tmp_path / "paper.yaml"
        config.write_text(EXAMPLE.read_text().replace("8765", str(port)))
        out = tmp_path / "run"
        paper = subprocess.Popen(
            [sys.executable, "-m", "tradefabric", "paper", "-c", str(config), "--out", str(out),
             "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        status = _StatusLines(paper)
        # Stop it once the venue has sent everything and the node's trade count stands still
        # (a condition, not a fixed duration: the machine may be slow).
        server.wait(timeout=120)
        status.wait_until_still(timeout_s=60)
        paper.send_signal(signal.SIGINT)
        stdout, _ = paper.communicate(timeout=60)
        result = subprocess.CompletedProcess(paper.args, paper.returncode, stdout, status.text())
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.returncode == 0, result.stderr
    doc = msgspec.json.decode(result.stdout)
    backtest = BacktestRunner(_config(shared_data)).run(None)
    assert doc["fills"] == backtest.fills
    assert (out / "fills.jsonl").read_bytes().count(b"\n") == backtest.fills
    report = subprocess.run(
        [sys.executable, "-m", "tradefabric", "report", "daily", "--run", str(out), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr
    days = {p["day"]: p for p in msgspec.json.decode(report.stdout)}
    # Fills are on the recording's day; equity samples on today's (wall clock).
    assert "2024-08-08" in days
    twin = msgspec.json.decode(Path(days["2024-08-08"]["json"]).read_bytes())
    assert twin["fills"] == backtest.fills


class _StatusLines:
    """Read a paper process's status lines (stderr) in a thread; tell when trades stop moving."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._chunks: list[str] = []
        assert process.stderr is not None
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for chunk in iter(lambda: stream.read(256), ""):
            self._chunks.append(chunk)

    def text(self) -> str:
        return "".join(self._chunks)

    def trades(self) -> int:
        counts = re.findall(r"paper: ([\d,]+) trades", self.text())
        return int(counts[-1].replace(",", "")) if counts else -1

    def wait_until_still(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last, still = -1, 0
        while time.monotonic() < deadline and still < 3:
            time.sleep(0.5)  # status lines come once a second
            now = self.trades()
            still = still + 1 if now == last and now > 0 else 0
            last = now
        assert still >= 3, f"paper trade count never settled: {self.text()[-2000:]}"
