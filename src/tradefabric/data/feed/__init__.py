"""Live feeds: sockets to venues, with reconnects, book resyncs, watchdogs and recording."""
