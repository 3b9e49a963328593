"""Liquidations and open interest stored by the catalog writer feed the signals CLI's alpha 3."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analytics.conftest import read_month
from tests.analytics.liquidation_stream import build_stream
from tests.conftest import report_figure
from tradefabric.analytics.config import AnalyticsConfig
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.store.catalog import Catalog
from tradefabric.store.catalog_writer import CatalogWriter
from tradefabric.store.derivatives import load_liquidations, load_open_interest
from tradefabric.store.importers import import_path

LIQ = "liquidation_hunt_1h"


@pytest.mark.slow
def test_stored_derivatives_round_trip_and_drive_the_signals_cli(
    shared_data: Path, tmp_path: Path
) -> None:
    frame = read_month(shared_data, "BTC/USDT")
    liquidations, open_interest = build_stream(shared_data, frame)
    bus = MessageBus()
    writer = CatalogWriter(tmp_path, bus)
    for _ in range(2):  # the second pass is all duplicates
        for event in liquidations:
            bus.publish(topics.LIQUIDATIONS, event)
        for reading in open_interest:
            bus.publish(topics.OPEN_INTEREST, reading)
        writer.flush()
    writer.close()
    assert writer.duplicates_dropped().liquidations == len(liquidations)
    catalog = Catalog(tmp_path)
    order = lambda e: (e.ts_event, e.ts_recv, e.venue)  # noqa: E731
    assert load_liquidations(catalog) == tuple(sorted(liquidations, key=order))
    assert load_open_interest(catalog) == tuple(sorted(open_interest, key=order))

    import_path(shared_data / "candles_1m", "freqtrade", CatalogWriter(tmp_path), venue="binance")
    result = subprocess.run(
        [sys.executable, "-m", "tradefabric", "signals", "--catalog", str(tmp_path),
         "--symbol", "BTC/USDT", "--venue", "binance", "--json"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    from_cli = [s for s in json.loads(result.stdout)["result"]["signals"] if s["source"] == LIQ]
    run = BatchRun(
        frame=frame, liquidations=tuple(liquidations), open_interest=tuple(open_interest)
    )
    in_process = [s for s in run_batch(AnalyticsConfig(), run).signals if s.source == LIQ]
    assert len(from_cli) == len(in_process) > 0
    assert [s["ts"] for s in from_cli] == [s.ts for s in in_process]
    report_figure(
        f"catalog derivatives: {len(liquidations)} liquidations, {len(open_interest)} open "
        f"interest readings stored and read back exactly; signals CLI alpha 3 from the "
        f"catalog: {len(from_cli)} signals = in-process batch"
    )
