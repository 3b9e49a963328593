"""Quote-currency normalization: every price in USD, with rates measured on the venues.

USD, USDT, USDC and EUR are different currencies. Each venue's stablecoin and
fiat pairs (``USDT/USD``, ``USDC/USDT``, ``USDT/EUR``...) give that venue's rate;
the consensus of those rates across venues is the fallback for venues that list
no such pair. Nothing is ever assumed to be worth 1.0 USD: a currency with no
measured rate has no USD price, and its series sits out of the consensus.
"""

from __future__ import annotations

import msgspec

from tradefabric.integrity.robust import weighted_median

USD = "USD"


class Pair(msgspec.Struct, frozen=True):
    """A symbol split into its base and quote currency."""

    base: str
    quote: str


def split_symbol(symbol: str) -> Pair:
    """Return the base and quote of ``BTC/USDT`` (a settlement suffix ``:USDT`` is dropped)."""
    base, _, rest = symbol.partition("/")
    return Pair(base=base, quote=rest.partition(":")[0])


class _Rate(msgspec.Struct):
    value: float
    ts: int
    weight: float


class RateBook:
    """The latest measured rate of each (venue, currency pair) and the cross-venue consensus.

    A pair ``A/B`` priced ``p`` says one A is worth p B. ``usd_rate(venue, C)`` is
    the USD value of one C: the venue's own direct pair if fresh, else its own pair
    through another currency valued at consensus, else the consensus of all venues.
    """

    def __init__(self, currencies: tuple[str, ...], max_age_ns: int) -> None:
        self._currencies = frozenset(currencies)
        self._max_age_ns = max_age_ns
        self._pairs: dict[tuple[str, str, str], _Rate] = {}
        self._consensus: dict[str, float] = {USD: 1.0}
        self._direct_venues: dict[str, int] = {}

    def is_rate_pair(self, pair: Pair) -> bool:
        """Return True when both sides of ``pair`` are quote currencies (a conversion pair)."""
        return pair.base in self._currencies and pair.quote in self._currencies

    def update(self, venue: str, pair: Pair, price: float, ts: int, weight: float) -> None:
        """Record ``venue``'s latest price of a conversion pair at ``ts``."""
        self._pairs[(venue, pair.base, pair.quote)] = _Rate(price, ts, weight)

    def recompute(self, now: int) -> dict[str, float]:
        """Recompute the consensus USD value of every currency at ``now``; return it.

        A currency with a fresh direct USD pair on any venue is valued from those
        pairs only; one without is valued through its pairs with a valued currency.
        """
        direct = self._estimates(now, None)
        self._direct_venues = {c: len(e) for c, e in direct.items()}
        consensus = {USD: 1.0, **{c: _median(e) for c, e in direct.items()}}
        self._consensus = consensus
        for currency, estimates in self._estimates(now, consensus).items():
            if currency not in direct:
                self._consensus[currency] = _median(estimates)
        return dict(self._consensus)

    def consensus_rate(self, currency: str) -> float | None:
        """Return the consensus USD value of ``currency``, None if never measured."""
        return self._consensus.get(currency)

    def direct_venues(self, currency: str) -> int:
        """Return how many venues valued ``currency`` with a fresh direct USD pair."""
        return self._direct_venues.get(currency, 0)

    def usd_rate(self, venue: str, currency: str, now: int) -> float | None:
        """Return the USD value of one ``currency`` for prices on ``venue``, None if unknown.

        In order: the venue's own direct USD pair; the venue's own pair through a
        currency measured directly on more venues than ``currency`` itself (a
        venue's USDC/USDT values its USDC when USDT/USD trades on more venues than
        USDC/USD); the consensus.
        """
        if currency == USD:
            return 1.0
        own = self._own_rate(venue, currency, now)
        return own if own is not None else self._consensus.get(currency)

    def _own_rate(self, venue: str, currency: str, now: int) -> float | None:
        best_ts = -1
        best: float | None = None
        for (v, base, quote), rate in self._pairs.items():
            if v != venue or now - rate.ts > self._max_age_ns or currency not in (base, quote):
                continue
            other = quote if base == currency else base
            if other == USD:
                return self._value_of(currency, base, quote, rate.value, self._consensus)
            if self.direct_venues(other) <= self.direct_venues(currency):
                continue
            value = self._value_of(currency, base, quote, rate.value, self._consensus)
            if value is not None and rate.ts > best_ts:
                best_ts, best = rate.ts, value
        return best

    @staticmethod
    def _value_of(
        currency: str, base: str, quote: str, price: float, known: dict[str, float]
    ) -> float | None:
        if base == currency:
            other = known.get(quote)
            return price * other if other is not None else None
        if quote == currency:
            other = known.get(base)
            return other / price if other is not None and price > 0 else None
        return None

    def _estimates(
        self, now: int, known: dict[str, float] | None
    ) -> dict[str, list[tuple[float, float]]]:
        """Return USD estimates per currency: from direct pairs, or (``known``) through them."""
        out: dict[str, list[tuple[float, float]]] = {}
        values = known if known is not None else {USD: 1.0}
        for (_, base, quote), rate in self._pairs.items():
            if now - rate.ts > self._max_age_ns or (USD in (base, quote)) == (known is not None):
                continue
            for currency in (base, quote):
                if currency == USD:
                    continue
                value = self._value_of(currency, base, quote, rate.value, values)
                if value is not None:
                    out.setdefault(currency, []).append((value, rate.weight))
        return out


def _median(estimates: list[tuple[float, float]]) -> float:
    return weighted_median([v for v, _ in estimates], [w for _, w in estimates])
