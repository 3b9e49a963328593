"""Client order ids: unique across processes sharing a store, and across restarts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.execution.helpers import Harness
from tests.state.conftest import StoreFactory
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import OrderRequest, OrderSide
from tradefabric.state.ids import ClientIdAllocator, base36

_ALLOCATE = """
import sys
from tradefabric.state.config import open_store_at
from tradefabric.state.ids import ClientIdAllocator
store = open_store_at(sys.argv[1], create=True)
allocate = ClientIdAllocator(store, block=7)
print("ready", flush=True)
sys.stdin.readline()  # both processes start allocating together
for _ in range(300):
    print(allocate("ema"))
store.close()
"""


def test_two_processes_in_parallel_never_get_the_same_id(store_location: str) -> None:
    env_path = str(Path(__file__).resolve().parents[2] / "src")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ALLOCATE, store_location],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=120)[0].split() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    ids = outputs[0] + outputs[1]
    assert len(ids) == 600 and len(set(ids)) == 600
    counters = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    assert counters[0] == 1 and counters[-1] <= 600 + 2 * 7  # at most one unused block each


def test_a_restart_continues_after_the_last_block(store_factory: StoreFactory) -> None:
    first = ClientIdAllocator(store_factory(), block=10, now_s=1_764_000_000)
    assert [first("ema") for _ in range(3)] == [
        f"ema-{base36(1_764_000_000)}-{n}" for n in (1, 2, 3)
    ]
    # The process dies with 7 values of its block unused: they are skipped, never reused.
    restarted = ClientIdAllocator(store_factory(), block=10, now_s=1_764_000_100)
    assert restarted("ema") == f"ema-{base36(1_764_000_100)}-11"
    assert restarted("rsi") == f"rsi-{base36(1_764_000_100)}-12"


def test_base36_is_short_and_exact() -> None:
    assert base36(0) == "0" and base36(35) == "z" and base36(36) == "10"
    assert len(base36(4_102_444_800)) == 7  # year 2100: the prefix stays 7 characters


def test_the_execution_engine_takes_ids_from_the_allocator(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    harness = Harness(tmp_path)
    allocator = ClientIdAllocator(store_factory(), now_s=36)
    harness.kernel.execution.set_id_source(allocator)
    request = OrderRequest(
        strategy_id="ema", venue="binance", symbol="BTC/USDT", side=OrderSide.BUY, quantity=0.01
    )
    harness.kernel.execution.update_price(InstrumentId("binance", "BTC/USDT"), 60_000.0)
    ids = [harness.kernel.execution.submit(request).client_order_id for _ in range(2)]
    assert ids == ["ema-10-1", "ema-10-2"]
