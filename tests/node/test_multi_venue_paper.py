"""One paper TradingNode on two venues at once: Binance and Bybit fake venues over real
sockets, each streaming real traffic in its own protocol, one bus, one data engine, one
strategy per venue; each venue's strategy trades exactly as on that venue alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest

from tests.conftest import report_figure
from tradefabric.demo.fake_venue import paper_on_fake_venue, paper_on_fake_venues
from tradefabric.execution.sim.exchange import SimExchangeConfig
from tradefabric.model.identifiers import InstrumentId
from tradefabric.node.kernel import (
    DEFAULT_INSTRUMENTS,
    ExecutionConfig,
    ExecutionMode,
    FeedConfig,
    InstrumentConfig,
    TradingConfig,
)
from tradefabric.node.trading_node import TradingNode
from tradefabric.strategies.ema_cross import EmaCrossConfig

pytestmark = pytest.mark.slow

RECORDING = "spot_btcusdt_20240808.gz"
VENUES = ("binance", "bybit")


def _config(venues: tuple[str, ...]) -> TradingConfig:
    paper = ExecutionConfig(mode=ExecutionMode.PAPER, sim=SimExchangeConfig(slippage_bps=1.0))
    return TradingConfig(
        seed=7,
        execution=dict.fromkeys(venues, paper),
        balances={venue: {"USDT": 100_000.0} for venue in venues},
        instruments=(
            *DEFAULT_INSTRUMENTS,
            InstrumentConfig(
                venue="bybit", symbol="BTC/USDT", price_increment="0.01", size_increment="0.000001"
            ),
        ),
        # No REST fallback: at full replay speed every stream looks "behind" REST, and
        # trades polled by REST mid-stream would make Bybit's candles timing-dependent.
        feeds={
            venue: FeedConfig(symbols=("BTC/USDT",), rest_fallback_lag_s=0.0) for venue in venues
        },
        strategies=tuple(
            EmaCrossConfig(
                id=f"ema_{venue}", venue=venue, interval="1s", fast=3, slow=12, notional=1_000.0
            )
            for venue in venues
        ),
        equity_interval="1m",
    )


def _fills(run_dir: Path, venue: str) -> list[tuple[object, ...]]:
    out = []
    for line in (run_dir / "fills.jsonl").read_bytes().splitlines():
        fill = msgspec.json.decode(line)
        if fill["venue"] == venue:
            out.append((fill["side"], fill["price"], fill["quantity"], fill["ts_event"]))
    return out


def test_binance_and_bybit_trade_in_one_node(shared_data: Path, tmp_path: Path) -> None:
    recording = shared_data / "binance_ws" / RECORDING
    nodes: list[TradingNode] = []
    both = asyncio.run(
        paper_on_fake_venues(
            _config(VENUES),
            dict.fromkeys(VENUES, recording),
            tmp_path / "both",
            on_node=nodes.append,
        )
    )
    node = nodes[0]
    status = node.status()
    assert status.data is not None
    per_venue = {v.venue: v for v in status.data.venues}
    assert set(per_venue) == set(VENUES)
    assert all(v.parsed > 10_000 and v.dropped == 0 for v in per_venue.values())
    # Each venue's feed counts its own events on the shared bus, not the other venue's.
    counts = {venue: node.markets[venue].event_counts() for venue in VENUES}
    assert sum(c.trades for c in counts.values()) == status.trades
    assert all(0 < c.trades < status.trades for c in counts.values())
    for venue in VENUES:
        book = node.cache.book(InstrumentId(venue=venue, symbol="BTC/USDT"))
        assert book is not None and book.valid
    assert both.faults == [] and not both.halted
    # Instruments come from each fake venue's own exchange info (config overrides win).
    bybit = node.instruments[InstrumentId(venue="bybit", symbol="BTC/USDT")]
    assert bybit.raw_symbol == "BTCUSDT" and bybit.min_notional is not None
    assert bybit.size_increment == "0.000001"  # the test's override beats the listing
    binance = node.instruments[InstrumentId(venue="binance", symbol="BTC/USDT")]
    assert binance.raw_symbol == "BTCUSDT" and binance.price_increment == "0.01"
    for venue in VENUES:
        alone = asyncio.run(
            paper_on_fake_venue(_config((venue,)), recording, tmp_path / f"{venue}-alone")
        )
        fills = _fills(tmp_path / "both", venue)
        assert fills == _fills(tmp_path / f"{venue}-alone", venue)
        assert len(fills) == alone.fills >= 10
    report_figure(
        f"multi-venue paper (Binance + Bybit fake venues in one node): {status.trades} trades, "
        f"{both.fills} fills, each venue's fills identical to its run alone"
    )
