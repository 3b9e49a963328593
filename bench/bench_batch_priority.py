"""Tick-to-order p99 with batch work beside it: idle vs a backtest in the scheduler's worker.

Run from the repository root:

    .venv/bin/python bench/bench_batch_priority.py [--rounds 3] [--seconds 3] [--workers 1]
                                                  [--json] [--strict]

Each round runs ``bench_tick_to_order.py`` (fake Binance venue on loopback, trade frame
received -> order bytes written through parser, bus, strategy, risk and the native
client) three times: idle; while ``--workers`` backtests of the bundled recording run in
``python -m tradefabric.core.worker`` processes at the scheduler's default niceness (10),
exactly as a scheduled job runs; and while the same backtests run at niceness 0 (what an
unniced batch process would cost). The rounds alternate, so all three see the same
machine; the medians of the full path's p99 are compared. Target (issue 13): p99 with the
niced backtest <= 2x idle (exit 1 with ``--strict`` when missed).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from tradefabric.core.worker import JobRequest

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 2.0


def _tick_to_order(seconds: float) -> float:
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_tick_to_order.py"), "--json",
         "--seconds", str(seconds)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    # The venue process's log lines may come first on stdout; the report is the JSON object.
    report = json.loads(out.stdout[out.stdout.index("{\n") :])
    return float(report["full"]["p99_us"])


def _start_load(
    workers: int, nice: int, seconds: float, tmp: Path
) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "bench"), *sys.path])}
    children = []
    for k in range(workers):
        request = JobRequest(name=f"load{k}", target="batch_load:backtest_loop",
                             args={"seconds": seconds}, due_ns=0, nice=nice)  # fmt: skip
        path = tmp / f"load{k}-{nice}.json"
        path.write_bytes(msgspec.json.encode(request))
        children.append(subprocess.Popen(
            [sys.executable, "-m", "tradefabric.core.worker", str(path), str(path) + ".out"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
    return children


def _loaded(workers: int, nice: int, seconds: float, tmp: Path) -> float:
    # The load runs longer than the measurement (start-up, warm-up ticks) and is ended after.
    children = _start_load(workers, nice, seconds + 30, tmp)
    try:
        return _tick_to_order(seconds)
    finally:
        for child in children:
            child.terminate()
            child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=1, help="backtests beside the node")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    runs: dict[str, list[float]] = {"idle": [], "niced": [], "unniced": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            runs["idle"].append(_tick_to_order(args.seconds))
            runs["niced"].append(_loaded(args.workers, 10, args.seconds, Path(tmp)))
            runs["unniced"].append(_loaded(args.workers, 0, args.seconds, Path(tmp)))
    p99 = {name: statistics.median(values) for name, values in runs.items()}
    ratio = p99["niced"] / p99["idle"]
    report: dict[str, Any] = {
        "cpus": os.cpu_count(), "workers": args.workers, "p99_us_runs": runs,
        "p99_us_median": p99, "niced_over_idle": ratio,
        "unniced_over_idle": p99["unniced"] / p99["idle"], "target": TARGET_RATIO,
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"tick-to-order p99 (median of {args.rounds} rounds, {args.workers} backtest "
              f"worker(s), {os.cpu_count()} CPUs)")  # fmt: skip
        for name, value in p99.items():
            print(f"  {name:8s} {value:8.1f} us   runs {', '.join(f'{v:.0f}' for v in runs[name])}")
        print(
            f"  niced backtest / idle: {ratio:.2f} (target <= {TARGET_RATIO:g}); "
            f"unniced / idle: {report['unniced_over_idle']:.2f}"
        )
    return 1 if args.strict and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
