"""The error tree encodes the retry policy: callers decide by type, never by message."""

from __future__ import annotations

import pytest

from tradefabric.core import errors
from tradefabric.core.errors import (
    AuditWriteError,
    AuthenticationError,
    CommitConflictError,
    ConfigError,
    DataError,
    DataSourceError,
    FatalError,
    MalformedMessageError,
    OrderRejectedError,
    OrderStatusUnknownError,
    RateLimitedError,
    RequestRejectedError,
    RetryableError,
    SequenceGapError,
    StaleMessageError,
    TradefabricError,
    UnknownStreamError,
    VenueUnavailableError,
)

RETRYABLE = [VenueUnavailableError, RateLimitedError, CommitConflictError]
FATAL = [ConfigError, DataSourceError, RequestRejectedError, AuditWriteError,
         AuthenticationError, OrderRejectedError]  # fmt: skip
DATA = [MalformedMessageError, UnknownStreamError, StaleMessageError, SequenceGapError]
BRANCHES = [RetryableError, FatalError, DataError, OrderStatusUnknownError]
"""``OrderStatusUnknownError`` is a branch and its own leaf: settled by asking, never retried."""


def _branches_of(cls: type[Exception]) -> list[type[Exception]]:
    return [branch for branch in BRANCHES if issubclass(cls, branch)]


@pytest.mark.parametrize("cls", RETRYABLE)
def test_retryable_errors_are_only_retryable(cls: type[Exception]) -> None:
    assert _branches_of(cls) == [RetryableError]


@pytest.mark.parametrize("cls", FATAL)
def test_fatal_errors_are_only_fatal(cls: type[Exception]) -> None:
    assert _branches_of(cls) == [FatalError]


@pytest.mark.parametrize("cls", DATA)
def test_data_errors_are_only_data_errors(cls: type[Exception]) -> None:
    assert _branches_of(cls) == [DataError]


def test_branches_are_disjoint_and_share_one_root() -> None:
    for branch in BRANCHES:
        assert issubclass(branch, TradefabricError)
        assert _branches_of(branch) == [branch]
    assert issubclass(TradefabricError, Exception)
    assert not issubclass(
        TradefabricError, RetryableError | FatalError | DataError | OrderStatusUnknownError
    )


def test_every_error_in_the_module_belongs_to_exactly_one_branch() -> None:
    leaves = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, TradefabricError)
    } - {TradefabricError, *BRANCHES[:3]}
    assert leaves == set(RETRYABLE + FATAL + DATA) | {OrderStatusUnknownError}
    for leaf in leaves:
        assert len(_branches_of(leaf)) == 1


def test_retry_policy_catches_by_type() -> None:
    def classify(exc: Exception) -> str:
        try:
            raise exc
        except RetryableError:
            return "retry"
        except FatalError:
            return "stop"
        except DataError:
            return "skip"

    assert classify(RateLimitedError("429")) == "retry"
    assert classify(VenueUnavailableError("down")) == "retry"
    assert classify(ConfigError("bad key")) == "stop"
    assert classify(DataSourceError("no file")) == "stop"
    assert classify(SequenceGapError("gap")) == "skip"
    assert classify(MalformedMessageError("nan")) == "skip"


def test_errors_keep_their_message() -> None:
    assert str(ConfigError("unknown key 'x'")) == "unknown key 'x'"


def test_a_full_disk_in_the_audit_log_is_never_mistaken_for_a_lost_connection() -> None:
    error = AuditWriteError("audit log: [Errno 28] No space left on device")
    assert not isinstance(error, RetryableError)
    assert isinstance(error, FatalError)
