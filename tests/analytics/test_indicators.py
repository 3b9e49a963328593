"""Streaming == batch == TA-Lib on the real month of 1m candles, warm-up included."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import talib

from tests.analytics.conftest import assert_same_series
from tests.conftest import report_figure
from tradefabric.analytics.frame import CandleFrame
from tradefabric.analytics.indicators import batch as b
from tradefabric.analytics.indicators import streaming as s

Arrays = list[np.ndarray]


def _stream(frame: CandleFrame, step: Callable[[int], object]) -> Arrays:
    rows = [step(i) for i in range(len(frame))]
    table = np.array([r if isinstance(r, tuple) else (r,) for r in rows], dtype=np.float64)
    return [table[:, k] for k in range(table.shape[1])]


def _cases(f: CandleFrame) -> dict[str, tuple[Arrays, Arrays, Arrays]]:
    """Per indicator: (streaming, our batch, TA-Lib called directly)."""
    h, low, c, v = f.high, f.low, f.close, f.volume
    ema9, ema21, sma20, rsi = s.Ema(9), s.Ema(21), s.Sma(20), s.Rsi(14)
    macd, bands, atr = s.Macd(12, 26, 9), s.BollingerBands(20, 2.0, 2.0), s.Atr(14)
    obv, stoch = s.Obv(), s.Stochastic(5, 3, 3)
    m, bb, st = b.macd(c), b.bbands(c), b.stoch(h, low, c)
    k = talib.STOCH(h, low, c, fastk_period=5, slowk_period=3, slowk_matype=0, slowd_period=3,
                    slowd_matype=0)  # fmt: skip
    return {
        "EMA(9)": (_stream(f, lambda i: ema9.update(c[i])), [b.ema(c, 9)], [talib.EMA(c, 9)]),
        "EMA(21)": (_stream(f, lambda i: ema21.update(c[i])), [b.ema(c, 21)], [talib.EMA(c, 21)]),
        "SMA(20)": (_stream(f, lambda i: sma20.update(c[i])), [b.sma(c, 20)], [talib.SMA(c, 20)]),
        "RSI(14)": (_stream(f, lambda i: rsi.update(c[i])), [b.rsi(c, 14)], [talib.RSI(c, 14)]),
        "MACD(12,26,9)": (
            _stream(f, lambda i: macd.update(c[i])),
            [m.macd, m.signal, m.hist],
            list(talib.MACD(c, 12, 26, 9)),
        ),
        "BBANDS(20,2)": (
            _stream(f, lambda i: bands.update(c[i])),
            [bb.upper, bb.middle, bb.lower],
            list(talib.BBANDS(c, 20, 2.0, 2.0, 0)),
        ),
        "ATR(14)": (
            _stream(f, lambda i: atr.update(h[i], low[i], c[i])),
            [b.atr(h, low, c, 14)],
            [talib.ATR(h, low, c, 14)],
        ),
        "OBV": (_stream(f, lambda i: obv.update(c[i], v[i])), [b.obv(c, v)], [talib.OBV(c, v)]),
        "STOCH(5,3,3)": (
            _stream(f, lambda i: stoch.update(h[i], low[i], c[i])),
            [st.k, st.d],
            list(k),
        ),
    }


def test_streaming_batch_and_talib_agree(month: CandleFrame) -> None:
    for name, (streamed, batched, reference) in _cases(month).items():
        worst = 0.0
        for out_s, out_b, out_t in zip(streamed, batched, reference, strict=True):
            worst = max(worst, assert_same_series(out_b, out_t, rtol=0.0))
            worst = max(worst, assert_same_series(out_s, out_t))
            # The warm-up is real: every output starts NaN and then has values.
            assert np.isnan(out_s[0]) or name == "OBV"
            assert not np.isnan(out_s[-1])
        report_figure(
            f"analytics {month.symbol} {name}: streaming vs TA-Lib max rel error {worst:.2e} "
            f"over {len(month):,} real 1m candles, warm-up NaNs identical"
        )


def _vwap_reference(ts_open: np.ndarray, price: np.ndarray, volume: np.ndarray) -> np.ndarray:
    # Independent: for each candle, sum its UTC day's candles so far from scratch.
    day = 86_400_000_000_000
    out = np.empty(len(price))
    for i in range(len(price)):
        start = i
        while start > 0 and ts_open[start - 1] // day == ts_open[i] // day:
            start -= 1
        notional = sum(float(price[j]) * float(volume[j]) for j in range(start, i + 1))
        out[i] = notional / sum(float(volume[j]) for j in range(start, i + 1))
    return out


@pytest.mark.slow
def test_session_vwap_matches_a_direct_computation(btc_month: CandleFrame) -> None:
    f = btc_month.head(6000)  # four UTC days and a half: several session resets
    price = b.vwap_prices(f.high, f.low, f.close, f.vwap)
    np.testing.assert_array_equal(price, (f.high + f.low + f.close) / 3.0)  # no vwap: typical
    reference = _vwap_reference(f.ts_open, price, f.volume)
    batch = b.session_vwap(f.ts_open, price, f.volume)
    vwap = s.SessionVwap()
    streamed = np.array(
        [vwap.update(int(f.ts_open[i]), price[i], f.volume[i]) for i in range(len(f))]
    )
    error = max(assert_same_series(batch, reference), assert_same_series(streamed, reference))
    days = len(np.unique(f.ts_open // 86_400_000_000_000))
    assert days >= 4
    report_figure(f"analytics session VWAP vs direct sums: max rel error {error:.1e} ({days} days)")


def test_rolling_vwap_and_twap_match_direct_computations(btc_month: CandleFrame) -> None:
    f = btc_month.head(5000)
    window = 20
    price = (f.high + f.low + f.close) / 3.0
    mean4 = (f.open + f.high + f.low + f.close) / 4.0
    vwap_ref = np.full(len(f), np.nan)
    twap_ref = np.full(len(f), np.nan)
    for i in range(window - 1, len(f)):
        sl = slice(i - window + 1, i + 1)
        vwap_ref[i] = float(np.dot(price[sl], f.volume[sl]) / f.volume[sl].sum())
        twap_ref[i] = float(mean4[sl].mean())
    rolling, twap = s.RollingVwap(window), s.Twap(window)
    streamed_vwap = np.array([rolling.update(price[i], f.volume[i]) for i in range(len(f))])
    streamed_twap = np.array([twap.update(mean4[i]) for i in range(len(f))])
    errors = [
        assert_same_series(b.rolling_vwap(price, f.volume, window), vwap_ref),
        assert_same_series(streamed_vwap, vwap_ref),
        assert_same_series(b.twap(mean4, window), twap_ref),
        assert_same_series(streamed_twap, twap_ref),
    ]
    report_figure(f"analytics rolling VWAP/TWAP(20) vs direct: max rel error {max(errors):.1e}")
