"""The topics analytics publishes on."""

from __future__ import annotations

from tradefabric.analytics.ensemble import Decision
from tradefabric.analytics.features.base import FeatureRow
from tradefabric.analytics.features.microstructure import DeltaBar, WhaleAlert
from tradefabric.analytics.regime import RegimeChange
from tradefabric.analytics.signals.base import Signal
from tradefabric.core.bus import Topic

SIGNALS: Topic[Signal] = Topic("analytics.signals", Signal)
"""Scored signals: confidence and factor breakdown filled in."""
DECISIONS: Topic[Decision] = Topic("analytics.decisions", Decision)
REGIME_CHANGES: Topic[RegimeChange] = Topic("analytics.regime_changes", RegimeChange)
FEATURES: Topic[FeatureRow] = Topic("analytics.features", FeatureRow)
WHALE_ALERTS: Topic[WhaleAlert] = Topic("analytics.whale_alerts", WhaleAlert)
DELTA_BARS: Topic[DeltaBar] = Topic("analytics.delta_bars", DeltaBar)
"""Aggressor buy and sell volume per symbol and base interval (delta pressure)."""
EXTERNAL_SIGNALS: Topic[Signal] = Topic("analytics.external_signals", Signal)
"""Signals from outside sources (TradingView alerts), not yet scored."""
