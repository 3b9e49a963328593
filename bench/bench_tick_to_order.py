"""Tick-to-order latency on loopback: trade frame received -> order bytes written.

Run from the repository root:

    .venv/bin/python bench/bench_tick_to_order.py [--rate 1000] [--seconds 3] [--json]

A venue process serves the fake Binance spot venue with its private API
(``BinancePrivateScript``): the public stream sends ``btcusdt@trade`` frames at
``--rate`` per second, the WebSocket API takes orders into the ledger. The
client process (its own event loop) receives each frame on a public WebSocket
and alternates two paths, on the same WebSocket API socket, stamping
``time.perf_counter_ns()`` when ``ws.receive()`` returns and again when the
order's ``send_str`` has written its bytes:

- ``full``: tradefabric's ``BinanceStreamParser`` -> ``MessageBus`` -> a strategy
  reacting to every trade (a limit buy) -> ``RiskEngine.check`` (audit line
  written) -> ``BinanceSpotClient.submit`` (rounding, printing from integers,
  the WebSocket API request; logged on with an Ed25519 key, so no per-order
  signature, as the low-latency path runs).
- ``bare`` (the floor): a pre-built, pre-signed ``order.place`` text sent as is.

Both paths get every other tick of the same run, so they see the same load (the
venue's answers and user stream events arrive on that socket too). Targets: full
p99 < 1 ms and <= 3x the bare p99 (exit 1 with ``--strict`` when missed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import json
import multiprocessing as mp
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import numpy as np

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import TradefabricError
from tradefabric.data import topics
from tradefabric.execution.live.binance.config import BinanceClientConfig, Credentials
from tradefabric.execution.live.binance.signing import Ed25519Signer, ws_payload
from tradefabric.execution.live.binance.spot import BinanceSpotClient
from tradefabric.model.data import Trade
from tradefabric.model.enums import InstrumentKind
from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.instrument import Instrument
from tradefabric.model.orders import (
    OrderSide,
    OrderSnapshot,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.config import RiskConfig
from tradefabric.risk.engine import RiskEngine
from tradefabric.venues.binance.markets import BINANCE_SPOT
from tradefabric.venues.binance.parser import BinanceStreamParser

TARGET_P99_US = 1_000.0
MAX_P99_OVER_FLOOR = 3.0
WARMUP_TICKS = 500
RECORDING = (
    Path(__file__).resolve().parents[1] / "src/tradefabric/demo_data/spot_btcusdt_20240808.gz"
)
API_KEY = "bench-ed25519"


# ------------------------------------------------------------------------------ venue


def _venue(conn: Connection, rate: int, ticks: int, public_pem: str) -> None:
    from tradefabric.venues.fakevenue.binance import BinanceScript
    from tradefabric.venues.fakevenue.binance_private import BinancePrivateScript
    from tradefabric.venues.fakevenue.binance_private_auth import ApiKey
    from tradefabric.venues.fakevenue.server import FakeVenueServer, VenueFrame

    class PacedTrades(BinanceScript):
        """Synthetic trades, ``rate`` a second (no book: the bench's orders rest)."""

        def frames(self) -> Iterator[VenueFrame]:
            step_ns = 1_000_000_000 // rate
            for k in range(ticks):
                ms = 1_723_161_255_342 + k
                data = {"e": "trade", "E": ms, "s": "BTCUSDT", "t": 4_000_000_000 + k,
                        "p": f"{61837.6 + (k % 50) * 0.01:.2f}", "q": "0.00200000", "T": ms,
                        "m": k % 2 == 0, "M": True}  # fmt: skip
                text = msgspec.json.encode({"stream": "btcusdt@trade", "data": data}).decode()
                yield VenueFrame(k * step_ns, "btcusdt@trade", text, False)

    async def serve() -> None:
        public = PacedTrades(RECORDING, BINANCE_SPOT)
        keys = (ApiKey(API_KEY, ed25519_public_pem=public_pem),)
        script = BinancePrivateScript(public, keys, balances={"USDT": 1e12, "BTC": 1e6})
        async with FakeVenueServer(script, speed=1.0) as server:
            conn.send(server.port)
            await server.finished.wait()
            conn.send(script.exchange.placed)
            await asyncio.sleep(3600)

    asyncio.run(serve())


# ------------------------------------------------------------------------------ client


class _NoState:
    """The trading state risk reads: flat, nothing open (a fresh account)."""

    def __init__(self) -> None:
        self.last = 0.0

    def position_quantity(self, instrument: InstrumentId) -> float:
        return 0.0

    def gross_exposure_except(self, instrument: InstrumentId) -> float:
        return 0.0

    def open_order_count(self) -> int:
        return 0

    def open_orders_on(self, instrument: InstrumentId) -> list[Any]:
        return []

    def last_price(self, instrument: InstrumentId) -> float:
        return self.last


class _Reports:
    def on_order_status(self, report: object) -> None: ...
    def on_trade(self, report: object) -> None: ...
    def on_balance(self, report: object) -> None: ...
    def on_position(self, report: object) -> None: ...
    def on_stream_reconnected(self, venue: str) -> None: ...


class _Timing:
    """Stamps the write of each measured order: the tick's path and receive time ride in a
    context variable, which ``create_task`` copies into the submit task."""

    def __init__(self) -> None:
        self.tick: contextvars.ContextVar[tuple[str, int, int]] = contextvars.ContextVar("tick")
        self.written: dict[str, list[int]] = {"full": [], "bare": []}
        self.stages: dict[str, list[int]] = {"decided": [], "task_started": []}
        """Full path: tick received -> risk passed (parser, bus, strategy, risk), and ->
        the submit task running (plus the event loop's scheduling)."""

    def stage(self, name: str) -> None:
        """Record how long after its tick's receipt the full path reached ``name``."""
        path, k, t0 = self.tick.get(("", -1, 0))
        if k >= WARMUP_TICKS and path == "full":
            self.stages[name].append(time.perf_counter_ns() - t0)

    def wrap(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        original = ws.send_str

        async def timed_send(data: str, compress: int | None = None) -> None:
            await original(data, compress)
            path, k, t0 = self.tick.get(("", -1, 0))
            if k >= WARMUP_TICKS and path:
                self.written[path].append(time.perf_counter_ns() - t0)

        ws.send_str = timed_send  # type: ignore[method-assign]


async def _connect(port: int, private_pem: str) -> BinanceSpotClient:
    instrument = Instrument(
        venue="binance", symbol="BTC/USDT", raw_symbol="BTCUSDT", base="BTC", quote="USDT",
        kind=InstrumentKind.SPOT, price_increment="0.01", size_increment="0.00001",
        min_size="0.00001", min_notional="5",
    )  # fmt: skip
    config = BinanceClientConfig(
        venue="binance", rest_url=f"http://127.0.0.1:{port}",
        ws_api_url=f"ws://127.0.0.1:{port}/ws-api/v3", instruments=(instrument,),
    )  # fmt: skip
    client = BinanceSpotClient(config, Credentials(API_KEY, private_pem))
    await client.connect(_Reports())  # type: ignore[arg-type]
    return client


class _Strategy:
    """React to every trade with a limit buy, through the risk engine, to the client."""

    def __init__(self, client: BinanceSpotClient, audit_dir: Path, timing: _Timing) -> None:
        self.client = client
        self.timing = timing
        bus = MessageBus()
        self.audit = AuditLog(audit_dir / "audit.jsonl")
        limits = RiskConfig(
            max_open_orders=10**9, max_orders_per_window=10**9, max_order_notional=1e12,
            max_position_notional=1e12, max_total_notional=1e12,
        )  # fmt: skip
        self.risk = RiskEngine(limits, bus, LiveClock(), self.audit)
        self.state = _NoState()
        self.risk.attach(self.state, lambda _flatten: None)  # type: ignore[arg-type]
        self.parser = BinanceStreamParser(bus, BINANCE_SPOT)
        self.sent = 0
        self.refused = 0
        bus.subscribe(topics.TRADES, self.on_trade)

    def on_trade(self, trade: Trade) -> None:
        self.state.last = trade.price
        order = OrderSnapshot(
            client_order_id=f"full-{self.sent}", strategy_id="bench", venue="binance",
            symbol="BTC/USDT", side=OrderSide.BUY, order_type=OrderType.LIMIT, quantity=0.0002,
            price=round(trade.price * 0.5, 2), trigger_price=None, time_in_force=TimeInForce.GTC,
            post_only=False, reduce_only=False, status=OrderStatus.NEW, filled_quantity=0.0,
            avg_price=0.0, fees=0.0, tag="", ts_init=trade.ts_recv, ts_last=trade.ts_recv,
        )  # fmt: skip
        self.sent += 1
        if not self.risk.check(order).accepted:
            self.refused += 1
            return
        self.timing.stage("decided")
        asyncio.get_running_loop().create_task(self._submit(order))

    async def _submit(self, order: OrderSnapshot) -> None:
        self.timing.stage("task_started")
        try:
            await self.client.submit(order)
        except TradefabricError:
            self.refused += 1


def _presigned(count: int, private_pem: str, timestamp_ms: int) -> list[str]:
    signer = Ed25519Signer(private_pem)
    out = []
    for n in range(count):
        params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                  "quantity": "0.00020", "price": "30000.00", "newClientOrderId": f"bare-{n}",
                  "apiKey": API_KEY, "timestamp": str(timestamp_ms)}  # fmt: skip
        params["signature"] = signer.sign(ws_payload(params))
        out.append(
            msgspec.json.encode({"id": f"b{n}", "method": "order.place", "params": params}).decode()
        )
    return out


async def _client(port: int, ticks: int, private_pem: str, audit_dir: Path) -> dict[str, Any]:
    client = await _connect(port, private_pem)
    ws_api = client.ws._ws
    assert ws_api is not None
    timing = _Timing()
    timing.wrap(ws_api)
    strategy = _Strategy(client, audit_dir, timing)
    presigned = iter(_presigned(ticks // 2 + 1, private_pem, client.rest.timestamp_ms()))
    async with aiohttp.ClientSession() as session:
        public = await session.ws_connect(f"ws://127.0.0.1:{port}/stream?streams=btcusdt@trade")
        started = time.perf_counter()
        for k in range(ticks):
            message = await public.receive()
            t0 = time.perf_counter_ns()
            if k % 2 == 0:
                timing.tick.set(("full", k, t0))
                strategy.parser.on_frame(message.data.encode(), time.time_ns())
                # Yield once, as an engine does after scheduling an order: frames buffered on
                # the socket would otherwise be read first and the order would wait for them.
                await asyncio.sleep(0)
            else:
                timing.tick.set(("bare", k, t0))
                await ws_api.send_str(next(presigned))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)  # the last answers arrive before the socket closes
        await public.close()
    await client.close()
    strategy.audit.close()
    sent = {"full": strategy.sent, "bare": ticks // 2, "refused": strategy.refused}
    return {
        "received": ticks, "elapsed_s": elapsed, "written": timing.written, "sent": sent,
        "stages": timing.stages,
    }  # fmt: skip


def _stats(samples: list[int]) -> dict[str, float]:
    array = np.array(samples, dtype=np.float64) / 1000.0
    return {
        "count": float(array.size),
        "p50_us": float(np.percentile(array, 50)),
        "p99_us": float(np.percentile(array, 99)),
        "max_us": float(array.max()),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=int, default=1000, help="trade frames per second")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    ticks = WARMUP_TICKS + int(args.rate * args.seconds)
    ours, theirs = mp.Pipe()
    venue = mp.get_context("spawn").Process(
        target=_venue, args=(theirs, args.rate, ticks, public_pem), daemon=True
    )
    venue.start()
    try:
        port = ours.recv()
        with tempfile.TemporaryDirectory() as tmp:
            result = asyncio.run(_client(port, ticks, private_pem, Path(tmp)))
        placed = ours.recv() if ours.poll(10) else -1
    finally:
        venue.terminate()
    full, bare = _stats(result["written"]["full"]), _stats(result["written"]["bare"])
    ratio = full["p99_us"] / bare["p99_us"] if bare["p99_us"] else float("inf")
    report = {
        "python": platform.python_version(), "rate_offered": args.rate,
        "rate_received": result["received"] / result["elapsed_s"], "full": full, "bare": bare,
        "p99_over_floor": ratio,
        "full_stages": {name: _stats(v) for name, v in result["stages"].items()},
        "orders_placed_at_venue": placed, "sent": result["sent"],
        "target_p99_us": TARGET_P99_US, "max_p99_over_floor": MAX_P99_OVER_FLOOR,
    }  # fmt: skip
    ok = full["p99_us"] < TARGET_P99_US and ratio <= MAX_P99_OVER_FLOOR
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"tick-to-order at {report['rate_received']:.0f} ticks/s (offered {args.rate})")
        for name, stats in (
            ("full (parser, strategy, risk, client)", full),
            ("bare pre-signed", bare),
        ):
            print(f"  {name:38s} p50 {stats['p50_us']:7.1f} us   p99 {stats['p99_us']:7.1f} us"
                  f"   max {stats['max_us']:8.1f} us   n={stats['count']:.0f}")  # fmt: skip
        print(f"  full p99 / floor p99: {ratio:.2f} (target <= {MAX_P99_OVER_FLOOR}); "
              f"target full p99 < {TARGET_P99_US:.0f} us: {'met' if ok else 'MISSED'}")  # fmt: skip
        for name, stats in report["full_stages"].items():
            print(f"    full path, tick -> {name:14s} p50 {stats['p50_us']:7.1f} us   "
                  f"p99 {stats['p99_us']:7.1f} us")  # fmt: skip
        print(f"  orders placed at the venue: {placed} (sent {result['sent']})")
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
