"""Stuck prices with live volume, injected into the real March 2023 candles of several venues.

Three ways a venue serves prices that no longer move while its volume stays real:
an hour repeating the OHLC of one candle, an hour flat at the last close, and an
hour at the last close jittered by under half a basis point (never an exact repeat).
Each is injected three times on each of four venues; every injected candle should
be flagged (FLATLINE or NOT_TRACKING), and no untouched candle newly flagged.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import report_figure
from tests.integrity.injection import Injector, flagged, load_rows, score, write_rows
from tradefabric.integrity.batch import Selection, triangulate_catalog
from tradefabric.integrity.collector import TriangulationResult
from tradefabric.integrity.events import AnomalyKind

pytestmark = pytest.mark.slow

VENUES = ("binanceus", "coinbase", "kraken", "cryptocom")
HOW = ("frozen", "flat", "jitter")
STUCK_KINDS = {AnomalyKind.FLATLINE, AnomalyKind.NOT_TRACKING}
FLAGGED = STUCK_KINDS | {AnomalyKind.PRICE_OUTLIER}
"""A stuck candle far enough from the consensus is a price outlier first; that flags it too."""
MIN_RECALL = {"frozen": 0.95, "flat": 0.95, "jitter": 0.9}


@pytest.fixture(scope="module")
def stuck_run(
    multi_catalog: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Injector, TriangulationResult]:
    injector = Injector(load_rows(multi_catalog), seed=20230301)
    for _ in range(3):
        for venue in VENUES:
            for how in HOW:
                injector.stuck_prices(how, venue)
    root = tmp_path_factory.mktemp("stuck") / "catalog"
    write_rows(root, injector.rows())
    return injector, triangulate_catalog(root, Selection("BTC"))


def test_stuck_prices_with_real_volume_are_flagged(
    stuck_run: tuple[Injector, TriangulationResult], baseline: TriangulationResult
) -> None:
    injector, result = stuck_run
    found = flagged(result, FLAGGED)
    before = flagged(baseline, FLAGGED)
    every = injector.all_keys()
    kinds = {(a.venue, a.symbol, a.ts_event): a.kind for a in result.anomalies if a.kind in FLAGGED}
    report_figure("stuck prices with real volume, one hour each, 3 x 4 venues per kind:")
    for how in HOW:
        truth = injector.injected.stuck[how]
        assert len(truth) == 3 * len(VENUES) * 60, how
        s = score(how, truth, found, before, every)
        per_venue = {v: sum(1 for k in truth & found if k[0] == v) for v in VENUES}
        by_kind = Counter(str(kinds[k]) for k in truth & found)
        report_figure(
            f"  {how:7s} injected {s.injected}  found {s.detected}  recall {s.recall:6.1%}  "
            f"as {dict(by_kind)}  by venue {per_venue}"
        )
        assert s.recall >= MIN_RECALL[how], how
        assert all(n >= 0.9 * 3 * 60 for n in per_venue.values()), (how, per_venue)
    everything = set().union(*injector.injected.stuck.values())
    overall = score("all", everything, found, before, every)
    report_figure(
        f"  all     recall {overall.recall:6.1%}  precision {overall.precision:6.1%}  "
        f"({overall.false_positives} new flags on untouched candles, {len(before)} flags "
        "the untouched data already had)"
    )
    assert overall.precision >= 0.95


def test_untouched_data_has_few_stuck_flags(baseline: TriangulationResult) -> None:
    by_kind = {kind: sum(1 for a in baseline.anomalies if a.kind is kind) for kind in STUCK_KINDS}
    candles = baseline.candles
    report_figure(f"stuck-price flags on the untouched {candles:,} candles: {by_kind}")
    assert sum(by_kind.values()) <= 0.002 * candles
