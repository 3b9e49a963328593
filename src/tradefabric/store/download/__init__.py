"""Download candle and trade history from venues' REST APIs (through ccxt) into the catalog."""

from tradefabric.store.download.client import HistoryClient
from tradefabric.store.download.runner import (
    DownloadOptions,
    DownloadProgress,
    DownloadReport,
    download_candles,
    download_trades,
)
from tradefabric.store.download.venues import CCXT_VENUES, CcxtVenue, build_exchange, ccxt_venue

__all__ = [
    "CCXT_VENUES",
    "CcxtVenue",
    "DownloadOptions",
    "DownloadProgress",
    "DownloadReport",
    "HistoryClient",
    "build_exchange",
    "ccxt_venue",
    "download_candles",
    "download_trades",
]
