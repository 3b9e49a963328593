"""A batch job for bench_batch_priority.py: backtests the paper example's recording (the
bundled Binance BTC/USDT trades) again and again until ``args.seconds`` have passed."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from tradefabric.core.worker import JobRequest
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import load_config

ROOT = Path(__file__).resolve().parents[1]
RECORDING = ROOT / "src/tradefabric/demo_data/spot_btcusdt_20240808.gz"


def backtest_loop(request: JobRequest) -> dict[str, float]:
    """Run backtests until the deadline; return how many ran."""
    config = load_config(ROOT / "examples" / "paper_ema_cross.yaml")
    config = msgspec.structs.replace(
        config, data=msgspec.structs.replace(config.data, recording=RECORDING)
    )
    deadline = time.monotonic() + float(request.args["seconds"])
    runs = 0
    while time.monotonic() < deadline:
        BacktestRunner(config).run(None)
        runs += 1
    return {"backtests": runs}
