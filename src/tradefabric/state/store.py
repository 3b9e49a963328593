"""The state store: one interface, an SQL implementation shared by SQLite and PostgreSQL.

Every record is stored as its msgspec JSON beside the key columns it is looked
up by, so the two backends differ only in how they connect, open a
transaction and spell an auto-increment column (``sqlite.py``, ``postgres.py``).
A ``StateBatch`` is one transaction: after a crash the store holds every batch
written before it, whole, and nothing of the batch being written.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar

import msgspec

from tradefabric.execution.portfolio import BalanceSnapshot, PortfolioTotals, PositionSnapshot
from tradefabric.model.orders import Fill, OrderSnapshot, ParentSnapshot
from tradefabric.risk.engine import RiskSnapshot
from tradefabric.state.records import ResetRequest, StateBatch, StrategyState

T = TypeVar("T")

_TOTALS = "portfolio_totals"
_RISK = "risk"


class StateStore(Protocol):
    """Where a node's state survives a restart (``SqliteStateStore``, ``PostgresStateStore``)."""

    def write(self, batch: StateBatch) -> None:
        """Store every change of ``batch`` in one transaction (a fill seen before is skipped)."""
        ...

    def orders(self, open_only: bool = False) -> list[OrderSnapshot]:
        """Return the latest state of every order (or of the open ones), by creation."""
        ...

    def fills(self) -> list[Fill]:
        """Return every fill, in the order they were stored."""
        ...

    def parents(self, open_only: bool = False) -> list[ParentSnapshot]:
        """Return the latest state of every parent order (or of the open ones), by creation."""
        ...

    def positions(self) -> list[PositionSnapshot]:
        """Return every position, sorted by venue and symbol."""
        ...

    def balances(self) -> list[BalanceSnapshot]:
        """Return every balance, sorted by venue and currency."""
        ...

    def totals(self) -> PortfolioTotals | None:
        """Return the portfolio's tallies, None before the first fill."""
        ...

    def risk(self) -> RiskSnapshot | None:
        """Return the saved halt and day high, None when never saved."""
        ...

    def strategy_state(self, strategy_id: str) -> StrategyState | None:
        """Return what a strategy saved, None when it saved nothing."""
        ...

    def reserve(self, name: str, count: int) -> int:
        """Atomically take the next ``count`` values of counter ``name``; return the first.

        Values start at 1 and are never handed out twice, whatever process asks.
        """
        ...

    def counter(self, name: str) -> int:
        """Return the last value handed out by counter ``name`` (0 when never used)."""
        ...

    def request_reset(self, request: ResetRequest) -> None:
        """Record a person's reset of the risk halt, pending until the node applies it."""
        ...

    def pending_resets(self) -> list[ResetRequest]:
        """Return the reset requests not applied yet, oldest first."""
        ...

    def mark_resets_applied(self, up_to_ts: int, applied_ts: int) -> None:
        """Mark every pending request made at or before ``up_to_ts`` as applied."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class Sql(Protocol):
    """Run one statement inside the current transaction and return its rows."""

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) with ``params``."""
        ...


_encoder = msgspec.json.Encoder()


def _json(record: msgspec.Struct) -> str:
    return _encoder.encode(record).decode()


def _decode(data: str | bytes, kind: type[T]) -> T:
    return msgspec.json.decode(data, type=kind)


class SqlStateStore(abc.ABC):
    """The ``StateStore`` on an SQL database; subclasses connect and open transactions."""

    AUTO_ID = "INTEGER PRIMARY KEY AUTOINCREMENT"
    BLOB = "BLOB"
    FLOAT = "REAL"

    @abc.abstractmethod
    def _transaction(self) -> contextlib.AbstractContextManager[Sql]:
        """Open a write transaction and return its statement runner."""

    def _ddl_prelude(self) -> tuple[str, ...]:
        """Return statements run first in the table-creating transaction."""
        return ()

    def _create_tables(self) -> None:
        ddl = (
            "CREATE TABLE IF NOT EXISTS orders (client_order_id TEXT PRIMARY KEY, "
            "is_open INTEGER NOT NULL, ts_init BIGINT NOT NULL, data TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS fills (n {self.AUTO_ID}, client_order_id TEXT NOT NULL, "
            "fill_id TEXT NOT NULL, data TEXT NOT NULL, UNIQUE (client_order_id, fill_id))",
            "CREATE TABLE IF NOT EXISTS positions (venue TEXT NOT NULL, symbol TEXT NOT NULL, "
            "data TEXT NOT NULL, PRIMARY KEY (venue, symbol))",
            "CREATE TABLE IF NOT EXISTS balances (venue TEXT NOT NULL, currency TEXT NOT NULL, "
            f"amount {self.FLOAT} NOT NULL, PRIMARY KEY (venue, currency))",
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, data TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS strategy_state (strategy_id TEXT PRIMARY KEY, "
            f"ts BIGINT NOT NULL, data {self.BLOB} NOT NULL)",
            "CREATE TABLE IF NOT EXISTS parents (parent_id TEXT PRIMARY KEY, "
            "is_open INTEGER NOT NULL, ts_init BIGINT NOT NULL, data TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS resets (n {self.AUTO_ID}, operator TEXT NOT NULL, "
            "reason TEXT NOT NULL, ts BIGINT NOT NULL, applied_ts BIGINT NOT NULL)",
        )
        with self._transaction() as sql:
            for statement in self._ddl_prelude() + ddl:
                sql(statement)

    # Writes ------------------------------------------------------------------------------

    def write(self, batch: StateBatch) -> None:
        """Store every change of ``batch`` in one transaction (a fill seen before is skipped)."""
        if not len(batch):
            return
        with self._transaction() as sql:
            _write_orders(sql, batch.orders)
            _write_parents(sql, batch.parents)
            _write_fills(sql, batch.fills)
            _write_portfolio(sql, batch)
            for state in batch.strategies:
                sql(
                    "INSERT INTO strategy_state (strategy_id, ts, data) VALUES (?, ?, ?) "
                    "ON CONFLICT (strategy_id) DO UPDATE SET ts = excluded.ts, "
                    "data = excluded.data",
                    (state.strategy_id, state.ts, state.data),
                )
            if batch.risk is not None:
                _put_meta(sql, _RISK, batch.risk)

    def reserve(self, name: str, count: int) -> int:
        """Atomically take the next ``count`` values of counter ``name``; return the first."""
        if count < 1:
            raise ValueError(f"reserve: count must be >= 1, got {count}")
        with self._transaction() as sql:
            sql(
                "INSERT INTO counters (name, value) VALUES (?, 0) ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            rows = sql(
                "UPDATE counters SET value = value + ? WHERE name = ? RETURNING value",
                (count, name),
            )
        return int(rows[0][0]) - count + 1

    def request_reset(self, request: ResetRequest) -> None:
        """Record a person's reset of the risk halt, pending until the node applies it."""
        with self._transaction() as sql:
            sql(
                "INSERT INTO resets (operator, reason, ts, applied_ts) VALUES (?, ?, ?, ?)",
                (request.operator, request.reason, request.ts, request.applied_ts),
            )

    def mark_resets_applied(self, up_to_ts: int, applied_ts: int) -> None:
        """Mark every pending request made at or before ``up_to_ts`` as applied."""
        with self._transaction() as sql:
            sql(
                "UPDATE resets SET applied_ts = ? WHERE applied_ts = 0 AND ts <= ?",
                (applied_ts, up_to_ts),
            )

    # Reads -------------------------------------------------------------------------------

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as sql:
            return sql(statement, params)

    def orders(self, open_only: bool = False) -> list[OrderSnapshot]:
        """Return the latest state of every order (or of the open ones), by creation."""
        where = " WHERE is_open = 1" if open_only else ""
        rows = self._rows(f"SELECT data FROM orders{where} ORDER BY ts_init, client_order_id")
        return [_decode(r[0], OrderSnapshot) for r in rows]

    def parents(self, open_only: bool = False) -> list[ParentSnapshot]:
        """Return the latest state of every parent order (or of the open ones), by creation."""
        where = " WHERE is_open = 1" if open_only else ""
        rows = self._rows(f"SELECT data FROM parents{where} ORDER BY ts_init, parent_id")
        return [_decode(r[0], ParentSnapshot) for r in rows]

    def fills(self) -> list[Fill]:
        """Return every fill, in the order they were stored."""
        return [_decode(r[0], Fill) for r in self._rows("SELECT data FROM fills ORDER BY n")]

    def positions(self) -> list[PositionSnapshot]:
        """Return every position, sorted by venue and symbol."""
        rows = self._rows("SELECT data FROM positions ORDER BY venue, symbol")
        return [_decode(r[0], PositionSnapshot) for r in rows]

    def balances(self) -> list[BalanceSnapshot]:
        """Return every balance, sorted by venue and currency."""
        rows = self._rows("SELECT venue, currency, amount FROM balances ORDER BY venue, currency")
        return [BalanceSnapshot(venue=v, currency=c, amount=float(a)) for v, c, a in rows]

    def _meta(self, key: str, kind: type[T]) -> T | None:
        rows = self._rows("SELECT data FROM meta WHERE key = ?", (key,))
        return _decode(rows[0][0], kind) if rows else None

    def totals(self) -> PortfolioTotals | None:
        """Return the portfolio's tallies, None before the first fill."""
        return self._meta(_TOTALS, PortfolioTotals)

    def risk(self) -> RiskSnapshot | None:
        """Return the saved halt and day high, None when never saved."""
        return self._meta(_RISK, RiskSnapshot)

    def strategy_state(self, strategy_id: str) -> StrategyState | None:
        """Return what a strategy saved, None when it saved nothing."""
        rows = self._rows(
            "SELECT ts, data FROM strategy_state WHERE strategy_id = ?", (strategy_id,)
        )
        if not rows:
            return None
        return StrategyState(strategy_id=strategy_id, ts=int(rows[0][0]), data=bytes(rows[0][1]))

    def counter(self, name: str) -> int:
        """Return the last value handed out by counter ``name`` (0 when never used)."""
        rows = self._rows("SELECT value FROM counters WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else 0

    def pending_resets(self) -> list[ResetRequest]:
        """Return the reset requests not applied yet, oldest first."""
        rows = self._rows("SELECT operator, reason, ts FROM resets WHERE applied_ts = 0 ORDER BY n")
        return [ResetRequest(operator=o, reason=r, ts=int(t)) for o, r, t in rows]


def _write_orders(sql: Sql, orders: Sequence[OrderSnapshot]) -> None:
    for order in _latest(orders, lambda o: o.client_order_id):
        is_open = 0 if order.status in _TERMINAL else 1
        sql(
            "INSERT INTO orders (client_order_id, is_open, ts_init, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (client_order_id) DO UPDATE SET is_open = excluded.is_open, "
            "data = excluded.data",
            (order.client_order_id, is_open, order.ts_init, _json(order)),
        )


def _write_parents(sql: Sql, parents: Sequence[ParentSnapshot]) -> None:
    for parent in _latest(parents, lambda p: p.parent_id):
        is_open = 0 if parent.status in _TERMINAL else 1
        sql(
            "INSERT INTO parents (parent_id, is_open, ts_init, data) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (parent_id) DO UPDATE SET is_open = excluded.is_open, "
            "data = excluded.data",
            (parent.parent_id, is_open, parent.ts_init, _json(parent)),
        )


def _write_fills(sql: Sql, fills: Sequence[Fill]) -> None:
    for fill in fills:
        sql(
            "INSERT INTO fills (client_order_id, fill_id, data) VALUES (?, ?, ?) "
            "ON CONFLICT (client_order_id, fill_id) DO NOTHING",
            (fill.client_order_id, fill.fill_id, _json(fill)),
        )


def _write_portfolio(sql: Sql, batch: StateBatch) -> None:
    for position in _latest(batch.positions, lambda p: (p.venue, p.symbol)):
        sql(
            "INSERT INTO positions (venue, symbol, data) VALUES (?, ?, ?) "
            "ON CONFLICT (venue, symbol) DO UPDATE SET data = excluded.data",
            (position.venue, position.symbol, _json(position)),
        )
    for balance in _latest(batch.balances, lambda b: (b.venue, b.currency)):
        sql(
            "INSERT INTO balances (venue, currency, amount) VALUES (?, ?, ?) "
            "ON CONFLICT (venue, currency) DO UPDATE SET amount = excluded.amount",
            (balance.venue, balance.currency, balance.amount),
        )
    if batch.totals is not None:
        _put_meta(sql, _TOTALS, batch.totals)


def _put_meta(sql: Sql, key: str, record: msgspec.Struct) -> None:
    sql(
        "INSERT INTO meta (key, data) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET data = excluded.data",
        (key, _json(record)),
    )


def _latest(records: Sequence[T], key: Any) -> Iterator[T]:
    """Yield the last record of each key, in the order keys first appear (one upsert each)."""
    last: dict[Any, T] = {}
    for record in records:
        last.pop(key(record), None)
        last[key(record)] = record
    yield from last.values()


_TERMINAL = frozenset({"filled", "cancelled", "rejected", "expired"})
