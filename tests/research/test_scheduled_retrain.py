"""Retraining through the node's scheduler: a Sunday 03:00 minute of the node's clock trains
on the real month in a worker process, promotes the first model and audits it as the
scheduler; the next week's run of the same window is refused, also audited."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.feed_waits import until
from tests.node.sched_harness import Node, entry
from tradefabric.research.registry import Registry

SUNDAY = (2 * 24 + 3) * 60
"""Sunday 2024-08-04 03:00, in minutes after the harness's midnight (Friday 2024-08-02)."""


@pytest.fixture
def catalog(research_catalog: Path, tmp_path: Path) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(research_catalog, root, ignore=shutil.ignore_patterns("models", "research"))
    return root


async def test_the_scheduled_retrain_promotes_then_refuses_audited(
    catalog: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(
        f"name: btc_rsi_5m\ncatalog: {catalog}\ncatalog_version: 1\nvenue: binance\n"
        "symbol: BTC/USDT\ninterval: 5m\nwindow: 10d\ntest: 3d\n"
        "features:\n  - {class: tradefabric.analytics.features.builtin.RsiFeature}\n"
        "learner: {kind: logistic}\n"
    )
    node = Node(tmp_path, entry("retrain", "0 3 * * sun", args={"config": str(model)}))
    node.to_minute(SUNDAY - 1)
    assert node.stats("retrain").runs == 0
    node.to_minute(SUNDAY)
    await until(lambda: node.kinds("retrain") == ["job_finished"], timeout_s=60)
    first = node.stats("retrain").last_summary
    assert first["outcome"] == "promoted" and first["why"] == "first model of this name"
    registry = Registry(catalog)
    assert registry.promoted("btc_rsi_5m") == first["challenger"]
    node.to_minute(SUNDAY + 7 * 24 * 60)  # next Sunday: same catalog version, same window
    await until(lambda: node.kinds("retrain").count("job_finished") == 2, timeout_s=60)
    second = node.stats("retrain").last_summary
    assert second["challenger"] == first["challenger"] and second["outcome"] == "refused"
    decisions = registry.promotions()
    assert [(d.outcome, d.who) for d in decisions] == [
        ("promoted", "scheduler"), ("refused", "scheduler"),
    ]  # fmt: skip
    assert node.stats("retrain").failures == 0
