"""Analytics: indicators, features, regime, signals with measured confidence, ensemble.

Every indicator and signal has one definition used two ways: a batch form over
arrays (research, warm-up, backtests) and a streaming form updated once per
candle (live). Both give the same numbers; the tests prove it on real candles.
"""
