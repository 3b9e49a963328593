"""Redis Streams transport: ingestion nodes publish events, downstream nodes consume them.

- ``codec``: stream names, typed msgpack envelopes, watermarks;
- ``publisher``: ``StreamPublisher``, bus -> Redis through a bounded buffer and a writer thread;
- ``consumer``: ``StreamConsumer``, consumer groups -> a local bus, at least once, in order;
- ``books``: top-N book samples at a fixed rate and the book tops built from them;
- ``pipeline``: the ingestion and downstream halves of a split node, and the one-process run;
- ``event_log``: a durable JSON-lines sink that makes redeliveries harmless.
"""
