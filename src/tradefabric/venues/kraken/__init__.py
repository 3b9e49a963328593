"""Kraken spot WebSocket v2 market data adapter (``wss://ws.kraken.com/v2``).

Layout as every venue package (see ``tradefabric.venues``): ``markets`` (the market
and its pair precisions as data), ``symbols`` (REST pair names and XBT aliases),
``wire`` (v2 frames), ``parser`` (frames -> domain events), ``book`` (the book rule:
Kraken's CRC32 checksum and depth truncation), ``rest`` (REST replies),
``subscriptions`` and ``encode`` (domain events -> v2 frames for a local fake venue).
"""
