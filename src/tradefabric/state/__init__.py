"""State that survives a restart: the store, the recorder that fills it, and restore.

``attach(kernel, store)`` is the one call a node makes: it catches the store up
from the audit log, loads orders, positions, balances and the halt into the
fresh kernel, applies pending ``risk reset`` requests, starts the recorder and
gives the execution engine client order ids unique across restarts and nodes.
"""

from __future__ import annotations

from tradefabric.state.config import StateBackend, StateConfig, open_store, open_store_at
from tradefabric.state.ids import ClientIdAllocator
from tradefabric.state.recorder import KernelParts, Recorder, RecorderStatus
from tradefabric.state.records import ResetRequest, StateBatch, StrategyState
from tradefabric.state.restore import RestoreReport, attach, audit_state, catch_up, restore
from tradefabric.state.store import SqlStateStore, StateStore

__all__ = [
    "ClientIdAllocator",
    "KernelParts",
    "Recorder",
    "RecorderStatus",
    "ResetRequest",
    "RestoreReport",
    "SqlStateStore",
    "StateBackend",
    "StateBatch",
    "StateConfig",
    "StateStore",
    "StrategyState",
    "attach",
    "audit_state",
    "catch_up",
    "open_store",
    "open_store_at",
    "restore",
]
