"""Daily reports: written at each UTC midnight by the kernel's clock during a run over real
candles, identical to the same reports made afterwards from the run folder."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from pyarrow import feather

from tests.conftest import report_figure
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_DAY, NS_PER_MINUTE, parse_utc
from tradefabric.data import topics
from tradefabric.execution.sim.exchange import SimExchangeConfig
from tradefabric.model.data import Candle
from tradefabric.node.kernel import ExecutionConfig, TradingConfig
from tradefabric.node.run import KernelRun, RunInfo, build_sim_venues
from tradefabric.ops.report import DailyReport, build_daily_report
from tradefabric.strategies.ema_cross import EmaCrossConfig

FIRST_DAY = "2024-08-01"
DAYS = 3


def _candles(shared_data: Path) -> list[Candle]:
    path = shared_data / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"
    table = feather.read_table(path)
    start = parse_utc(FIRST_DAY)
    ts = table.column("date").cast("int64").to_pylist()
    scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[table.schema.field("date").type.unit]
    cols = [table.column(c).to_pylist() for c in ("open", "high", "low", "close", "volume")]
    out = []
    for date, o, h, lo, c, v in zip(ts, *cols, strict=True):
        t = date * scale
        if start <= t < start + DAYS * NS_PER_DAY:
            end = t + NS_PER_MINUTE
            out.append(Candle("binance", "BTC/USDT", "1m", t, o, h, lo, c, v, 0, 0.0, c, end, end))
    return out


@pytest.fixture(scope="module")
def run_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report") / "run"
    config = TradingConfig(
        seed=1,
        execution={"binance": ExecutionConfig(sim=SimExchangeConfig(slippage_bps=1.0))},
        strategies=(EmaCrossConfig(id="ema", fast=12, slow=26, notional=1_000.0),),
    )
    clock = SimClock()
    bus = MessageBus()
    run = KernelRun(config, bus, clock, dict(build_sim_venues(config, bus, None)), root)
    candles = _candles(shared_data)
    for candle in candles:
        clock.advance_to(candle.ts_event)
        bus.publish(topics.CANDLES, candle)
    info = RunInfo(config=config, catalog_version=None, catalog_fingerprint=None,
                   recording=None, candles=len(candles), first_ts=candles[0].ts_event,
                   last_ts=candles[-1].ts_event)  # fmt: skip
    result = run.finish(info, 1.0)
    assert [p.day for p in result.reports] == ["2024-08-01", "2024-08-02", "2024-08-03",
                                                "2024-08-04"]  # fmt: skip
    return root


def _twin(run_dir: Path, day: str) -> DailyReport:
    return msgspec.json.decode(
        (run_dir / "reports" / f"daily-{day}.json").read_bytes(), type=DailyReport
    )


@pytest.mark.slow
def test_midnight_reports_add_up_to_the_run(run_dir: Path) -> None:
    fills = [msgspec.json.decode(x) for x in (run_dir / "fills.jsonl").read_bytes().splitlines()]
    metrics = msgspec.json.decode((run_dir / "metrics.json").read_bytes())
    days = [_twin(run_dir, f"2024-08-0{d}") for d in (1, 2, 3)]
    for report in days:
        start = parse_utc(report.day)
        inside = [f for f in fills if start <= f["ts_event"] < start + NS_PER_DAY]
        assert report.fills == len(inside) > 10
        assert report.fees == pytest.approx(sum(f["fee"] for f in inside))
        assert {r.key for r in report.orders_by_tag} == {"ema cross up", "ema cross down"}
    # Day PnLs chain: each day starts where the previous ended, and they sum to the run's.
    assert days[0].start_equity == metrics["initial_equity"]
    for before, after in itertools.pairwise(days):
        assert after.start_equity == before.end_equity
    total = sum(d.pnl for d in days) + _twin(run_dir, "2024-08-04").pnl
    assert total == pytest.approx(metrics["final_equity"] - metrics["initial_equity"])
    html = (run_dir / "reports" / "daily-2024-08-02.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert "http" not in html  # self-contained: no outside reference
    report_figure(
        "daily reports over 3 real days of BTC/USDT 1m (EMA 12/26): fills per day "
        + ", ".join(f"{d.day} {d.fills} (PnL {d.pnl:+.2f})" for d in days)
    )


@pytest.mark.slow
def test_report_on_demand_equals_the_scheduled_one(run_dir: Path) -> None:
    scheduled = {p.name: p.read_bytes() for p in (run_dir / "reports").iterdir()}
    for path in (run_dir / "reports").iterdir():
        path.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "report", "daily", "--run", str(run_dir),
         "--day", "2024-08-02"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (run_dir / "reports" / "daily-2024-08-02.json").read_bytes() == scheduled[
        "daily-2024-08-02.json"
    ]
    assert (run_dir / "reports" / "daily-2024-08-02.html").read_bytes() == scheduled[
        "daily-2024-08-02.html"
    ]


def test_report_on_a_missing_folder_is_one_error_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "report", "daily", "--run", str(tmp_path / "x")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "no such run folder" in result.stderr
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        build_daily_report(tmp_path, "yesterday")


@pytest.mark.slow
def test_a_report_for_a_day_outside_the_run_is_an_error(run_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "report", "daily", "--run", str(run_dir),
         "--day", "2030-01-01"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--day 2030-01-01: outside the run" in result.stderr
    assert "its days: 2024-08-01 .. 2024-08-04" in result.stderr
    assert not (run_dir / "reports" / "daily-2030-01-01.html").exists()
