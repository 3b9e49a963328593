"""``kind: router`` trades in a backtest built from the YAML alone (its analytics section):
the example ``examples/backtest_router.yaml`` on a real week."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, report_figure
from tradefabric.core.errors import ConfigError
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import load_config

EXAMPLE = REPO_ROOT / "examples" / "backtest_router.yaml"


def _write(tmp: Path, catalog: Path, analytics: bool = True) -> Path:
    """Write the example config with the test's catalog (and without analytics: if asked)."""
    text = EXAMPLE.read_text().replace("catalog: cat", f"catalog: {catalog}")
    if not analytics:
        text = text.partition("\nanalytics:")[0]
    path = tmp / "router.yaml"
    path.write_text(text)
    return path


def test_router_from_yaml_trades_on_real_candles(month_catalog: Path, tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, month_catalog))
    result = BacktestRunner(config, "2024-08-01", "2024-08-08").run(tmp_path / "run")
    assert result.info.candles == 7 * 1440
    assert result.orders > 0 and result.fills > 0
    routed = (tmp_path / "run" / "signals.jsonl").read_text().splitlines()
    assert any('"taken":true' in line for line in routed)
    report_figure(
        f"router from YAML, real week of BTC/USDT 1m: {len(routed)} signals routed, "
        f"{result.orders} orders, {result.fills} fills, return {result.metrics.total_return:+.3%}"
    )


def test_router_without_analytics_is_refused(month_catalog: Path, tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, month_catalog, analytics=False))
    with pytest.raises(ConfigError, match=r"router 'router' .*no analytics: section"):
        BacktestRunner(config, "2024-08-01", "2024-08-02").run(None)
