"""tradefabric: an autonomous crypto trading system with self-checking multi-venue market data."""

__version__ = "0.1.0"
