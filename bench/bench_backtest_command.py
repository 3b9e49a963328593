"""The whole backtest command against its own kernel, on the real month of 1m candles.

Prints, measured in the same run on the same catalog (BTC/USDT + ETH/USDT, EMA cross):

- kernel: the replay loop alone (bus, strategies, risk, simulated fills), candles/s;
- run: everything ``tradefabric backtest`` does in process (catalog read, node build,
  kernel, run folder, run report and chart), candles/s and as a ratio of the kernel;
- command: the ``tradefabric backtest`` process end to end (interpreter start and
  imports included), wall seconds, and the same with ``reports.daily: true``.

Verdict: run/kernel >= 0.5 (the target of the TradingNode issue). The process figure is
printed next to a bare ``python -c "import tradefabric.cli"`` start in the same run, the
fixed cost no backtest can go below.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import yaml

from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import TradingConfig, load_config

REPO = Path(__file__).resolve().parents[1]
TARGET = 0.5


def _config(catalog: Path, out: Path, daily: bool) -> Path:
    config = {
        "seed": 7,
        "data": {"catalog": str(catalog), "symbols": ["BTC/USDT", "ETH/USDT"], "interval": "1m"},
        "execution": {"binance": {"sim": {"slippage_bps": 1.0}}},
        "strategies": [
            {"kind": "ema_cross", "id": "ema_btc", "symbol": "BTC/USDT"},
            {"kind": "ema_cross", "id": "ema_eth", "symbol": "ETH/USDT", "fast": 20, "slow": 50},
        ],
        "reports": {"daily": daily},
        "output_dir": str(out),
    }
    path = out / f"bench-{'daily' if daily else 'run'}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _best(runs: int, fn: object) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _process(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    """Run the four measurements and print them with the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--runs", type=int, default=3, help="best of N for each figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        catalog = root / "cat"
        subprocess.run(
            [sys.executable, "-m", "tradefabric", "data", "import", str(args.data / "candles_1m"),
             "--format", "freqtrade", "--venue", "binance", "--catalog", str(catalog)],
            check=True, capture_output=True,
        )  # fmt: skip
        path = _config(catalog, root, daily=False)
        cfg: TradingConfig = load_config(path)
        kernel = BacktestRunner(cfg).run(None)
        kernel_rate = max(
            BacktestRunner(cfg).run(None).candles_per_second for _ in range(args.runs)
        )
        run_s = _best(args.runs, lambda: BacktestRunner(cfg).run(root / "run"))
        run_rate = kernel.info.candles / run_s
        cli = [sys.executable, "-m", "tradefabric", "backtest", "-c"]
        command_s = min(_process([*cli, str(path)]) for _ in range(args.runs))
        daily_s = _process([*cli, str(_config(catalog, root, daily=True))])
        start_s = min(
            _process([sys.executable, "-c", "import tradefabric.cli"]) for _ in range(args.runs)
        )
    ratio = run_rate / kernel_rate
    print(f"month of 1m candles, BTC/USDT + ETH/USDT: {kernel.info.candles:,} candles")
    print(f"  kernel (replay loop)              {kernel_rate:>12,.0f} candles/s")
    print(f"  run in process (folder + report)  {run_rate:>12,.0f} candles/s = {ratio:.2f}x kernel")
    print(f"  command process                   {command_s:>12.2f} s "
          f"(interpreter + imports alone: {start_s:.2f} s)")  # fmt: skip
    print(f"  command with reports.daily: true  {daily_s:>12.2f} s")
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    print(f"{verdict}: run/kernel = {ratio:.2f} (target >= {TARGET})")
    print(msgspec.json.encode({"kernel": kernel_rate, "run": run_rate, "ratio": ratio}).decode())
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
