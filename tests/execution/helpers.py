"""A small kernel on a SimClock with the simulated venue, driven candle by candle."""

from __future__ import annotations

from pathlib import Path

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.time import NS_PER_MINUTE
from tradefabric.data import topics
from tradefabric.execution.sim.venue import BookSource, SimulatedVenue, SimVenueConfig
from tradefabric.model.data import Candle
from tradefabric.node.kernel import ExecutionConfig, TradingConfig, TradingKernel
from tradefabric.risk.audit import AuditLog
from tradefabric.risk.config import RiskConfig
from tradefabric.risk.engine import ConsensusPriceSource

T0 = 1_722_470_400_000_000_000  # 2024-08-01 00:00 UTC


class Harness:
    """Kernel + simulated venue; ``candle`` publishes one 1m candle of BTC/USDT."""

    def __init__(
        self,
        tmp: Path,
        *,
        venue: SimVenueConfig | None = None,
        risk: RiskConfig | None = None,
        consensus: ConsensusPriceSource | None = None,
        bus: MessageBus | None = None,
        clock: SimClock | None = None,
        books: BookSource | None = None,
    ) -> None:
        self.config = TradingConfig(
            execution={"binance": ExecutionConfig(sim=venue or SimVenueConfig())},
            risk=risk or RiskConfig(),
        )
        self.clock = clock or SimClock(T0)
        self.bus = bus or MessageBus()
        self.venue = SimulatedVenue(
            "binance", self.bus, self.config.execution["binance"].sim, seed=1, books=books
        )
        self.audit_path = tmp / "audit.jsonl"
        self.audit = AuditLog(self.audit_path)
        self.kernel = TradingKernel(
            self.config, self.bus, self.clock, {"binance": self.venue}, audit=self.audit,
            consensus=consensus,
        )  # fmt: skip
        self.execution = self.kernel.execution
        self.minute = 0

    def candle(self, o: float, h: float, lo: float, c: float, volume: float = 10.0) -> Candle:
        """Publish the next minute's candle and return it."""
        ts_open = T0 + self.minute * NS_PER_MINUTE
        self.minute += 1
        end = ts_open + NS_PER_MINUTE
        candle = Candle(
            "binance", "BTC/USDT", "1m", ts_open, o, h, lo, c, volume, 1, 0.0, c, end, end
        )
        self.clock.advance_to(end)
        self.bus.publish(topics.CANDLES, candle)
        return candle
