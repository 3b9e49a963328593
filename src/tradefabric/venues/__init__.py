"""Venue adapters: everything that knows a venue's wire format lives in its package here.

Each venue package (``binance``, ``kraken``, ``coinbase``, ``bybit``) follows one layout:

- ``markets.py``: the venue's markets as frozen data (venue names, URLs, channel
  names, sequence rule, symbol spelling). Quirks are fields here, not branches.
- ``wire.py``: msgspec structs of the wire payloads, each with one sample raw payload.
- ``parser.py``: ``<Venue>StreamParser(bus, market)`` with
  ``on_frame(raw: bytes, ts_recv: int) -> None``: decodes one frame and publishes
  domain events (``Trade``, ``Quote``, ``OrderBookSnapshot``, ``OrderBookDeltas``,
  ``Candle``) on the bus topics in ``tradefabric.data.topics``. Control frames
  (acks, heartbeats, status) are counted, not published. Bad frames raise a
  ``DataError`` subclass; the caller counts and logs them.
- ``subscriptions.py``: the frames to send to subscribe to channels of symbols.
- ``encode.py``: domain events -> the venue's current wire format, so the local
  fake venue can serve real traffic in that venue's protocol.

Nothing outside a venue package sees a wire format.
"""
