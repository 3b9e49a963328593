"""Gap backfill pages a venue's trade history over real HTTP until the gap is closed.

A fake venue runs a real recording to its end (streaming to nobody), so its history
holds every recorded trade. A gap several pages long is then opened on the
client's parser the way a REST poll opens one (the trades on either side of it
arrive, the ones between do not), and the backfill must bring every missing
trade exactly once, equal to the recording's: by id on Binance
(``historicalTrades?fromId``; 500 a page on USD-M, 1000 on spot), by Kraken's
``Trades?since=`` ns cursor (1000 a page).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

import aiohttp
import msgspec
import pytest

from tests.conftest import report_figure
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import LiveClock
from tradefabric.core.errors import DataError
from tradefabric.data import topics
from tradefabric.data.feed.backfill import TradeBackfill
from tradefabric.data.feed.rest import VenueRestClient
from tradefabric.model.data import Trade
from tradefabric.venues.binance.live import BinanceLive
from tradefabric.venues.binance.markets import BINANCE_SPOT, BINANCE_USDM, BinanceMarket
from tradefabric.venues.binance.parser import BinanceStreamParser
from tradefabric.venues.fakevenue.binance import BinanceScript
from tradefabric.venues.fakevenue.kraken import KrakenScript
from tradefabric.venues.fakevenue.server import FakeVenueServer, VenueScript
from tradefabric.venues.kraken.live import KrakenFeedParser, KrakenLive
from tradefabric.venues.kraken.markets import KRAKEN_SPOT
from tradefabric.venues.replay.recording import read_recording

GAP = 3_500


class Client(msgspec.Struct):
    """A venue's live endpoints and how to open a gap on its parser."""

    live: BinanceLive | KrakenLive
    open_gap: Callable[[list[Trade]], int]
    page: int


def _recorded_trades(path: Path, market: BinanceMarket) -> list[Trade]:
    bus = MessageBus()
    trades: list[Trade] = []
    bus.subscribe(topics.TRADES, trades.append)
    parser = BinanceStreamParser(bus, market)
    for line in read_recording(path):
        if line.ts_recv >= 0 and b'@trade"' in line.raw[:64]:
            try:
                parser.on_frame(line.raw, line.ts_recv)
            except DataError:
                continue
    return trades


def _binance(market: BinanceMarket, bus: MessageBus, url: str) -> Client:
    parser = BinanceStreamParser(bus, market)
    live = BinanceLive(market, parser, LiveClock(), rest_url=url, api_key="paging-test")
    return Client(
        live, lambda t: parser.merge_rest_trades("BTCUSDT", t), market.history_trades_limit
    )


def _kraken(bus: MessageBus, url: str) -> Client:
    parser = KrakenFeedParser(bus, KRAKEN_SPOT)
    live = KrakenLive(KRAKEN_SPOT, parser, LiveClock(), rest_url=url)
    return Client(live, parser.merge_rest_trades, 1000)


CASES = {
    "binance-spot": ("spot_btcusdt_20240808.gz", BINANCE_SPOT),
    "binance-usdm": ("usdm_btcusdt_20240808.gz", BINANCE_USDM),
    "kraken": ("spot_btcusdt_20240808.gz", None),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_a_gap_of_several_pages_is_recovered_exactly(name: str, shared_data: Path) -> None:
    file, market = CASES[name]
    path = shared_data / "binance_ws" / file
    recorded = _recorded_trades(path, market or BINANCE_SPOT)
    script: VenueScript = BinanceScript(path, market) if market else KrakenScript(path)
    bus = MessageBus()
    backfilled: list[Trade] = []
    bus.subscribe(topics.TRADES_BACKFILLED, backfilled.append)
    # The venue's market runs to the end of the recording: its history holds every trade.
    for _ in script.frames():
        pass
    async with FakeVenueServer(script) as server:
        client = _binance(market, bus, server.http_url) if market else _kraken(bus, server.http_url)
        venue = client.live.venue
        async with aiohttp.ClientSession() as session:
            rest = VenueRestClient(server.http_url, client.live.limiter, session)
            backfill = TradeBackfill(
                bus, LiveClock(), venue, lambda s, i: client.live.trades_from(rest, s, i)
            )
            start = len(recorded) // 3
            missing = recorded[start : start + GAP]
            bracket = [recorded[start - 1], recorded[start + GAP]]
            symbol = "BTC/USDT" if market is not BINANCE_USDM else "BTC/USDT:USDT"
            bracket = [msgspec.structs.replace(t, venue=venue, symbol=symbol) for t in bracket]
            assert client.open_gap(bracket) == 2
            await asyncio.sleep(0)
            await backfill.close()
    (report,) = backfill.reports
    assert (report.first_missing, report.last_missing) == (
        int(missing[0].trade_id),
        int(missing[-1].trade_id),
    )
    assert report.recovered == GAP and report.unrecoverable == 0
    got = [(t.trade_id, t.price, t.size, t.side, t.ts_event) for t in backfilled]
    want = [(t.trade_id, t.price, t.size, t.side, t.ts_event) for t in missing]
    assert got == want
    assert backfill.pages_fetched >= math.ceil(GAP / client.page)
    report_figure(
        f"{name} backfill: a {GAP:,}-trade gap recovered in {backfill.pages_fetched} pages "
        f"of at most {client.page}, equal to the recording"
    )
