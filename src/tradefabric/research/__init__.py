"""Research: backtests as pure functions, parameter sweeps, walk-forward, purged CV."""
