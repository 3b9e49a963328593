"""Positions, average price, realized/unrealized PnL, fees and balances per venue.

Balances are per venue and currency: a spot buy of ``q`` BTC/USDT at ``p`` adds
``q`` BTC and removes ``q * p + fee`` USDT. A position is the signed base
quantity a strategy holds on one instrument (``InstrumentId``: venue + symbol),
with the average entry price of what is open; realized PnL moves when it shrinks
or flips. Equity is valued in each venue's quote currency at the latest mark
(the portfolio assumes one quote currency per run, which is what the backtests
here trade).
"""

from __future__ import annotations

import msgspec

from tradefabric.model.identifiers import InstrumentId
from tradefabric.model.orders import Fill

_FLAT = 1e-12


class PositionSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A position at one moment."""

    venue: str
    symbol: str
    quantity: float
    avg_price: float
    realized_pnl: float
    unrealized_pnl: float
    fees: float
    mark: float
    traded_notional: float


class BalanceSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One currency's balance on one venue."""

    venue: str
    currency: str
    amount: float


class PortfolioTotals(msgspec.Struct, frozen=True, kw_only=True):
    """The run-wide tallies of a portfolio (what positions and balances do not hold)."""

    realized_pnl: float = 0.0
    fees: float = 0.0
    traded_notional: float = 0.0
    fill_count: int = 0
    closing_fills: int = 0
    winning_fills: int = 0


class Position:
    """A signed position on one instrument."""

    __slots__ = (
        "avg_price",
        "base",
        "fees",
        "mark",
        "quantity",
        "realized_pnl",
        "symbol",
        "traded_notional",
        "venue",
    )

    def __init__(self, instrument: InstrumentId) -> None:
        self.venue = instrument.venue
        self.symbol = instrument.symbol
        self.base = split_symbol(instrument.symbol)[0]
        self.quantity = 0.0
        self.avg_price = 0.0
        self.realized_pnl = 0.0
        self.fees = 0.0
        self.mark = 0.0
        self.traded_notional = 0.0

    def apply(self, signed_qty: float, price: float, fee: float) -> float:
        """Add a fill of ``signed_qty`` at ``price``; return the PnL it realized (before fees)."""
        self.fees += fee
        self.traded_notional += abs(signed_qty) * price
        old = self.quantity
        new = old + signed_qty
        realized = 0.0
        if old == 0.0 or (old > 0.0) == (signed_qty > 0.0):
            # Opening or adding: the average price moves, nothing is realized.
            self.avg_price = (self.avg_price * abs(old) + price * abs(signed_qty)) / abs(new)
        else:
            closed = min(abs(old), abs(signed_qty))
            realized = (price - self.avg_price) * closed * (1.0 if old > 0.0 else -1.0)
            if abs(new) <= _FLAT:
                new = 0.0
                self.avg_price = 0.0
            elif (new > 0.0) != (old > 0.0):
                self.avg_price = price  # flipped: what is open now was opened at this price
        self.quantity = new
        self.realized_pnl += realized
        return realized

    def unrealized_pnl(self) -> float:
        """Return the PnL of the open quantity at the latest mark."""
        if self.quantity == 0.0 or self.mark == 0.0:
            return 0.0
        return (self.mark - self.avg_price) * self.quantity

    def snapshot(self) -> PositionSnapshot:
        """Return the position as a frozen record."""
        return PositionSnapshot(
            venue=self.venue,
            symbol=self.symbol,
            quantity=self.quantity,
            avg_price=self.avg_price,
            realized_pnl=self.realized_pnl,
            unrealized_pnl=self.unrealized_pnl(),
            fees=self.fees,
            mark=self.mark,
            traded_notional=self.traded_notional,
        )


def split_symbol(symbol: str) -> tuple[str, str]:
    """Return (base, quote) of a unified symbol: ``BTC/USDT`` and ``BTC/USDT:USDT`` -> BTC, USDT."""
    base, _, rest = symbol.partition("/")
    quote = rest.partition(":")[0]
    return base, quote


class Portfolio:
    """Every position and balance of a run; updated by fills, marked by prices."""

    def __init__(self, initial_balances: dict[str, dict[str, float]]) -> None:
        """Start with ``initial_balances``: venue -> currency -> amount."""
        self._balances: dict[str, dict[str, float]] = {
            venue: dict(amounts) for venue, amounts in initial_balances.items()
        }
        self._positions: dict[InstrumentId, Position] = {}
        self._marks: dict[str, dict[str, float]] = {}
        """venue -> base currency -> latest mark (what equity values bases at)."""
        self.realized_pnl = 0.0
        self.fees = 0.0
        self.traded_notional = 0.0
        self.fill_count = 0
        self.closing_fills = 0
        """Fills that reduced or closed a position (round trips, for the win rate)."""
        self.winning_fills = 0
        """Closing fills whose realized PnL net of both legs' fees was positive."""
        self._open_positions: set[InstrumentId] = set()
        """Keys of the positions whose quantity is not zero (kept on every fill)."""

    def position(self, instrument: InstrumentId) -> Position:
        """Return the position on ``instrument``, created flat when new."""
        position = self._positions.get(instrument)
        if position is None:
            position = self._positions[instrument] = Position(instrument)
            self._marks.setdefault(instrument.venue, {})
        return position

    def quantity(self, instrument: InstrumentId) -> float:
        """Return the signed quantity held on ``instrument``."""
        position = self._positions.get(instrument)
        return 0.0 if position is None else position.quantity

    def on_fill(self, fill: Fill) -> None:
        """Apply a fill to its position and the venue's balances."""
        signed = fill.quantity * fill.side.sign
        instrument = InstrumentId(fill.venue, fill.symbol)
        position = self.position(instrument)
        before = abs(position.quantity)
        avg_before = position.avg_price
        traded = position.traded_notional
        entry_fee_rate = position.fees / traded if traded else 0.0
        realized = position.apply(signed, fill.price, fill.fee)
        if position.quantity != 0.0:
            self._open_positions.add(instrument)
        else:
            self._open_positions.discard(instrument)
        self.realized_pnl += realized
        if abs(position.quantity) < before or realized != 0.0:
            self.closing_fills += 1
            closed = min(before, fill.quantity)
            # Net of this fill's fee and the entry fee share of the closed quantity.
            net = realized - fill.fee - entry_fee_rate * closed * avg_before
            self.winning_fills += net > 0.0
        if position.mark == 0.0:
            position.mark = fill.price
            self._marks[fill.venue][position.base] = fill.price
        self.fees += fill.fee
        self.traded_notional += fill.quantity * fill.price
        self.fill_count += 1
        base, quote = split_symbol(fill.symbol)
        balances = self._balances.setdefault(fill.venue, {})
        balances[base] = balances.get(base, 0.0) + signed
        balances[quote] = balances.get(quote, 0.0) - signed * fill.price - fill.fee

    def set_balance(self, venue: str, currency: str, amount: float) -> None:
        """Set one balance to what a live venue reports (reconciliation: the venue is truth)."""
        self._balances.setdefault(venue, {})[currency] = amount

    def set_position(self, instrument: InstrumentId, quantity: float, avg_price: float) -> None:
        """Set a position's quantity and entry to a live venue's (reconciliation)."""
        position = self.position(instrument)
        position.quantity = quantity
        position.avg_price = avg_price if quantity else 0.0
        if quantity:
            self._open_positions.add(instrument)
        else:
            self._open_positions.discard(instrument)

    def mark(self, instrument: InstrumentId, price: float) -> None:
        """Set the latest price of ``instrument``, if a position exists there."""
        position = self._positions.get(instrument)
        if position is not None:
            position.mark = price
            self._marks[instrument.venue][position.base] = price

    @property
    def exposed(self) -> bool:
        """Return True while any position is open (equity can then move with prices)."""
        # Asked once per risk interval (every candle at 1m): a set, not a scan.
        return bool(self._open_positions)

    def equity(self) -> float:
        """Return every balance valued in its venue's quote currency at the latest marks.

        A currency is worth its mark when it is the base of a position on that
        venue, and 1 otherwise (the quote currency the run is valued in).
        """
        total = 0.0
        marks = self._marks
        for venue, balances in self._balances.items():
            venue_marks = marks.get(venue)
            for currency, amount in balances.items():
                mark = venue_marks.get(currency) if venue_marks else None
                total += amount if mark is None else amount * mark
        return total

    def gross_exposure(self) -> float:
        """Return the sum of |quantity x mark| over positions (quote units)."""
        return sum(abs(p.quantity * p.mark) for p in self._positions.values())

    def positions(self) -> list[PositionSnapshot]:
        """Return every position ever opened, sorted by venue and symbol."""
        return [p.snapshot() for _, p in sorted(self._positions.items())]

    def balances(self) -> list[BalanceSnapshot]:
        """Return every balance, sorted by venue and currency."""
        return [
            BalanceSnapshot(venue=venue, currency=currency, amount=amount)
            for venue, amounts in sorted(self._balances.items())
            for currency, amount in sorted(amounts.items())
        ]

    def balance(self, venue: str, currency: str) -> float:
        """Return one balance (0 when never held)."""
        return self._balances.get(venue, {}).get(currency, 0.0)

    def venue_balances(self, venue: str) -> list[BalanceSnapshot]:
        """Return every balance of one venue, sorted by currency."""
        amounts = self._balances.get(venue, {})
        return [
            BalanceSnapshot(venue=venue, currency=currency, amount=amounts[currency])
            for currency in sorted(amounts)
        ]

    def totals(self) -> PortfolioTotals:
        """Return the run-wide tallies (realized PnL, fees, fill counts)."""
        return PortfolioTotals(
            realized_pnl=self.realized_pnl,
            fees=self.fees,
            traded_notional=self.traded_notional,
            fill_count=self.fill_count,
            closing_fills=self.closing_fills,
            winning_fills=self.winning_fills,
        )

    def restore(
        self,
        positions: list[PositionSnapshot],
        balances: list[BalanceSnapshot],
        totals: PortfolioTotals,
    ) -> None:
        """Replace positions, balances and tallies with saved ones (a restart).

        A venue with saved balances gets exactly those (the configured initial
        balances of that venue are what the saved ones grew from).
        """
        saved: dict[str, dict[str, float]] = {}
        for b in balances:
            saved.setdefault(b.venue, {})[b.currency] = b.amount
        self._balances.update(saved)
        for p in positions:
            instrument = InstrumentId(p.venue, p.symbol)
            position = self.position(instrument)
            position.quantity = p.quantity
            position.avg_price = p.avg_price
            position.realized_pnl = p.realized_pnl
            position.fees = p.fees
            position.mark = p.mark
            position.traded_notional = p.traded_notional
            if p.mark:
                self._marks[p.venue][position.base] = p.mark
            if p.quantity != 0.0:
                self._open_positions.add(instrument)
        self.realized_pnl = totals.realized_pnl
        self.fees = totals.fees
        self.traded_notional = totals.traded_notional
        self.fill_count = totals.fill_count
        self.closing_fills = totals.closing_fills
        self.winning_fills = totals.winning_fills
