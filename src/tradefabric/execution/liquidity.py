"""Liquidity forecaster: the slippage an order of notional Q will pay, from the book and its decay.

Slippage here is what walking the book costs against the mid: a buy of notional Q
takes the asks from the best level on until Q is spent; its slippage is
``(vwap - mid) / mid`` in bps (sells symmetric), so half the spread is included.

An order is decided on the book we see now and fills after a latency L, against
the book *then*. The naive forecast walks the stale book (what we see now). The
forecaster adds how depth near the top is moving, measured on the same series
of walked slippages sampled every ``step_ms``:

- ``level``: the walked slippage now (stale by L at the fill);
- ``trend``: its change over the last ``trend_ms`` (depth thinning or refilling);
- ``mean``: its exponentially weighted mean over ``halflife_ms`` (where depth
  reverts to: a thinned top refills toward it, a thick one is eaten back to it).

Per notional of the grid, ``forecast = c0 + c1 * level + c2 * trend + c3 * mean``,
fitted on recorded books (``fit_liquidity_model``) and
evaluated on later books of the same recording (``evaluate_forecast``) against
the slippage realized by walking the actual book at the fill time.
``LiquidityForecaster`` runs the fitted model on a live bus and is the simulated
venue's impact curve ((symbol, notional) -> bps).

Two losses, for two uses. Walked slippage is very skewed: most of the time an
order fills at the touch, now and then the top is thin and it walks far. The
``absolute`` fit forecasts the conditional median (best MAE and median error:
what "how wrong is the forecast for this order" asks); the ``squared`` fit
forecasts the conditional mean (unbiased expected cost: what a simulated venue
charging many orders needs).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from pathlib import Path

import msgspec
import numpy as np

from tradefabric.core.bus import MessageBus
from tradefabric.core.clock import SimClock
from tradefabric.core.errors import ConfigError
from tradefabric.core.time import NS_PER_MS
from tradefabric.data import topics
from tradefabric.data.book_sync import OrderBooks
from tradefabric.data.order_book import OrderBook
from tradefabric.execution.sim.exchange import BookSource
from tradefabric.model.data import OrderBookDeltas, PriceLevel
from tradefabric.venues.registry import sequence_rules, venue_profile
from tradefabric.venues.replay.replayer import Replayer

_WALK_LEVELS = 400
"""Levels walked per side; a notional needing more is "not walkable" (NaN)."""

DEFAULT_NOTIONALS = (1_000.0, 10_000.0, 50_000.0, 100_000.0, 250_000.0)


def walk_slippage_bps(levels: Sequence[PriceLevel], notional: float, mid: float) -> float:
    """Return the bps cost against ``mid`` of taking ``notional`` from ``levels`` (best first).

    NaN when the levels hold less than ``notional``.
    """
    left = notional
    size = 0.0
    for price, available in levels:
        value = price * available
        if value >= left:
            size += left / price
            left = 0.0
            break
        size += available
        left -= value
    if left > 0.0 or size <= 0.0:
        return math.nan
    vwap = notional / size
    return abs(vwap - mid) / mid * 10_000.0


def book_slippage(book: OrderBook, notionals: Sequence[float]) -> tuple[list[float], list[float]]:
    """Return (buy, sell) walked slippage in bps of each notional on ``book``."""
    mid = book.mid()
    if not book.valid or math.isnan(mid):
        nan = [math.nan] * len(notionals)
        return nan, list(nan)
    depth = book.depth(_WALK_LEVELS)
    buys = [walk_slippage_bps(depth.asks, q, mid) for q in notionals]
    sells = [walk_slippage_bps(depth.bids, q, mid) for q in notionals]
    return buys, sells


class SlippageSeries(msgspec.Struct, frozen=True, kw_only=True):
    """Walked slippage of a recorded book sampled on a time grid (NaN: not walkable)."""

    venue: str
    symbol: str
    step_ns: int
    notionals: tuple[float, ...]
    ts: list[int]
    buy: list[list[float]]
    """``buy[i][k]``: slippage of a buy of ``notionals[k]`` at ``ts[i]``."""
    sell: list[list[float]]


class _GridSampler:
    """Samples the book *before* each delta applies: that state held since the last one."""

    def __init__(self, notionals: Sequence[float], step_ns: int) -> None:
        self.books: OrderBooks | None = None
        self._notionals = tuple(notionals)
        self._step = step_ns
        self._next = -1
        self.venue = ""
        self.symbol = ""
        self.ts: list[int] = []
        self.buy: list[list[float]] = []
        self.sell: list[list[float]] = []

    def on_deltas(self, deltas: OrderBookDeltas) -> None:
        book = self.books.book(deltas.venue, deltas.symbol) if self.books else None
        if book is None or not book.valid:
            return
        if not self.symbol:
            self.venue, self.symbol = deltas.venue, deltas.symbol
        if deltas.symbol != self.symbol:
            return
        now = deltas.ts_event
        if self._next < 0:
            self._next = now - now % self._step + self._step
            return
        if self._next >= now:
            return
        buy, sell = book_slippage(book, self._notionals)
        while self._next < now:
            self.ts.append(self._next)
            self.buy.append(buy)
            self.sell.append(sell)
            self._next += self._step


def record_slippage(
    path: Path,
    venue: str,
    notionals: Sequence[float] = DEFAULT_NOTIONALS,
    step_ms: int = 100,
) -> SlippageSeries:
    """Replay a recording and sample the walked slippage of its (first) book every ``step_ms``.

    The sample at grid time g is the book after every change with ``ts_event <= g``
    (the sampler sees each change before the book applies it).
    """
    clock = SimClock()
    bus = MessageBus()
    sampler = _GridSampler(notionals, step_ms * NS_PER_MS)
    # Subscribed before the books are built: the sampler sees each change before it applies.
    bus.subscribe(topics.BOOK_DELTAS, sampler.on_deltas)
    sampler.books = OrderBooks(bus, clock, sequence_rules())
    parser = venue_profile(venue).make_parser(bus)
    Replayer(clock, parser).run(path)
    return SlippageSeries(
        venue=sampler.venue,
        symbol=sampler.symbol,
        step_ns=step_ms * NS_PER_MS,
        notionals=tuple(notionals),
        ts=sampler.ts,
        buy=sampler.buy,
        sell=sampler.sell,
    )


class Loss(enum.StrEnum):
    """What the fit minimizes (see the module docstring)."""

    ABSOLUTE = "absolute"
    SQUARED = "squared"


class LiquidityModel(msgspec.Struct, frozen=True, kw_only=True):
    """A fitted forecaster: coefficients (c0, c1 level, c2 trend, c3 mean) per notional."""

    loss: Loss
    notionals: tuple[float, ...]
    latency_ms: float
    step_ms: float
    trend_ms: float
    halflife_ms: float
    coefficients: tuple[tuple[float, float, float, float], ...]
    fallback_bps: float = 1.0
    """Slippage returned while no valid book is known."""


class ForecastError(msgspec.Struct, frozen=True, kw_only=True):
    """Forecast error against the walked actual book, in bps, for one notional (or all)."""

    notional: float
    """0.0 for the row pooling every notional."""
    samples: int
    mae_bps: float
    median_bps: float
    bias_bps: float
    """Mean of forecast minus realized."""
    naive_mae_bps: float
    naive_median_bps: float
    naive_bias_bps: float
    mean_realized_bps: float


class ForecastReport(msgspec.Struct, frozen=True, kw_only=True):
    """How a fitted model did on the evaluation part of a recording."""

    venue: str
    symbol: str
    latency_ms: float
    train_samples: int
    rows: list[ForecastError]

    @property
    def pooled(self) -> ForecastError:
        """Return the row pooling every notional."""
        return self.rows[-1]


def _ewm(x: np.ndarray, alpha: float) -> np.ndarray:
    out = np.empty_like(x)
    mean = math.nan
    for i, value in enumerate(x.tolist()):
        if math.isnan(value):
            out[i] = mean
            continue
        mean = value if math.isnan(mean) else mean + alpha * (value - mean)
        out[i] = mean
    return out


def _design(
    s: np.ndarray, lag: int, trend: int, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (features at t - lag, target at t, naive forecast) for one slippage series."""
    mean = _ewm(s, alpha)
    start = lag + trend
    level = s[start - lag : len(s) - lag]
    past = s[start - lag - trend : len(s) - lag - trend]
    features = np.column_stack(
        [np.ones(len(level)), level, level - past, mean[start - lag : len(s) - lag]]
    )
    target = s[start:]
    return features, target, level


def _columns(series: SlippageSeries, k: int) -> list[np.ndarray]:
    buy = np.array([row[k] for row in series.buy], dtype=np.float64)
    sell = np.array([row[k] for row in series.sell], dtype=np.float64)
    return [buy, sell]


def _steps(series: SlippageSeries, ms: float) -> int:
    return max(1, round(ms * NS_PER_MS / series.step_ns))


def _split(series: SlippageSeries, train_fraction: float) -> int:
    if not 0.0 < train_fraction < 1.0:
        raise ConfigError("train_fraction must be in (0, 1)")
    return int(len(series.ts) * train_fraction)


def fit_liquidity_model(
    series: SlippageSeries,
    latency_ms: float,
    train_fraction: float = 0.6,
    *,
    trend_ms: float = 1_000.0,
    halflife_ms: float = 10_000.0,
    loss: Loss = Loss.ABSOLUTE,
) -> LiquidityModel:
    """Fit the forecaster on the first ``train_fraction`` of ``series``, minimizing ``loss``."""
    end = _split(series, train_fraction)
    lag, trend = _steps(series, latency_ms), _steps(series, trend_ms)
    alpha = 1.0 - 0.5 ** (series.step_ns / (halflife_ms * NS_PER_MS))
    coefficients: list[tuple[float, float, float, float]] = []
    for k in range(len(series.notionals)):
        xs, ys = [], []
        for s in _columns(series, k):
            x, y, _ = _design(s[:end], lag, trend, alpha)
            ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
            xs.append(x[ok])
            ys.append(y[ok])
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        if len(y_all) < 10:
            coefficients.append((0.0, 1.0, 0.0, 0.0))  # too little data: the naive forecast
            continue
        if loss is Loss.ABSOLUTE:
            beta = _least_absolute(x_all, y_all)
        else:
            beta = np.linalg.lstsq(x_all, y_all, rcond=None)[0]
        c0, c1, c2, c3 = (float(b) for b in beta)
        coefficients.append((c0, c1, c2, c3))
    return LiquidityModel(
        loss=loss,
        notionals=series.notionals,
        latency_ms=latency_ms,
        step_ms=series.step_ns / NS_PER_MS,
        trend_ms=trend_ms,
        halflife_ms=halflife_ms,
        coefficients=tuple(coefficients),
    )


def _least_absolute(x: np.ndarray, y: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Return the coefficients minimizing the mean absolute error (reweighted least squares).

    Absolute, not squared, error: errors are judged by MAE and median, and the
    book most often does not change within a latency, which squared error would
    trade away to fit the rare large moves.
    """
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    start = np.zeros(x.shape[1])
    start[1] = 1.0  # the naive forecast is one candidate; keep the better of the two
    for _ in range(iterations):
        weights = 1.0 / np.maximum(np.abs(y - x @ beta), 1e-4)
        root = np.sqrt(weights)
        beta, *_ = np.linalg.lstsq(x * root[:, None], y * root, rcond=None)
    if np.abs(y - x @ start).mean() <= np.abs(y - x @ beta).mean():
        return start
    return np.asarray(beta, dtype=np.float64)


def _error_row(
    notional: float, pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> ForecastError:
    forecast = np.concatenate([p[0] for p in pairs])
    naive = np.concatenate([p[1] for p in pairs])
    realized = np.concatenate([p[2] for p in pairs])
    err, naive_err = np.abs(forecast - realized), np.abs(naive - realized)
    n = len(realized)
    return ForecastError(
        notional=notional,
        samples=n,
        mae_bps=float(err.mean()) if n else math.nan,
        median_bps=float(np.median(err)) if n else math.nan,
        bias_bps=float((forecast - realized).mean()) if n else math.nan,
        naive_bias_bps=float((naive - realized).mean()) if n else math.nan,
        naive_mae_bps=float(naive_err.mean()) if n else math.nan,
        naive_median_bps=float(np.median(naive_err)) if n else math.nan,
        mean_realized_bps=float(realized.mean()) if n else math.nan,
    )


def evaluate_forecast(
    model: LiquidityModel, series: SlippageSeries, train_fraction: float = 0.6
) -> ForecastReport:
    """Forecast every sample after the training part; compare with the walked actual book.

    The forecast for time t uses only samples up to t - latency (the decision's
    book); the realized slippage walks the book at t. The naive baseline is the
    walked slippage of the stale book itself.
    """
    start = _split(series, train_fraction)
    lag, trend = _steps(series, model.latency_ms), _steps(series, model.trend_ms)
    alpha = 1.0 - 0.5 ** (series.step_ns / (model.halflife_ms * NS_PER_MS))
    rows: list[ForecastError] = []
    pooled: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for k, notional in enumerate(model.notionals):
        pairs = []
        for s in _columns(series, k):
            # Features need history: the EWM runs over the whole series, but only
            # targets after the training part are scored.
            x, y, naive = _design(s, lag, trend, alpha)
            first_target = start - (lag + trend)
            x, y, naive = x[first_target:], y[first_target:], naive[first_target:]
            ok = np.isfinite(x).all(axis=1) & np.isfinite(y)
            forecast = x[ok] @ np.array(model.coefficients[k])
            pairs.append((forecast, naive[ok], y[ok]))
        rows.append(_error_row(notional, pairs))
        pooled.extend(pairs)
    rows.append(_error_row(0.0, pooled))
    return ForecastReport(
        venue=series.venue,
        symbol=series.symbol,
        latency_ms=model.latency_ms,
        train_samples=start,
        rows=rows,
    )


class _SymbolState:
    __slots__ = ("history", "mean", "next_ns")

    def __init__(self, width: int) -> None:
        self.next_ns = -1
        self.history: list[list[float]] = []
        self.mean = [math.nan] * width


class LiquidityForecaster:
    """Run a fitted ``LiquidityModel`` on live books; ``slippage_bps`` is the sim's impact curve.

    Subscribe after the books (``OrderBooks``) so each change is seen applied;
    the book is sampled on the model's step grid, at the first change at or
    after each grid time.
    """

    def __init__(
        self, model: LiquidityModel, bus: MessageBus, books: BookSource, venue: str
    ) -> None:
        self.model = model
        self._books = books
        self._venue = venue
        self._step = int(model.step_ms * NS_PER_MS)
        self._trend = max(1, round(model.trend_ms / model.step_ms))
        self._alpha = 1.0 - 0.5 ** (model.step_ms / model.halflife_ms)
        self._state: dict[str, _SymbolState] = {}
        self.forecasts = 0
        bus.subscribe(topics.BOOK_DELTAS, self.on_deltas)

    def on_deltas(self, deltas: OrderBookDeltas) -> None:
        """Sample the book on the model's grid; keep the trend window and the mean."""
        if deltas.venue != self._venue:
            return
        state = self._state.get(deltas.symbol)
        if state is None:
            state = self._state[deltas.symbol] = _SymbolState(len(self.model.notionals))
        if deltas.ts_event < state.next_ns:
            return
        state.next_ns = deltas.ts_event - deltas.ts_event % self._step + self._step
        book = self._books.book(self._venue, deltas.symbol)
        if book is None or not book.valid:
            return
        buy, sell = book_slippage(book, self.model.notionals)
        level = [_mean2(b, s) for b, s in zip(buy, sell, strict=True)]
        state.history.append(level)
        if len(state.history) > self._trend + 1:
            del state.history[0]
        for k, value in enumerate(level):
            if not math.isnan(value):
                m = state.mean[k]
                state.mean[k] = value if math.isnan(m) else m + self._alpha * (value - m)

    def forecast_grid(self, symbol: str) -> list[float]:
        """Return the forecast slippage (bps) of every grid notional; NaN where unknown."""
        state = self._state.get(symbol)
        if state is None or not state.history:
            return [math.nan] * len(self.model.notionals)
        now, past = state.history[-1], state.history[0]
        out = []
        for k, (c0, c1, c2, c3) in enumerate(self.model.coefficients):
            level, mean = now[k], state.mean[k]
            trend = level - past[k]
            out.append(c0 + c1 * level + c2 * trend + c3 * mean)
        return out

    def slippage_bps(self, symbol: str, notional: float) -> float:
        """Return the forecast slippage of ``notional`` (interpolated along the grid)."""
        self.forecasts += 1
        grid = self.forecast_grid(symbol)
        xs = [q for q, v in zip(self.model.notionals, grid, strict=True) if not math.isnan(v)]
        ys = [v for v in grid if not math.isnan(v)]
        if not ys:
            return self.model.fallback_bps
        return max(0.0, float(np.interp(notional, xs, ys)))


def _mean2(a: float, b: float) -> float:
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return (a + b) / 2.0


def load_liquidity_model(path: Path) -> LiquidityModel:
    """Read a model written by ``save_liquidity_model``."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=LiquidityModel)
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(f"{path}: not a liquidity model: {exc}") from exc


def save_liquidity_model(path: Path, model: LiquidityModel) -> None:
    """Write a fitted model as JSON."""
    path.write_bytes(msgspec.json.format(msgspec.json.encode(model), indent=2) + b"\n")
