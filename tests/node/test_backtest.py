"""Backtests over the real month: bit-for-bit reproducible, same trades as the vectorized
path, and the CLI as a real process."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.conftest import report_figure
from tradefabric.core.errors import ConfigError
from tradefabric.execution.sim.exchange import SimExchangeConfig
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import (
    DataConfig,
    ExecutionConfig,
    ReportsConfig,
    TradingConfig,
    load_config,
)
from tradefabric.store.catalog import Catalog
from tradefabric.strategies.ema_cross import EmaCrossConfig
from tradefabric.strategies.vectorized import ema_cross_trades

pytestmark = pytest.mark.slow


def _config(catalog: Path, seed: int = 7, daily: bool | None = True) -> TradingConfig:
    return TradingConfig(
        reports=ReportsConfig(daily=daily),
        seed=seed,
        execution={"binance": ExecutionConfig(sim=SimExchangeConfig(slippage_bps=1.0))},
        data=DataConfig(catalog=catalog, symbols=("BTC/USDT", "ETH/USDT")),
        strategies=(
            EmaCrossConfig(id="ema_btc", symbol="BTC/USDT"),
            EmaCrossConfig(id="ema_eth", symbol="ETH/USDT", fast=20, slow=50),
        ),
    )


def _hashes(run_dir: Path) -> dict[str, str]:
    """Hash every file of the run folder, daily reports included."""
    return {
        str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run_dir.rglob("*"))
        if p.is_file()
    }


def test_real_month_is_reproducible_bit_for_bit(month_catalog: Path, tmp_path: Path) -> None:
    first = BacktestRunner(_config(month_catalog)).run(tmp_path / "a")
    BacktestRunner(_config(month_catalog)).run(tmp_path / "b")
    assert first.info.candles == 43_209 + 43_208  # BTC and ETH rows of the real month
    assert first.fills > 1000
    assert _hashes(tmp_path / "a") == _hashes(tmp_path / "b")
    assert {"orders.jsonl", "fills.jsonl", "positions.json", "equity.csv", "metrics.json",
            "chart.svg", "report.html", "run.json",
            "audit.jsonl"} <= set(_hashes(tmp_path / "a"))  # fmt: skip
    # With reports.daily, a report for every UTC day of the month, written at the end.
    reports = sorted((tmp_path / "a" / "reports").glob("daily-*.json"))
    assert len(reports) == 31 and reports[0].name == "daily-2024-07-26.json"
    run = msgspec.json.decode((tmp_path / "a" / "run.json").read_bytes())
    assert run["catalog_version"] == Catalog(month_catalog).version
    assert run["catalog_fingerprint"] == Catalog(month_catalog).fingerprint()
    m = first.metrics
    report_figure(
        f"backtest EMA cross BTC+ETH, real month: {first.fills} fills, return "
        f"{m.total_return:+.3%}, max DD {m.max_drawdown:.3%}, fees {m.fees:.0f} USDT, "
        f"{first.candles_per_second:,.0f} candles/s incl. catalog read"
    )


def test_kernel_trades_equal_the_vectorized_path(month_catalog: Path) -> None:
    cfg = msgspec.structs.replace(
        _config(month_catalog),
        data=DataConfig(catalog=month_catalog, symbols=("BTC/USDT",)),
        strategies=(EmaCrossConfig(id="ema_btc", symbol="BTC/USDT"),),
    )
    result = BacktestRunner(cfg).run(None)
    rows = (
        Catalog(month_catalog)
        .query(
            "SELECT ts_open, open, close FROM candles WHERE symbol = 'BTC/USDT' ORDER BY ts_open"
        )
        .rows
    )
    ts = np.array([r[0] for r in rows], dtype=np.int64)
    open_ = np.array([r[1] for r in rows], dtype=np.float64)
    close = np.array([r[2] for r in rows], dtype=np.float64)
    trades = ema_cross_trades(open_, close, (12, 26, 1000.0), "0.00001", 1.0)
    assert result.fills == len(trades) > 1000
    # Rebuild the kernel's fills from its run to compare each one.
    from tradefabric.node.backtest import BacktestRunner as Runner

    run_dir = Path(month_catalog).parent / "vec_check"
    Runner(cfg).run(run_dir)
    fills = [
        msgspec.json.decode(line) for line in (run_dir / "fills.jsonl").read_bytes().splitlines()
    ]
    got = [
        (f["ts_event"], 1 if f["side"] == "buy" else -1, f["price"], f["quantity"]) for f in fills
    ]
    want = [(int(ts[i]), int(s), float(p), float(q))
            for i, s, p, q in zip(trades.index, trades.side, trades.price, trades.quantity,
                                  strict=True)]  # fmt: skip
    assert got == want


def test_cli_backtest_as_a_process(month_catalog: Path, tmp_path: Path) -> None:
    config = tmp_path / "bt.yaml"
    text = (Path(__file__).parents[2] / "examples" / "backtest_ema_cross.yaml").read_text()
    config.write_text(text.replace("catalog: cat", f"catalog: {month_catalog}"))
    out = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "backtest", "-c", str(config), "--from",
         "2024-08-01", "--to", "2024-08-08", "--out", str(out), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    doc = msgspec.json.decode(result.stdout)
    assert doc["info"]["candles"] == 7 * 1440
    assert (out / "chart.svg").stat().st_size > 1000
    assert "Equity by UTC day" in (out / "report.html").read_text()
    assert not (out / "reports").exists()  # daily reports only when asked for


def test_a_rerun_into_the_same_folder_leaves_no_stale_reports(
    month_catalog: Path, tmp_path: Path
) -> None:
    with_daily = BacktestRunner(_config(month_catalog), end="2024-07-30").run(tmp_path)
    assert len(with_daily.reports) == 5
    without = BacktestRunner(_config(month_catalog, daily=None), end="2024-07-28").run(tmp_path)
    assert without.reports == []
    assert list((tmp_path / "reports").glob("daily-*")) == []
    assert (tmp_path / "report.html").is_file()


def test_unknown_config_key_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("strategies:\n  - kind: ema_cross\n    fastt: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(config)
    assert str(config) in str(info.value) and "fastt" in str(info.value)
    assert "strategies[0]" in str(info.value)
