"""The simulated venue: candle and L2 book matching, fees, latency, slippage."""
