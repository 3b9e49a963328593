"""The publisher's batches in the Redis protocol (RESP), packed by hand.

redis-py's pipeline builds every command from Python objects, which costs more
than everything else the publisher does per event; a batch of ``XADD``s differs
only in id and payload, so their bytes are built here from a per-stream head and
sent on one of the client's pooled connections.
"""

from __future__ import annotations

from typing import Any

import redis


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def xadd_head(key: str, maxlen: int) -> bytes:
    """Return the bytes of ``XADD key [MAXLEN ~ maxlen]``, to be followed by ``xadd_tail``."""
    args = [b"XADD", key.encode()]
    if maxlen:
        args += [b"MAXLEN", b"~", b"%d" % maxlen]
    # The tail adds three arguments: id, field and value.
    return b"*%d\r\n" % (len(args) + 3) + b"".join(_bulk(a) for a in args)


def xadd_tail(entry_id: str, field: bytes, value: bytes) -> bytes:
    """Return the bytes of an ``XADD``'s id, field and value."""
    return _bulk(entry_id.encode()) + _bulk(field) + _bulk(value)


class RawPipeline:
    """Send packed commands on one pooled connection and read one reply per command."""

    def __init__(self, client: redis.Redis) -> None:
        """Use ``client``'s connection pool (its URL, timeouts and credentials)."""
        self._pool: Any = client.connection_pool

    def execute(self, commands: list[bytes]) -> list[Any]:
        """Send ``commands`` at once; return their replies, error replies as exceptions.

        A lost or timed-out connection raises (``redis.ConnectionError``,
        ``redis.TimeoutError``) after closing the connection, so the next call
        starts on a fresh one.
        """
        connection: Any = self._pool.get_connection()
        try:
            connection.send_packed_command([b"".join(commands)])
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(connection.read_response())
                except redis.exceptions.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # Replies half read leave the connection out of step with the server.
            connection.disconnect()
            raise
        finally:
            self._pool.release(connection)
