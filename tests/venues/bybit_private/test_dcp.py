"""The dead man's switch: kill -9 the node and Bybit's disconnect-cancel ends every order."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import msgspec
from websockets.asyncio.client import connect

from tests.conftest import REPO_ROOT, report_figure
from tests.venues.bybit_private.conftest import Venue, until
from tests.venues.bybit_private.test_orders import Trading, order
from tradefabric.model.orders import OrderSide, OrderStatus
from tradefabric.venues.bybit.private.signing import Credentials

ORDERS = 4
WINDOW_S = 3


async def _observe(venue: Venue, seen: list[dict[str, object]]) -> None:
    """Listen to the order topic on a connection that does not hold DCP armed."""
    credentials = Credentials(venue.key, venue.secret)
    async with connect(f"{venue.server.ws_url}/v5/private") as ws:
        expires = time.time_ns() // 1_000_000 + 10_000
        await ws.send(
            msgspec.json.encode({"op": "auth", "args": credentials.ws_auth_args(expires)}).decode()
        )
        await ws.send(msgspec.json.encode({"op": "subscribe", "args": ["order.spot"]}).decode())
        async for raw in ws:
            frame = msgspec.json.decode(raw)
            if frame.get("topic") == "order.spot":
                seen.extend(frame["data"])


async def test_killing_the_node_cancels_every_order_after_the_window(spot: Venue) -> None:
    seen: list[dict[str, object]] = []
    observer = asyncio.create_task(_observe(spot, seen))
    await until(spot.book_ready)
    env = {
        **os.environ, "PYTHONPATH": f"{REPO_ROOT / 'src'}{os.pathsep}{REPO_ROOT}",
        "TF_TEST_BYBIT_URL": spot.server.http_url, "TF_TEST_BYBIT_KEY": spot.key,
        "TF_TEST_BYBIT_SECRET": spot.secret, "TF_TEST_DCP_S": str(WINDOW_S),
        "TF_TEST_PRICE": f"{spot.touch()[0] - 1000:.2f}", "TF_TEST_ORDERS": str(ORDERS),
    }  # fmt: skip
    node = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.venues.bybit_private.node_process", env=env,
        stdout=asyncio.subprocess.PIPE, cwd=REPO_ROOT,
    )  # fmt: skip
    try:
        assert node.stdout is not None
        line = await asyncio.wait_for(node.stdout.readline(), 30)
        assert line == b"ready\n"
        assert len(spot.script.exchange.open_orders()) == ORDERS
        assert spot.script.stream.dcp_window_s == WINDOW_S
        node.send_signal(signal.SIGKILL)
        await node.wait()
        killed = time.monotonic()
        await until(lambda: not spot.script.exchange.open_orders(), timeout_s=WINDOW_S + 2)
        elapsed = time.monotonic() - killed
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
    assert WINDOW_S - 0.5 <= elapsed <= WINDOW_S + 2
    report_figure(f"bybit DCP: {ORDERS} orders cancelled {elapsed:.2f} s after kill -9 "
                  f"(window {WINDOW_S} s)")  # fmt: skip
    assert spot.script.stream.dcp_cancelled == [f"dcp-{n}" for n in range(ORDERS)]
    await until(lambda: sum(o.get("cancelType") == "CancelByDCP" for o in seen) == ORDERS)
    views = [spot.script.exchange.order("BTCUSDT", f"dcp-{n}") for n in range(ORDERS)]
    assert all(v is not None and v.status is OrderStatus.CANCELLED for v in views)
    observer.cancel()


async def test_a_reconnect_within_the_window_keeps_the_orders(trading: Trading) -> None:
    venue, client, reports = trading
    await client.heartbeat(WINDOW_S)
    bid, _ask = venue.touch()
    await client.submit(order("keep-1", OrderSide.BUY, 0.001, bid - 500))
    await venue.inject("drop_user_stream")
    await until(lambda: reports.reconnects == ["bybit"])
    dropped = time.monotonic()
    # Proving that nothing happens takes the window itself: poll past it.
    await until(lambda: time.monotonic() - dropped > WINDOW_S + 0.5, timeout_s=WINDOW_S + 2)
    assert venue.script.stream.dcp_triggered == 0
    assert [o.client_order_id for o in venue.script.exchange.open_orders()] == ["keep-1"]
