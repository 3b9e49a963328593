"""Paper trading: the trading kernel on a live feed and wall time, filled by the simulated venue.

It is the backtest's kernel (``KernelRun``) with the two things the architecture
lets differ: the clock is a ``LiveClock`` and market data comes from a
``LiveFeed`` (real sockets: a venue, or the local fake venue replaying a
recording). Orders go to the same ``SimulatedVenue`` a backtest uses, which
decides fills from market data alone, so the same data gives the same orders
and fills in both (``tests/node/test_paper_parity.py``). Fields stamped with the
kernel's clock (an order's ``ts_init``/``ts_last``, an order event's
``ts_init``, candles' ``ts_recv``, equity samples) are wall time here and
simulated time in a backtest; nothing else differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import interval_to_ns
from tradefabric.data import topics
from tradefabric.model.data import Candle, Trade
from tradefabric.model.enums import EmptyCandlePolicy
from tradefabric.node.backtest import BacktestResult, KernelRun, RunInfo, build_sim_venues
from tradefabric.node.config import MarketDataConfig
from tradefabric.node.kernel import TradingConfig
from tradefabric.node.live_feed import LiveFeed, LiveFeedConfig
from tradefabric.node.market_data import MarketDataNode
from tradefabric.state import Recorder, attach, open_store
from tradefabric.venues.fakevenue.server import FakeVenueServer
from tradefabric.venues.registry import venue_entry

Attach = Callable[[MarketDataNode], None]
"""Called with the node once the kernel is built: wire more components on its bus and clock
(analytics, integrity) before any data arrives."""


class PaperStatus(msgspec.Struct, frozen=True, kw_only=True):
    """Where a paper run is: market data seen, orders, fills, equity."""

    trades: int
    candles: int
    orders: int
    fills: int
    equity: float
    last_market_ts: int


class _Tally:
    """Counts market data and keeps the first/last candle time (no per-event storage)."""

    def __init__(self) -> None:
        self.trades = 0
        self.candles = 0
        self.first_candle = 0
        self.last_candle = 0
        self.last_market = 0

    def on_trade(self, trade: Trade) -> None:
        self.trades += 1
        self.last_market = max(self.last_market, trade.ts_event)

    def on_candle(self, candle: Candle) -> None:
        self.candles += 1
        self.first_candle = self.first_candle or candle.ts_event
        self.last_candle = candle.ts_event


class PaperRunner:
    """Run ``config``'s strategies on its ``paper`` feed until stopped; see the module docstring."""

    def __init__(
        self,
        config: TradingConfig,
        *,
        ws_url: str | None = None,
        rest_url: str | None = None,
        attach: Attach | None = None,
    ) -> None:
        """Paper-trade ``config``; ``ws_url``/``rest_url`` override ``config.paper``'s."""
        self.config = config
        self._attach = attach
        self.ws_url = ws_url or config.paper.ws_url
        self.rest_url = rest_url or config.paper.rest_url
        self.tally = _Tally()
        self._run: KernelRun | None = None

    def status(self) -> PaperStatus:
        """Return the run's progress (zeros before it started)."""
        run = self._run
        if run is None:
            return PaperStatus(trades=0, candles=0, orders=0, fills=0, equity=0.0,
                               last_market_ts=0)  # fmt: skip
        return PaperStatus(
            trades=self.tally.trades,
            candles=self.tally.candles,
            orders=run.events.orders_closed + len(run.kernel.execution.open_order_snapshots()),
            fills=run.events.fills,
            equity=run.kernel.portfolio.equity(),
            last_market_ts=self.tally.last_market,
        )

    async def run(self, run_dir: Path | None, stop: asyncio.Event) -> BacktestResult:
        """Trade until ``stop`` is set; then write the run folder and return the result."""
        paper = self.config.paper
        if not paper.symbols:
            raise ConfigError("paper.symbols: give at least one symbol")
        clock = LiveClock()  # timers need the running loop: build everything in here
        node = MarketDataNode(
            MarketDataConfig(
                venue=paper.venue,
                candle_intervals=paper.candle_intervals,
                empty_candles=EmptyCandlePolicy.SKIP,
                candle_close_delay_ms=paper.candle_close_delay_ms,
            ),
            clock=clock,
        )
        venues = build_sim_venues(self.config, node.bus, node.books)
        state = self.config.state
        run = self._run = KernelRun(
            self.config, node.bus, clock, dict(venues), run_dir, durable_audit=state is not None
        )
        recorder = self._restore(run)
        node.bus.subscribe(topics.TRADES, self.tally.on_trade)
        node.bus.subscribe(topics.CANDLES, self.tally.on_candle)
        if self._attach is not None:
            self._attach(node)
        feed = LiveFeed(
            node,
            LiveFeedConfig(symbols=paper.symbols, ws_url=self.ws_url, rest_url=self.rest_url),
        )
        started = time.perf_counter()
        try:
            await feed.run(stop)  # closes the node: open candles are published, as in a replay
        finally:
            clock.cancel_timers()
        seconds = time.perf_counter() - started
        info = RunInfo(
            config=self.config,
            catalog_version=None,
            catalog_fingerprint=None,
            recording=f"live feed {paper.venue} {self.ws_url or '(venue default)'}",
            candles=self.tally.candles,
            first_ts=self.tally.first_candle,
            last_ts=self.tally.last_candle,
        )
        try:
            return run.finish(info, seconds)
        finally:
            if recorder is not None:
                recorder.close()
                recorder.store.close()

    def _restore(self, run: KernelRun) -> Recorder | None:
        """Restore the kernel from the state store and record into it (when configured).

        The simulated venue keeps nothing across a restart: orders open at the
        crash are finished (audited) rather than left open forever.
        """
        state = self.config.state
        if state is None:
            return None
        recorder, _ = attach(
            run.kernel, open_store(state), venue_state_lost=True, id_block=state.id_block,
            risk_interval_ns=interval_to_ns(self.config.risk_interval),
        )  # fmt: skip
        return recorder


async def paper_on_fake_venue(
    config: TradingConfig,
    recording: Path,
    run_dir: Path | None,
    *,
    speed: float = 0.0,
    timeout_s: float = 300.0,
    attach: Attach | None = None,
) -> BacktestResult:
    """Paper-trade ``config`` against a local fake venue replaying ``recording`` to its end.

    ``speed`` is the fake venue's replay speed (0: as fast as the socket goes). The
    run stops once the venue has streamed everything and the feed has received
    every trade it sent (what a backtest of the same recording sees).
    """
    script = venue_entry(config.paper.venue).make_script(recording)
    async with FakeVenueServer(script, speed=speed) as server:
        runner = PaperRunner(config, ws_url=server.ws_url, rest_url=server.http_url, attach=attach)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(run_dir, stop))
        try:
            await asyncio.wait_for(server.finished.wait(), timeout=timeout_s)
            for _ in range(400):  # the last frames may still be in flight
                if runner.tally.trades >= script.trades_streamed or task.done():
                    break
                await asyncio.sleep(0.025)
        except BaseException:
            stop.set()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            raise
        stop.set()
        return await asyncio.wait_for(task, timeout=30)
