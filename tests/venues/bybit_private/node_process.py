"""A node that trades on the fake Bybit until it is killed (run as a separate process).

Reads the venue's URL and a throwaway key from the environment (never argv), arms
the disconnect-cancel, rests ``ORDERS`` buys below the market, prints ``ready``
and then only keeps its private connection alive, as a node would.
"""

from __future__ import annotations

import asyncio
import os
import sys

from tests.venues.bybit_private.conftest import Reports, instrument
from tests.venues.bybit_private.test_orders import order
from tradefabric.execution.live.bybit.factory import build_client
from tradefabric.model.orders import OrderSide


class _Keys:
    def __init__(self) -> None:
        self.api_key = os.environ["TF_TEST_BYBIT_KEY"]
        self.api_secret = os.environ["TF_TEST_BYBIT_SECRET"]


async def main() -> None:
    url = os.environ["TF_TEST_BYBIT_URL"]
    venue = os.environ.get("TF_TEST_BYBIT_VENUE", "bybit")
    client = build_client(
        venue, _Keys(), {"BTC/USDT": instrument(venue)}, rest_url=url,
        ws_url=url.replace("http", "ws"),
    )  # fmt: skip
    await client.connect(Reports())
    await client.heartbeat(float(os.environ["TF_TEST_DCP_S"]))
    price = float(os.environ["TF_TEST_PRICE"])
    for n in range(int(os.environ["TF_TEST_ORDERS"])):
        await client.submit(order(f"dcp-{n}", OrderSide.BUY, 0.001, price - n))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
