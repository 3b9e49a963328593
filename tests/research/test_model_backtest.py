"""A registered model trades in a backtest: the router on the model signal, fed by the node's
streaming analytics, sees exactly the signals the batch pipeline computes on the same week."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

from tests.conftest import report_figure
from tests.research.test_models import model_config
from tradefabric.analytics.config import config_from_data
from tradefabric.analytics.frame import FrameQuery, frame_from_catalog
from tradefabric.analytics.pipeline import BatchRun, run_batch
from tradefabric.core.time import parse_utc
from tradefabric.node.backtest import BacktestRunner
from tradefabric.node.kernel import TradingConfig
from tradefabric.research.registry import Registry
from tradefabric.research.training import train_model
from tradefabric.store.catalog import Catalog

START, END = "2024-08-16", "2024-08-20"  # the model's out-of-sample tail


def test_model_signal_trades_in_a_backtest_as_in_batch(
    research_catalog: Path, tmp_path: Path
) -> None:
    trained = train_model(model_config(research_catalog), "2026-12-04T00:00:00Z")
    Registry(tmp_path).save(trained)
    signal = {"name": "model_5m", "class": "tradefabric.research.model_signal.ModelSignal",
              "interval": "5m", "params": {"model": "btc_side_5m-", "catalog": str(tmp_path),
                                           "min_probability": 0.6}}  # fmt: skip
    analytics = {"base_interval": "1m", "resample": ["5m", "1h"], "signals": [signal]}

    config = msgspec.convert({
        "seed": 7,
        "data": {"catalog": str(research_catalog), "catalog_version": 1, "venue": "binance",
                 "symbols": ["BTC/USDT"], "interval": "1m"},
        "execution": {"binance": {"mode": "sim", "sim": {"matching": "candles",
                                                         "fees": {"tier": "vip0"}}}},
        "balances": {"binance": {"USDT": 100000}},
        "risk": {"max_order_notional": 20000, "max_position_notional": 50000},
        "strategies": [{"kind": "router", "id": "router", "symbol": "BTC/USDT",
                        "swing_min_horizon": "2h"}],
        "analytics": analytics,
    }, TradingConfig, dec_hook=lambda t, v: Path(v) if t is Path else v)  # fmt: skip
    result = BacktestRunner(config, START, END).run(tmp_path / "run")
    routed = [json.loads(x) for x in (tmp_path / "run" / "signals.jsonl").read_text().splitlines()]
    frame = frame_from_catalog(
        Catalog(research_catalog, version=1),
        FrameQuery(venue="binance", symbol="BTC/USDT", start_ns=parse_utc(START),
                   end_ns=parse_utc(END)),
    )  # fmt: skip
    batch = run_batch(config_from_data(analytics), BatchRun(frame=frame))
    assert len(batch.signals) > 100
    # The node ran the pipeline streaming, candle by candle: the same signals as batch.
    assert [(r["source"], r["direction"], r["ts"]) for r in routed] == [
        (s.source, int(s.direction), s.ts) for s in batch.signals
    ]
    taken = sum(r["taken"] for r in routed)
    assert taken > 0 and result.fills > 0
    report_figure(
        f"model signal in a router backtest {START}..{END}: {len(batch.signals)} model signals, "
        f"{len(routed)} routed ({taken} taken), {result.orders} orders, {result.fills} fills, "
        f"return {result.metrics.total_return:+.3%}"
    )
