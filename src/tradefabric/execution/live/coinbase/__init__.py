"""Coinbase Advanced Trade's private API: the native live execution client.

It lives under ``execution.live`` (not ``venues.coinbase``): it implements the live
protocol, and ``execution`` already imports ``venues``. ``factory.build_client`` is
the live venue registry's entry.
"""

from __future__ import annotations

from tradefabric.execution.live.coinbase.client import CoinbaseClientConfig, CoinbaseLiveClient

__all__ = ["CoinbaseClientConfig", "CoinbaseLiveClient"]
