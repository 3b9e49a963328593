"""Bad trading configs are refused with the key named, never turned into results: negative
balances, limits, slippage or fees, an unknown venue or symbol in ``data:``, an inverted
range, a backtest over 0 candles (exit 2 from the command, no traceback)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tradefabric.core.errors import ConfigError
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import DataConfig, TradingConfig, load_config

BAD = [
    ("balances: {binance: {USDT: -5}}", "balances.binance.USDT: must be >= 0"),
    ("risk: {max_order_notional: -1}", "risk.max_order_notional: must be > 0"),
    ("risk: {daily_drawdown_pct: 0}", "risk.daily_drawdown_pct: must be in (0, 100]"),
    ("risk: {max_open_orders: 0}", "risk.max_open_orders: must be >= 1"),
    ("execution: {binance: {sim: {slippage_bps: -2}}}", "sim.slippage_bps"),
    ("execution: {binance: {sim: {fees: {taker_bps: -1}}}}", "fees.taker_bps"),
    ("execution: {binance: {sim: {max_participation: 0}}}", "sim.max_participation"),
    (
        "strategies: [{kind: ema_cross, id: e, venue: bybit}]",
        "strategies.e.venue: 'bybit' has no execution: entry",
    ),
    ("venues: {binance: {}}", "`venues:` was replaced by execution:"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_a_bad_value_is_refused_naming_its_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml") as error:
        load_config(path)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"venue": "binanse"}, "no candles for binanse BTC/USDT 1m"),
        ({"symbols": ("BTC/USDX",)}, "no candles for binance BTC/USDX 1m"),
        ({"start": "2030-01-01"}, "from 2030-01-01 to the end"),
    ],
)
def test_a_backtest_over_no_candles_is_an_error_saying_what_there_is(
    month_catalog: Path, tmp_path: Path, data: dict[str, object], message: str
) -> None:
    config = TradingConfig(data=DataConfig(catalog=month_catalog, **data))  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as error:
        BacktestRunner(config).run(tmp_path / "run")
    assert message in str(error.value)
    assert "it holds: binance BTC/USDT 1m 2024-07-26" in str(error.value)
    assert not (tmp_path / "run" / "reports").exists()  # never a daily-1970-01-01.html


def test_the_command_exits_2_on_an_inverted_range_without_a_traceback(
    month_catalog: Path, tmp_path: Path
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(f"data: {{catalog: {month_catalog}}}\n")
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "backtest", "-c", str(path), "--from",
         "2024-08-05", "--to", "2024-08-01", "--out", str(tmp_path / "run")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--from 2024-08-05 / --to 2024-08-01: the range is empty or inverted" in result.stderr
    assert "Traceback" not in result.stderr
