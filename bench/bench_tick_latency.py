"""Tick latency on loopback: venue send -> websockets -> Binance parser -> bus subscriber.

Run from the repository root:

    .venv/bin/python bench/bench_tick_latency.py [--seconds 3] [--json]

A sender process (the venue side: an aiohttp WebSocket server, as the fake venue
uses) sends Binance USD-M ``@trade`` frames at a paced offered rate, stamping
``time.time_ns()`` right before each send into an array indexed by trade id.
A receiver process (its own event loop) takes them through tradefabric's
``VenueConnection`` (the real websockets client) -> ``BinanceStreamParser.on_frame``
-> a ``MessageBus`` subscriber on ``TRADES`` that stamps ``time.time_ns()`` at
publish. Latency = publish time - send time (both processes read the same
CLOCK_REALTIME). The floor, measured in the same run with the same sender,
frames and pacing: a bare websockets client (same connect options) stamping
each ``recv()``; and, for information, that bare client with permessage-deflate
off (``nodefl``), since VenueConnection offers it and aiohttp accepts it.
Each level sends a warm-up (excluded) and then ``--seconds`` of frames.
Verdict: feed p99 at 10k msgs/s <= 3x the floor's p99 in the same run (exit 1 with
--strict); the absolute target p99 < 1 ms is printed as a target, not a verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import platform
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

import msgspec
import numpy as np

RATES = (1_000, 10_000, 50_000)
TARGET_RATE = 10_000
TARGET_P99_US = 1_000.0
MAX_P99_OVER_FLOOR = 3.0
"""The verdict: the feed's p99 at TARGET_RATE at most this many times the floor's."""
WARMUP_S = 0.5
FIRST_ID = 5_000_000_000
STREAM = "btcusdt@trade"
SPIN_BELOW_NS = 1_500_000


# ---------------------------------------------------------------------------- frames


def make_frames(count: int) -> list[str]:
    """Return ``count`` USD-M trade frames with consecutive ids from ``FIRST_ID``."""
    frames = []
    for k in range(count):
        ms = 1_723_161_255_342 + k // 10
        data = {
            "e": "trade", "E": ms + 1, "T": ms, "s": "BTCUSDT", "t": FIRST_ID + k,
            "p": f"{61837.6 + (k % 50) * 0.1:.2f}", "q": "0.002", "X": "MARKET", "m": k % 2 == 0,
        }  # fmt: skip
        frames.append(msgspec.json.encode({"stream": STREAM, "data": data}).decode())
    return frames


# ---------------------------------------------------------------------------- sender


def sender_main(port_out: Connection, jobs: Connection) -> None:
    """Serve one client per job (rate, count) on a fresh connection; return send times."""
    asyncio.run(_serve(port_out, jobs))


async def _serve(port_out: Connection, jobs: Connection) -> None:
    from aiohttp import web

    state: dict[str, Any] = {}

    async def on_ws(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        rate, count = state["job"]
        sent = await _paced_send(ws, state["frames"], rate, count)
        jobs.send_bytes(sent.tobytes())
        async for _ in ws:  # until the receiver closes
            pass
        return ws

    app = web.Application()
    app.add_routes([web.get("/stream", on_ws)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
    loop = asyncio.get_running_loop()
    while True:
        job = await loop.run_in_executor(None, jobs.recv)
        if job is None:
            break
        state["job"] = job
        if len(state.get("frames", ())) < job[1]:
            state["frames"] = make_frames(job[1])
        jobs.send("ready")
    await runner.cleanup()


async def _paced_send(ws: Any, frames: list[str], rate: int, count: int) -> np.ndarray:
    sent = np.zeros(count, dtype=np.int64)
    interval_ns = 1e9 / rate
    now_ns = time.perf_counter_ns
    start = now_ns()
    for k in range(count):
        due = start + int(k * interval_ns)
        gap = due - now_ns()
        if gap > SPIN_BELOW_NS:
            await asyncio.sleep((gap - 1_000_000) / 1e9)
        while now_ns() < due:
            pass
        sent[k] = time.time_ns()
        await ws.send_str(frames[k])
    return sent


# ---------------------------------------------------------------------------- receivers


def receiver_main(mode: str, url: str, count: int, out: Connection) -> None:
    """Receive ``count`` frames in ``mode`` (feed | floor | nodefl); send back (ids, times)."""
    if mode == "feed":
        ids, times = asyncio.run(_receive_feed(url, count))
    else:
        ids, times = asyncio.run(_receive_floor(url, count, deflate=mode == "floor"))
    out.send_bytes(np.asarray(ids, dtype=np.int64).tobytes())
    out.send_bytes(np.asarray(times, dtype=np.int64).tobytes())


async def _receive_floor(url: str, count: int, *, deflate: bool) -> tuple[list[int], list[int]]:
    from websockets.asyncio.client import connect

    times: list[int] = []
    stamp = times.append
    clock = time.time_ns
    # The same options VenueConnection uses (websockets' defaults, so permessage-deflate is
    # offered and the aiohttp sender accepts it); "nodefl" turns compression off.
    compression = "deflate" if deflate else None
    async with connect(url, max_size=None, open_timeout=10, compression=compression) as ws:
        recv = ws.recv
        for _ in range(count):
            await recv(decode=False)
            stamp(clock())
    return list(range(FIRST_ID, FIRST_ID + len(times))), times


async def _receive_feed(url: str, count: int) -> tuple[list[int], list[int]]:
    from tradefabric.core.bus import MessageBus
    from tradefabric.core.clock import LiveClock
    from tradefabric.data import topics
    from tradefabric.data.feed.connection import VenueConnection
    from tradefabric.model.data import Trade
    from tradefabric.venues.binance.markets import market
    from tradefabric.venues.binance.parser import BinanceStreamParser

    bus = MessageBus()
    parser = BinanceStreamParser(bus, market("binance-usdm"))
    ids: list[str] = []
    times: list[int] = []
    stop = asyncio.Event()
    clock = time.time_ns

    def on_trade(trade: Trade) -> None:
        times.append(clock())
        ids.append(trade.trade_id)
        if len(times) == count:
            stop.set()

    bus.subscribe(topics.TRADES, on_trade)
    conn = VenueConnection("bench", lambda: url, parser, LiveClock(), silence_timeout_s=60.0)
    await conn.run(stop)
    return [int(i) for i in ids], times


# ---------------------------------------------------------------------------- orchestration


class Level(msgspec.Struct):
    """One offered rate through one receiver."""

    mode: str
    offered: int
    sent: int
    received: int
    send_rate: float
    recv_rate: float
    p50_us: float
    p99_us: float
    p999_us: float
    max_us: float


def run_level(
    ctx: Any, jobs: Connection, port: int, mode: str, rate: int, *, seconds: float
) -> Level:
    """Send ``rate`` msgs/s for warm-up + ``seconds`` to a fresh receiver; measure latency."""
    warmup = int(rate * WARMUP_S)
    count = warmup + int(rate * seconds)
    jobs.send((rate, count))
    assert jobs.recv() == "ready"
    parent, child = ctx.Pipe()
    url = f"ws://127.0.0.1:{port}/stream"
    proc = ctx.Process(target=receiver_main, args=(mode, url, count, child))
    proc.start()
    sent = np.frombuffer(jobs.recv_bytes(), dtype=np.int64)
    if not parent.poll(30 + 5 * seconds):
        proc.kill()
        raise SystemExit(f"{mode} at {rate}/s: the receiver did not finish")
    ids = np.frombuffer(parent.recv_bytes(), dtype=np.int64)
    recv = np.frombuffer(parent.recv_bytes(), dtype=np.int64)
    proc.join()
    index = ids - FIRST_ID
    if len(ids) != count or not np.array_equal(index, np.arange(count)):
        raise SystemExit(f"{mode} at {rate}/s: got {len(ids)} of {count} ids, or out of order")
    lat_us = (recv[warmup:] - sent[warmup:]) / 1e3
    p50, p99, p999 = np.percentile(lat_us, [50, 99, 99.9])
    span = (sent[-1] - sent[warmup]) / 1e9
    recv_span = (recv[-1] - recv[warmup]) / 1e9
    measured = count - warmup
    return Level(
        mode, rate, measured, measured, float(measured / span), float(measured / recv_span),
        float(p50), float(p99), float(p999), float(lat_us.max()),
    )  # fmt: skip


def cpu_name() -> str:
    """Return the CPU model from /proc/cpuinfo (or platform's guess)."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(levels: list[Level]) -> None:
    """Print one row per (mode, rate)."""
    print(
        f"{'path':<6} {'offered/s':>9} {'sent/s':>9} {'recv/s':>9} {'p50 us':>8} "
        f"{'p99 us':>8} {'p99.9 us':>9} {'max us':>9}"
    )
    for lv in levels:
        print(
            f"{lv.mode:<6} {lv.offered:>9,} {lv.send_rate:>9,.0f} {lv.recv_rate:>9,.0f} "
            f"{lv.p50_us:>8.1f} {lv.p99_us:>8.1f} {lv.p999_us:>9.1f} {lv.max_us:>9.1f}"
        )


def main() -> int:
    """Run every rate through the floor and the feed; print the table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per level")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    port_in, port_out = ctx.Pipe()
    jobs, jobs_child = ctx.Pipe()
    sender = ctx.Process(target=sender_main, args=(port_out, jobs_child), daemon=True)
    sender.start()
    port = port_in.recv()
    levels = [
        run_level(ctx, jobs, port, mode, rate, seconds=args.seconds)
        for rate in RATES
        for mode in ("nodefl", "floor", "feed")
    ]
    jobs.send(None)
    sender.join(timeout=5)
    target = next(lv for lv in levels if lv.mode == "feed" and lv.offered == TARGET_RATE)
    floor = next(lv for lv in levels if lv.mode == "floor" and lv.offered == TARGET_RATE)
    # The verdict is a ratio to the floor measured in this run (same sender, same machine
    # load); the absolute 1 ms target is printed as a target, never as a PASS.
    ratio = target.p99_us / floor.p99_us if floor.p99_us > 0 else float("inf")
    passed = ratio <= MAX_P99_OVER_FLOOR
    verdict = "PASS" if passed else "FAIL"
    absolute = "met" if target.p99_us < TARGET_P99_US else "not met"
    env = {"python": f"{platform.python_implementation()} {sys.version.split()[0]}"}
    env |= {"executable": sys.executable, "cpu": cpu_name(), "cpus": mp.cpu_count()}
    if args.json:
        report = {
            "env": env,
            "levels": msgspec.to_builtins(levels),
            "p99_over_floor": ratio,
            "verdict": verdict,
            "absolute_target_met": target.p99_us < TARGET_P99_US,
        }
        print(json.dumps(report, indent=2))
    else:
        print(f"interpreter: {env['python']} ({env['executable']})")
        print(f"cpu: {env['cpu']} x{env['cpus']}")
        print_table(levels)
        print(
            f"{verdict}: feed p99 at {TARGET_RATE:,} msgs/s = {target.p99_us:.1f} us = "
            f"{ratio:.2f}x the floor's {floor.p99_us:.1f} us (verdict: <= {MAX_P99_OVER_FLOOR:g}x)"
        )
        print(f"target (absolute, not a verdict): p99 < {TARGET_P99_US:.0f} us: {absolute}")
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
