"""Turn one source column into numpy values: ns timestamps, float64 or int64.

Every converter takes the whole column (pa.Array or pa.ChunkedArray), the file
and the column name, and raises an ``ImportFileError`` naming the first row it
cannot convert. Text is parsed by Arrow (correctly rounded, so a decimal string
and the float Arrow makes of it agree exactly with Python's ``float``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

# pyarrow ships no type information; everything read from it is Any here.
import pyarrow as pa
import pyarrow.compute as pc

from tradefabric.store.importers.errors import BadTimestampError, BadValueError
from tradefabric.store.importers.model import TimeUnit

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_NS_PER_UNIT: Final[dict[str, int]] = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_MICROS_FROM: Final = 10**14
"""Binance: an open time at or above this is in microseconds (ms would be year 5138)."""
_SEARCH_STEP: Final = 4096
_UTC_NS: Final = pa.timestamp("ns", tz="UTC")
_NAIVE_NS: Final = pa.timestamp("ns")


def combined(values: Any) -> Any:
    """Return ``values`` as one contiguous pa.Array, text as ``string`` or ``large_string``.

    Dictionary-encoded columns (pandas categoricals) are decoded, ``string_view``
    becomes ``large_string`` (Arrow casts a view to numbers but not to timestamps)
    and decimal32/64 become decimal128 of the same precision and scale.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if pa.types.is_string_view(values.type):
        values = values.cast(pa.large_string())
    if pa.types.is_decimal32(values.type) or pa.types.is_decimal64(values.type):
        # Lossless; Arrow 26 casts decimal32 12.00 to int64 as "out of bounds".
        values = values.cast(pa.decimal128(values.type.precision, values.type.scale))
    return values


def is_text(arrow_type: Any) -> bool:
    """Return whether ``arrow_type`` is one of Arrow's text types (string, large, view)."""
    return bool(
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    )


def first_failing_row(array: Any, works: Callable[[Any], bool]) -> int | None:
    """Return the 1-based row of ``array`` where ``works(slice)`` first fails, or None."""
    n = len(array)
    for start in range(0, n, _SEARCH_STEP):
        block = array.slice(start, _SEARCH_STEP)
        if works(block):
            continue
        for i in range(len(block)):
            if not works(block.slice(i, 1)):
                return start + i + 1
    return None


def _casts(target: Any) -> Callable[[Any], bool]:
    def works(block: Any) -> bool:
        try:
            pc.cast(block, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    return works


_Error = type[BadValueError] | type[BadTimestampError]


def _cast(array: Any, target: Any, what: str, where: tuple[Path, str], error: _Error) -> Any:
    """Cast with Arrow's safe cast; on failure name the first row that does not convert."""
    try:
        return pc.cast(array, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        row = first_failing_row(array, _casts(target))
        value = None if row is None else array[row - 1].as_py()
        raise error(where[0], f"{value!r} is not {what}", where[1], row) from None


def _first_null_row(array: Any) -> int | None:
    if array.null_count == 0:
        return None
    return int(pc.index(pc.is_null(array), True).as_py()) + 1


# --- numbers ---


def to_float64(values: Any, file: Path, column: str) -> F64:
    """Return the column as float64; text is parsed, an empty cell becomes NaN."""
    array = combined(values)
    if not (_is_number(array.type) or is_text(array.type)):
        raise BadValueError(file, f"holds {array.type}, not numbers", column)
    if pa.types.is_decimal(array.type):
        # Arrow's decimal -> float64 is not correctly rounded (23158.10 -> 23158.100000000002);
        # its text parser is, so a decimal goes through its exact text form.
        array = pc.cast(array, pa.large_string())
    floats = _cast(array, pa.float64(), "a number", (file, column), BadValueError)
    result: F64 = pc.fill_null(floats, np.nan).to_numpy(zero_copy_only=False)
    return result


def to_int64(values: Any, file: Path, column: str, missing: int) -> I64:
    """Return the column as int64 (fractions are errors); empty cells become ``missing``."""
    array = combined(values)
    if not (_is_number(array.type) or is_text(array.type)):
        raise BadValueError(file, f"holds {array.type}, not whole numbers", column)
    ints = _cast(array, pa.int64(), "a whole number", (file, column), BadValueError)
    result: I64 = pc.fill_null(ints, missing).to_numpy(zero_copy_only=False)
    return result


def _is_number(arrow_type: Any) -> bool:
    # Every width: int8..int64, uint8..uint64, float16/32/64, decimal32..decimal256.
    return bool(
        pa.types.is_integer(arrow_type)
        or pa.types.is_floating(arrow_type)
        or pa.types.is_decimal(arrow_type)
    )


# --- timestamps ---


def to_ns(values: Any, unit: TimeUnit | None, file: Path, column: str) -> I64:
    """Return the column as int64 ns since the epoch, UTC.

    A column typed as a timestamp or date needs no unit (a zone-less one is read
    as UTC). A number or numeric text is scaled by ``unit``; ``iso`` text is
    parsed as ISO 8601. Without a unit a numeric column is an error: a guessed
    unit would silently shift every candle.
    """
    array = combined(values)
    null_row = _first_null_row(array)
    if null_row is not None:
        raise BadTimestampError(file, "empty timestamp", column, null_row)
    kind = array.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _temporal_to_ns(array, file, column)
    if unit is None:
        raise BadTimestampError(
            file, f"{kind} timestamps need a unit: give --time-unit s, ms, us, ns or iso", column
        )
    if unit == "iso":
        return _iso_to_ns(array, file, column)
    if not (_is_number(kind) or is_text(kind)):
        raise BadTimestampError(file, f"holds {kind}, not timestamps", column)
    ints = _cast(array, pa.int64(), f"a whole number of {unit}", (file, column), BadTimestampError)
    raw: I64 = ints.to_numpy(zero_copy_only=False)
    return _scale(raw, unit_ns(raw, unit), file, column)


def unit_ns(raw: I64, unit: TimeUnit) -> I64:
    """Return the ns per unit of each raw value (one value for all but ``ms|us``)."""
    if unit == "ms|us":
        return np.where(raw >= _MICROS_FROM, _NS_PER_UNIT["us"], _NS_PER_UNIT["ms"])
    return np.full(len(raw), _NS_PER_UNIT[unit], dtype=np.int64)


def _scale(raw: I64, per_unit: I64, file: Path, column: str) -> I64:
    limit = np.iinfo(np.int64).max // per_unit
    overflow = np.flatnonzero(np.abs(raw) > limit)
    if len(overflow):
        row = int(overflow[0])
        raise BadTimestampError(
            file, f"{int(raw[row])} is out of range in that unit", column, row + 1
        )
    scaled: I64 = raw * per_unit
    return scaled


def _temporal_to_ns(array: Any, file: Path, column: str) -> I64:
    kind = array.type
    zone = getattr(kind, "tz", None)
    target = pa.timestamp("ns", tz=zone) if pa.types.is_timestamp(kind) else _NAIVE_NS
    ns = _cast(array, target, "a time in range", (file, column), BadTimestampError)
    result: I64 = ns.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return result


def _iso_to_ns(array: Any, file: Path, column: str) -> I64:
    if not is_text(array.type):
        raise BadTimestampError(file, f"holds {array.type}, not ISO 8601 text", column)
    for target in (_UTC_NS, _NAIVE_NS):
        try:
            parsed = pc.cast(array, target)
        except pa.ArrowInvalid:
            continue
        result: I64 = parsed.cast(pa.int64()).to_numpy(zero_copy_only=False)
        return result
    with_zone, without = _casts(_UTC_NS), _casts(_NAIVE_NS)
    row = first_failing_row(array, lambda block: with_zone(block) or without(block))
    if row is None:
        raise BadTimestampError(file, "mixes ISO 8601 times with and without a zone", column)
    value = array[row - 1].as_py()
    raise BadTimestampError(file, f"{value!r} is not an ISO 8601 time", column, row)
