"""Errors of the Redis Streams transport, placed in the one tradefabric exception tree."""

from __future__ import annotations

from tradefabric.core.errors import MalformedMessageError, RetryableError


class RedisUnavailableError(RetryableError):
    """Redis could not be reached, timed out or dropped the connection."""


class UndecodableEntryError(MalformedMessageError):
    """A stream entry is not an envelope this version of tradefabric can decode."""
