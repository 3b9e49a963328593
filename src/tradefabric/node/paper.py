"""Paper trading: a paper ``TradingNode`` on live feeds and wall time, filled by the simulator.

It is the backtest's node with the two things the architecture lets differ: the
clock is a ``LiveClock`` and market data comes from live feeds (real sockets: a
venue, or the local fake venue replaying a recording) through the data engine's
queue. Orders go to the same simulated exchange a backtest uses, which decides
fills from market data alone, so the same data gives the same orders and fills
in both (``tests/node/test_paper_parity.py``). Fields stamped with the node's
clock (an order's ``ts_init``/``ts_last``, an order event's ``ts_init``,
candles' ``ts_recv``, equity samples) are wall time here and simulated time in a
backtest; nothing else differs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import msgspec

from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import ConfigError
from tradefabric.node.instruments import fetch_instruments
from tradefabric.node.kernel import FeedConfig, TradingConfig
from tradefabric.node.run import BacktestResult
from tradefabric.node.trading_node import NodeStatus, RunMode, TradingNode


class PaperRunner:
    """Run ``config``'s strategies on its ``feeds`` until stopped; see the module docstring."""

    def __init__(
        self,
        config: TradingConfig,
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        mode: RunMode = RunMode.PAPER,
        on_node: Callable[[TradingNode], None] | None = None,
        confirm_live: bool = False,
        config_file: Path | None = None,
    ) -> None:
        """Paper-trade ``config``; ``ws_url``/``rest_url`` override its one feed's URLs;
        ``on_node`` is called with the node once built, before any data arrives;
        ``confirm_live`` lets ``mode: live`` venues reach production endpoints;
        ``config_file`` (what ``config`` was loaded from) can be reloaded while it runs."""
        self.loaded = config
        self.config_file = config_file
        self.config = with_endpoints(config, ws_url, rest_url)
        self.mode = mode
        self.confirm_live = confirm_live
        self._on_node = on_node
        self.node: TradingNode | None = None

    def status(self) -> NodeStatus | None:
        """Return the node's progress (None before it is built)."""
        return None if self.node is None else self.node.status()

    async def run(self, run_dir: Path | None, stop: asyncio.Event) -> BacktestResult:
        """Trade until ``stop`` is set; then write the run folder and return the result."""
        # The clock's timers need the running loop: the node is built in here.
        instruments = await fetch_instruments(self.config) if self.config.feeds else {}
        self.node = TradingNode(
            self.config, self.mode, LiveClock(), run_dir, instruments=instruments,
            confirm_live=self.confirm_live,
        )  # fmt: skip
        if self.config_file is not None:
            self.node.enable_reload(self.config_file, self.loaded)
        if self._on_node is not None:
            self._on_node(self.node)
        return await self.node.run_live(stop)


def with_endpoints(
    config: TradingConfig, ws_url: str | None, rest_url: str | None
) -> TradingConfig:
    """Return ``config`` with its single feed's URLs replaced (command-line overrides)."""
    if ws_url is None and rest_url is None:
        return config
    if len(config.feeds) != 1:
        raise ConfigError(
            f"--ws-url/--rest-url override one feed; the config has {len(config.feeds)} "
            "(set ws_url/rest_url per venue under feeds: instead)"
        )
    ((venue, feed),) = config.feeds.items()
    replaced: FeedConfig = msgspec.structs.replace(
        feed, ws_url=ws_url or feed.ws_url, rest_url=rest_url or feed.rest_url
    )
    return msgspec.structs.replace(config, feeds={venue: replaced})
