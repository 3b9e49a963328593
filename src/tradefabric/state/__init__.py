"""State that survives a restart: the store, the recorder that fills it, and restore."""

from __future__ import annotations

from tradefabric.state.records import ResetRequest, StateBatch, StrategyState
from tradefabric.state.store import SqlStateStore, StateStore

__all__ = ["ResetRequest", "SqlStateStore", "StateBatch", "StateStore", "StrategyState"]
