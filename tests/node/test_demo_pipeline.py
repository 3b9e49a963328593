"""The Phase 1 demo pipeline on the recording bundled with the package: fake venue, live
feed, analytics signals, router and EMA strategy, risk, paper fills, daily report."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.conftest import report_figure
from tradefabric.demo.pipeline import run_phase1_demo
from tradefabric.ops.report import DailyReport

pytestmark = pytest.mark.slow


def test_phase1_demo_runs_every_stage_offline(tmp_path: Path) -> None:
    summary = run_phase1_demo(False, tmp_path / "run")
    assert summary.trades == 9_756  # every trade of the bundled BTC/USDT recording
    assert summary.candles == 352
    assert summary.signals == 5
    assert summary.signals_taken + summary.signals_skipped == summary.signals
    assert summary.signals_taken >= 1
    assert summary.orders == summary.fills >= 20
    assert summary.risk_rejections == 0 and summary.data_anomalies == 0
    twin = msgspec.json.decode(Path(summary.report_json).read_bytes(), type=DailyReport)
    assert twin.day == "2024-08-08" and twin.fills > 0
    # Fills carry the recording's (venue) times, orders the paper kernel's wall clock: the
    # reports of all days together hold every fill and every order once.
    reports = [
        msgspec.json.decode(p.read_bytes(), type=DailyReport)
        for p in sorted((tmp_path / "run" / "reports").glob("*.json"))
    ]
    assert sum(r.fills for r in reports) == summary.fills
    assert sum(r.orders for r in reports) == summary.orders
    tags = {line.key for r in reports for line in r.orders_by_tag}
    assert tags == {"ema cross up", "ema cross down", "router hft"}
    assert Path(summary.report_html).read_text().count("data:image/png;base64,") == 3
    report_figure(
        f"phase 1 demo (fake venue -> feed -> analytics -> router/EMA -> risk -> paper fills): "
        f"{summary.trades} trades, {summary.candles} candles, {summary.signals} signals "
        f"({summary.signals_taken} taken), {summary.fills} fills in {summary.seconds:.1f} s"
    )
