"""An account's balances (free/locked) and, on a margin venue, its positions.

Spot: an open buy locks its quote value, an open sell its base quantity, and a
fill moves both assets (the fee is paid in the quote asset). Margin
(derivatives): nothing is locked; a fill changes the signed position, realized
PnL and fees settle in the margin asset.
"""

from __future__ import annotations

import enum

from tradefabric.model.orders import OrderSide
from tradefabric.venues.fakevenue.private.model import Balance, Position, VenueFill
from tradefabric.venues.fakevenue.private.rules import SymbolRules


class AccountKind(enum.StrEnum):
    """How orders draw on the account."""

    SPOT = "spot"
    MARGIN = "margin"


class Account:
    """Balances and positions of the fake venue's one account."""

    def __init__(self, kind: AccountKind, balances: dict[str, float], margin_asset: str = "USDT"):
        self.kind = kind
        self.margin_asset = margin_asset
        self._free = dict(balances)
        self._locked = dict.fromkeys(balances, 0.0)
        self._positions: dict[str, Position] = {}

    def balance(self, asset: str) -> Balance:
        """Return one asset's balance (zero when never held)."""
        return Balance(asset, self._free.get(asset, 0.0), self._locked.get(asset, 0.0))

    def balances(self) -> tuple[Balance, ...]:
        """Return every asset the account holds or held."""
        return tuple(self.balance(a) for a in sorted(self._free))

    def positions(self) -> tuple[Position, ...]:
        """Return every symbol's position (flat ones included once traded)."""
        return tuple(self._positions[s] for s in sorted(self._positions))

    def position(self, symbol: str) -> Position:
        """Return one symbol's position (flat when never traded)."""
        return self._positions.get(symbol, Position(symbol, 0.0, 0.0, 0.0))

    def lock_need(
        self, rules: SymbolRules, side: OrderSide, qty: float, price: float
    ) -> tuple[str, float]:
        """Return the asset and amount an open order of ``qty`` at ``price`` locks."""
        if self.kind is AccountKind.MARGIN:
            return self.margin_asset, 0.0
        if side is OrderSide.BUY:
            return rules.quote, qty * price
        return rules.base, qty

    def can_lock(self, asset: str, amount: float) -> bool:
        """Return True when ``amount`` of ``asset`` is free."""
        return self._free.get(asset, 0.0) + 1e-9 >= amount

    def lock(self, asset: str, amount: float) -> None:
        """Move ``amount`` of ``asset`` from free to locked."""
        # Rounded to 1e-12 so a lock taken and released leaves exactly zero behind.
        self._free[asset] = round(self._free.get(asset, 0.0) - amount, 12)
        self._locked[asset] = round(self._locked.get(asset, 0.0) + amount, 12)

    def unlock(self, asset: str, amount: float) -> None:
        """Move ``amount`` of ``asset`` back from locked to free."""
        self.lock(asset, -amount)

    def apply_fill(self, rules: SymbolRules, fill: VenueFill) -> float:
        """Settle ``fill`` (its lock already released); return the realized PnL."""
        if self.kind is AccountKind.MARGIN:
            return self._apply_margin_fill(fill)
        sign = 1.0 if fill.side is OrderSide.BUY else -1.0
        self._free[rules.base] = self._free.get(rules.base, 0.0) + sign * fill.quantity
        quote = -sign * fill.quantity * fill.price - fill.fee
        self._free[rules.quote] = self._free.get(rules.quote, 0.0) + quote
        self._locked.setdefault(rules.base, 0.0)
        self._locked.setdefault(rules.quote, 0.0)
        return 0.0

    def _apply_margin_fill(self, fill: VenueFill) -> float:
        old = self.position(fill.symbol)
        signed = fill.quantity if fill.side is OrderSide.BUY else -fill.quantity
        new_qty = round(old.quantity + signed, 12)
        realized = 0.0
        entry = old.entry_price
        if old.quantity == 0 or (old.quantity > 0) == (signed > 0):
            total = abs(old.quantity) + abs(signed)
            entry = (abs(old.quantity) * old.entry_price + abs(signed) * fill.price) / total
        else:
            closed = min(abs(signed), abs(old.quantity))
            direction = 1.0 if old.quantity > 0 else -1.0
            realized = closed * (fill.price - old.entry_price) * direction
            if new_qty == 0:
                entry = 0.0
            elif (new_qty > 0) != (old.quantity > 0):
                entry = fill.price
        self._positions[fill.symbol] = Position(
            fill.symbol, new_qty, entry, old.realized_pnl + realized
        )
        asset = self.margin_asset
        self._free[asset] = self._free.get(asset, 0.0) + realized - fill.fee
        return realized
