"""A real Prometheus scrapes a running paper node's /metrics: the values it stores are the
node's own figures, and every panel of the Grafana dashboard is a query it accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.ops.control.harness import TOKEN, Api, PaperNodeThread, control_config, wait_for
from tests.ops.control.prometheus import Prometheus

pytestmark = pytest.mark.slow
DASHBOARDS = sorted((REPO_ROOT / "ops" / "grafana").glob("*.json"))


@pytest.fixture(scope="module")
def scraped(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, Prometheus, PaperNodeThread]]:
    recording = shared_data / "binance_ws" / "spot_btcusdt_20240808.gz"
    workdir = tmp_path_factory.mktemp("prometheus")
    node = PaperNodeThread(control_config(recording), recording, workdir / "run", speed=10.0)
    url = node.start()
    prometheus = Prometheus(url.removeprefix("http://"), TOKEN, workdir)
    try:
        prometheus.wait_ready()
        yield Api(url), prometheus, node
    finally:
        prometheus.close()
        node.stop()


def test_prometheus_holds_the_nodes_own_figures(
    scraped: tuple[Api, Prometheus, PaperNodeThread],
) -> None:
    api, prometheus, node = scraped
    # Once the venue has streamed everything the figures stand still: a scrape must equal them.
    wait_for("the venue to finish streaming",
             lambda: node.server is not None and node.server.finished.is_set(), 60)  # fmt: skip

    def scraped_equals_node() -> bool:
        status = api.get("/api/status")
        venue = status["data"]["venues"][0]
        pairs = [
            (prometheus.value("tradefabric_trades_total"), status["trades"]),
            (prometheus.value("tradefabric_fills_total"), status["fills"]),
            (prometheus.value("tradefabric_orders_total"), status["orders"]),
            (prometheus.value('tradefabric_frames_parsed_total{venue="binance"}'),
             venue["parsed"]),
            (prometheus.value("tradefabric_equity"), status["equity"]),
            (prometheus.value("tradefabric_halted"), 0),
        ]  # fmt: skip
        return all(got is not None and got == pytest.approx(want) for got, want in pairs)

    wait_for("Prometheus to hold the node's figures", scraped_equals_node, 30)
    status = api.get("/api/status")
    assert status["trades"] > 1000 and status["fills"] >= 2
    assert prometheus.value("tradefabric_queue_capacity") == 100_000


def test_a_halt_shows_in_prometheus(scraped: tuple[Api, Prometheus, PaperNodeThread]) -> None:
    api, prometheus, _ = scraped
    api.post("/api/halt", {"reason": "prometheus test"})
    wait_for("halted == 1 in Prometheus", lambda: prometheus.value("tradefabric_halted") == 1.0)
    api.post("/api/reset", {"reason": "prometheus test done"})
    wait_for("halted == 0 in Prometheus", lambda: prometheus.value("tradefabric_halted") == 0.0)


@pytest.mark.parametrize("dashboard", DASHBOARDS, ids=lambda p: p.name)
def test_every_dashboard_panel_is_a_valid_query(
    scraped: tuple[Api, Prometheus, PaperNodeThread], dashboard: Path
) -> None:
    _, prometheus, _ = scraped
    panels = json.loads(dashboard.read_text())["panels"]
    exprs = [t["expr"] for panel in panels for t in panel["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        answer = prometheus.query(expr)
        assert answer["status"] == "success", (expr, answer)
    # The instant series exist (a name typo would answer success with no data).
    for expr in ("tradefabric_queue_depth", "tradefabric_equity", "tradefabric_open_orders"):
        assert prometheus.query(expr)["data"]["result"], expr


def test_dashboards_exist() -> None:
    assert DASHBOARDS, "no Grafana dashboard in ops/grafana"
