"""Deribit DVOL as the regime detector's volatility index, against a local Deribit server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.analytics.conftest import read_month
from tests.analytics.fake_deribit import HOUR_MS, FakeDeribit, hourly_dvol
from tests.conftest import report_figure
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.deribit_dvol import DeribitDvol, DvolConfig
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.analytics.regime import Regime, RegimeDetector, RegimeParams
from tradefabric.core.errors import ConfigError, RequestRejectedError
from tradefabric.core.time import ns_to_iso
from tradefabric.model.data import Candle

MS = 1_000_000
Candles = list[tuple[int, float, float, float, float]]


@pytest.fixture(scope="module")
def dvol_candles(shared_data: Path) -> dict[str, Candles]:
    return {c: hourly_dvol(read_month(shared_data, f"{c}/USDT")) for c in ("BTC", "ETH")}


@pytest.fixture
async def deribit(dvol_candles: dict[str, Candles]) -> AsyncIterator[FakeDeribit]:
    async with FakeDeribit(dvol_candles, page_size=200) as server:
        yield server


def _source(server: FakeDeribit, **changes: object) -> DeribitDvol:
    settings: dict[str, object] = {"rest_url": server.rest_url, "ws_url": server.ws_url,
                                   "reconnect_s": 0.01, **changes}  # fmt: skip
    return DeribitDvol(**settings)


async def _until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not condition():
            await asyncio.sleep(0.005)


async def test_history_pages_back_and_dates_each_close_at_its_candle_end(
    deribit: FakeDeribit, dvol_candles: dict[str, Candles]
) -> None:
    candles = dvol_candles["BTC"]
    dvol = _source(deribit)
    start, end = candles[0][0] * MS, candles[-1][0] * MS
    added = await dvol.backfill("BTC", start, end)
    assert added == len(candles) and dvol.stats.pages == -(-len(candles) // 200)
    assert dvol.readings("BTC") == [((t + HOUR_MS) * MS, close) for t, _o, _h, _l, close in candles]
    first = {"currency": "BTC", "start_timestamp": str(start // MS),
             "end_timestamp": str(end // MS), "resolution": "3600"}  # fmt: skip
    assert deribit.rest_requests[0] == first
    # Published at the candle's end: asking at that very time still gets the previous hour.
    first_published = (candles[0][0] + HOUR_MS) * MS
    assert dvol.value("BTC/USDT", first_published) is None
    assert dvol.value("BTC/USDT", first_published + 1) == candles[0][4]
    assert dvol.value("XBT/USD", first_published + 1) == candles[0][4]
    peak = max(candles, key=lambda c: c[2])
    report_figure(
        f"DVOL (from real BTC closes) served: {len(candles)} hourly candles, "
        f"peak {peak[2]:.0f}% at {ns_to_iso(peak[0] * MS)}"
    )


async def test_an_unknown_currency_is_a_json_rpc_error_naming_the_reason(
    deribit: FakeDeribit,
) -> None:
    with pytest.raises(RequestRejectedError, match="DOGE: -32602 Invalid params"):
        await _source(deribit).backfill("DOGE", 0, 10**18)
    assert len(deribit.rest_requests) == 1
    with pytest.raises(ConfigError, match="resolution"):
        DvolConfig(resolution="7")


async def test_the_regime_uses_the_published_index_in_batch(
    deribit: FakeDeribit, dvol_candles: dict[str, Candles], btc_month: CandleFrame
) -> None:
    dvol = _source(deribit)
    candles = dvol_candles["BTC"]
    await dvol.backfill("BTC", candles[0][0] * MS, candles[-1][0] * MS)
    result = run_batch(AnalyticsConfig(), BatchRun(frame=btc_month), volatility=dvol)
    realized = run_batch(AnalyticsConfig(), BatchRun(frame=btc_month))
    volatile = [c for c in result.regime_changes if c.regime is Regime.VOLATILE]
    for change in result.regime_changes:
        assert change.vol_index == dvol.value(change.asset, change.ts_event)
    report_figure(
        f"regime on the real BTC month with DVOL: {len(result.regime_changes)} changes "
        f"({len(volatile)} into VOLATILE) vs {len(realized.regime_changes)} with realized vol"
    )
    assert result.regime_changes != realized.regime_changes
    if max(c[2] for c in candles) >= RegimeParams().volatile_enter + 5:
        assert volatile


async def test_live_updates_heartbeats_and_reconnects(deribit: FakeDeribit) -> None:
    dvol = _source(deribit)
    detector = RegimeDetector(RegimeParams(min_dwell=1), dvol)
    stop = asyncio.Event()
    task = asyncio.create_task(dvol.run(stop))
    await _until(lambda: deribit.subscribers() == 1)
    assert deribit.subscribed == [["deribit_volatility_index.btc_usd",
                                   "deribit_volatility_index.eth_usd"]]  # fmt: skip
    t0 = 1_723_075_200_000
    await deribit.push("BTC", t0, 48.3)
    await deribit.push("ETH", t0, 61.0)
    await _until(lambda: dvol.stats.updates == 2)
    assert dvol.value("BTC/USDT", (t0 + 1) * MS) == 48.3
    assert dvol.value("ETH/USDT", (t0 + 1) * MS) == 61.0
    await deribit.heartbeat()
    await _until(lambda: deribit.test_replies == 1)
    await deribit.send_raw("not json")
    await deribit.send_raw('{"jsonrpc": "2.0", "method": "subscription", "params": {"data": 1}}')
    await _until(lambda: dvol.stats.rejected == 2)
    await deribit.drop()
    await _until(lambda: deribit.subscribers() == 1 and dvol.stats.connects == 2)
    await deribit.push("BTC", t0 + 60_000, 97.5)
    await _until(lambda: dvol.stats.updates == 3)
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    # A crypto VIX at 97.5 turns the detector VOLATILE on the next candle.
    ts = (t0 + 120_000) * MS
    candle = Candle("binance", "BTC/USDT", "1h", ts, 1.0, 1.0, 1.0, 1.0, 1.0, 1, 0.5, 1.0, ts, ts)
    change = detector.update(candle)
    assert change is not None and change.regime is Regime.VOLATILE and change.vol_index == 97.5
