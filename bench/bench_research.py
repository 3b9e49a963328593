"""Sweep throughput: trials/s serially and on a local Ray instance with 2 workers.

The same random sweep (EMA cross fast/slow on Binance BTC/USDT 1m, the real
month in ``../shared/data/candles_1m``, a 7-day window per trial) runs serially
and then on Ray with 2 workers in the same process; the bench checks that both
give the same trials and prints trials/s of each and their ratio. Ray's start-up
and one warm-up batch (workers importing the package) are not timed.

    .venv/bin/python bench/bench_research.py [--trials 100] [--days 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

from tradefabric.core.time import NS_PER_DAY, ns_to_iso, parse_utc
from tradefabric.node.kernel import TradingConfig
from tradefabric.research.objective import Constraints
from tradefabric.research.ray_executor import RayExecutor
from tradefabric.research.search import SearchConfig, Window, run_search
from tradefabric.research.space import ParamSpec, Sampler
from tradefabric.strategies.ema_cross import EmaCrossConfig

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("TRADEFABRIC_SHARED_DATA", ROOT.parent / "shared" / "data"))
MONTH = DATA / "candles_1m" / "binance_BTC_USDT-1m_2024-07-26_2024-08-25.feather"


def _catalog(root: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "tradefabric", "data", "import", str(MONTH),
         "--format", "freqtrade", "--venue", "binance", "--catalog", str(root)],
        check=True, capture_output=True,
    )  # fmt: skip
    return root


def main() -> None:
    """Run the bench and print trials/s serial, on Ray, and the ratio."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args()
    search = SearchConfig(
        params={"ema.fast": ParamSpec(low=3, high=40), "ema.slow": ParamSpec(low=41, high=200)},
        sampler=Sampler.RANDOM,
        trials=args.trials,
        seed=1,
        constraints=Constraints(min_trades=1),
    )
    config = TradingConfig(seed=1, strategies=(EmaCrossConfig(id="ema"),))
    with tempfile.TemporaryDirectory() as tmp:
        end = ns_to_iso(parse_utc("2024-07-27") + args.days * NS_PER_DAY)
        window = Window(_catalog(Path(tmp)), 1, "2024-07-27", end)
        started = time.perf_counter()
        serial = run_search(search, config, window)
        serial_s = time.perf_counter() - started
        with RayExecutor(workers=2) as ray_executor:
            warm = msgspec.structs.replace(search, trials=4)
            run_search(warm, config, window, ray_executor)
            started = time.perf_counter()
            parallel = run_search(search, config, window, ray_executor)
            ray_s = time.perf_counter() - started
    if msgspec.json.encode(parallel) != msgspec.json.encode(serial):
        sys.exit("Ray and serial sweeps differ")
    if not any(r.result is not None for r in serial):
        sys.exit(f"no trial ran: {serial[0].error}")
    serial_rate, ray_rate = len(serial) / serial_s, len(parallel) / ray_s
    print(f"{len(serial)} trials of {args.days} days of 1m candles ({os.cpu_count()} cores)")
    print(f"serial:        {serial_rate:7.2f} trials/s ({serial_s:.1f} s)")
    print(f"Ray 2 workers: {ray_rate:7.2f} trials/s ({ray_s:.1f} s)")
    print(f"ratio:         {ray_rate / serial_rate:7.2f}x (same trials: yes)")


if __name__ == "__main__":
    main()
