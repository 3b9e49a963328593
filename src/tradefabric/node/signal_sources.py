"""What the strategies that trade on signals need, built from the YAML alone.

``kind: router`` routes the analytics pipeline's scored signals; in a backtest
or paper run nothing else publishes them, so without this a router never
trades. ``build_signal_sources`` builds the pipeline of the config's
``analytics:`` section on the run's bus and clock, and refuses a router with no
``analytics:`` section rather than letting it sit silent.

Wiring order: call it after the kernel is built (the simulated venue and the
kernel's price tracking subscribe to candles first), so on each candle the
venue matches, prices move, the pipeline publishes signals, and the router
acts on them; its orders meet the next candle.
"""

from __future__ import annotations

from tradefabric.analytics.macro import MacroSource
from tradefabric.analytics.pipeline import AnalyticsPipeline
from tradefabric.analytics.plugins import build_macro, build_volatility
from tradefabric.analytics.regime import VolatilitySource
from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import Clock
from tradefabric.core.errors import ConfigError
from tradefabric.node.kernel import TradingConfig
from tradefabric.strategies.router import RouterConfig


def build_signal_sources(
    config: TradingConfig,
    bus: MessageBus,
    clock: Clock,
    *,
    macro: MacroSource | None = None,
    volatility: VolatilitySource | None = None,
) -> AnalyticsPipeline | None:
    """Build the analytics pipeline of ``config.analytics`` on ``bus``; None when not set.

    ``macro``/``volatility`` are the live node's own sources (``node.live_sources``);
    without them the configured ones are built, reading stored readings from
    ``data.catalog``. A ``router`` strategy without an ``analytics:`` section is a
    ``ConfigError``.
    """
    routers = [s.id for s in config.strategies if isinstance(s, RouterConfig)]
    analytics = config.analytics
    if analytics is None:
        if routers:
            raise ConfigError(
                f"strategies: router {routers[0]!r} routes the analytics signals, but the "
                "config has no analytics: section (add one, e.g. examples/analytics.yaml's)"
            )
        return None
    return AnalyticsPipeline(
        bus,
        clock,
        analytics,
        macro=macro if macro is not None else build_macro(analytics.macro, config.data.catalog),
        volatility=volatility if volatility is not None else build_volatility(analytics.volatility),
    )
