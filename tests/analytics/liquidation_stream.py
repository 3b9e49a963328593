"""A liquidation + open interest stream in real wire formats, driven by the real candles.

There is no real liquidation history on this machine: only the payload formats
(``format_fixtures/binance/futures/market_data_json/liquidation_stream.json`` and
Bybit's documented ``allLiquidation`` / ``tickers`` frames). This builds frames in
exactly those formats from the real BTC/USDT month: a minute that fell (rose) more
than 0.35% liquidates longs (shorts) for a share of its traded notional, split
between Binance USD-M and Bybit; open interest grows with volume and shrinks by
what was liquidated. The frames go through the real venue parsers onto a bus, so
the alpha sees exactly the domain events a live feed would publish.
"""

from __future__ import annotations

import json
from pathlib import Path

from tradefabric.analytics.frame import CandleFrame
from tradefabric.core.bus import MessageBus
from tradefabric.data import topics
from tradefabric.model.data import Liquidation, OpenInterest
from tradefabric.venues.registry import venue_profile

MS = 1_000_000


def _force_order(
    template: dict[str, object], side: str, price: float, qty: float, ts_ms: int
) -> bytes:
    data = json.loads(json.dumps(template))
    data["E"] = ts_ms
    order = data["o"]
    size, px = f"{qty:.3f}", f"{price:.2f}"
    order.update({"s": "BTCUSDT", "S": side, "q": size, "p": px, "ap": px, "l": size, "z": size})
    order["T"] = ts_ms
    return json.dumps({"stream": "btcusdt@forceOrder", "data": data}).encode()


def _bybit_liquidation(position_side: str, price: float, qty: float, ts_ms: int) -> bytes:
    item = {"T": ts_ms, "s": "BTCUSDT", "S": position_side, "v": f"{qty:.3f}", "p": f"{price:.2f}"}
    frame = {"topic": "allLiquidation.BTCUSDT", "type": "snapshot", "ts": ts_ms + 1, "data": [item]}
    return json.dumps(frame).encode()


def _bybit_ticker(template: dict[str, object], oi: float, cs: int, ts_ms: int) -> bytes:
    frame = json.loads(json.dumps(template))
    frame.update({"cs": cs, "ts": ts_ms, "type": "delta"})
    frame["data"] = {"symbol": "BTCUSDT", "openInterest": f"{oi:.3f}"}
    return json.dumps(frame).encode()


def build_stream(
    shared_data: Path, frame: CandleFrame, move: float = 0.0035
) -> tuple[list[Liquidation], list[OpenInterest]]:
    """Return the liquidations and open interest the real parsers publish for the frames."""
    fixtures = shared_data / "format_fixtures"
    force = json.loads(
        (fixtures / "binance/futures/market_data_json/liquidation_stream.json").read_text()
    )
    ticker = json.loads((fixtures / "bybit/ws_ticker_linear.json").read_text())
    bus = MessageBus()
    liquidations: list[Liquidation] = []
    open_interest: list[OpenInterest] = []
    bus.subscribe(topics.LIQUIDATIONS, liquidations.append)
    bus.subscribe(topics.OPEN_INTEREST, open_interest.append)
    binance = venue_profile("binance-usdm").make_parser(bus)
    bybit = venue_profile("bybit-linear").make_parser(bus)
    oi_binance, oi_bybit = 80_000.0, 50_000.0
    for i in range(len(frame)):
        start_ms = int(frame.ts_open[i]) // MS
        o, c, v = float(frame.open[i]), float(frame.close[i]), float(frame.volume[i])
        change = c / o - 1.0
        liquidated = 0.0
        if abs(change) >= move:
            liquidated = v * min(abs(change) / move, 5.0) * 0.2
            long_flush = change < 0
            ts_ms = start_ms + 30_000
            binance.on_frame(
                _force_order(force, "SELL" if long_flush else "BUY", c, liquidated * 0.6, ts_ms),
                ts_ms * MS,
            )
            bybit.on_frame(
                _bybit_liquidation("Buy" if long_flush else "Sell", c, liquidated * 0.4, ts_ms + 5),
                (ts_ms + 5) * MS,
            )
        oi_binance += 0.05 * v - 0.6 * liquidated
        oi_bybit += 0.03 * v - 0.4 * liquidated
        if i % 5 == 4:  # open interest polled every 5 minutes, mid-minute
            ts_ms = start_ms + 40_000
            reply = {"openInterest": f"{oi_binance:.3f}", "symbol": "BTCUSDT", "time": ts_ms}
            binance.on_open_interest(json.dumps(reply).encode(), ts_ms * MS)
            bybit.on_frame(_bybit_ticker(ticker, oi_bybit, i, ts_ms + 1), (ts_ms + 1) * MS)
    return liquidations, open_interest
