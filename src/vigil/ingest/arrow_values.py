"""Typed arrow columns -> :class:`Column` values and tag arrays, with no per-row Python loop.

The JSON path learns each value's kind row by row; a typed source (Parquet, a DataFrame) states
it once per column, so the kinds of a whole column are set with one ``numpy.full``. Values the
record schema does not allow (a nested struct as a feature, a string as an output) flag the rows
that hold them, through :class:`Problems`, and never reach the batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ValueKind
from vigil.ingest.batch import Column
from vigil.ingest.limits import (
    MAX_STRING_BYTES,
)

BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]


class Problems:
    """The first reason each row of a table is refused (rows with none are valid)."""

    def __init__(self, rows: int) -> None:
        self.bad = np.zeros(rows, dtype=bool)
        self.reasons: dict[int, str] = {}

    def flag(self, mask: BoolArray, reason: str | Callable[[int], str]) -> None:
        """Refuse the rows in ``mask`` that are not refused yet; ``reason(i)`` may quote row i."""
        new = mask & ~self.bad
        if not new.any():
            return
        for row in np.flatnonzero(new).tolist():
            self.reasons[row] = reason if isinstance(reason, str) else reason(row)
        self.bad |= new

    def flag_all(self, reason: str) -> None:
        self.flag(np.ones(len(self.bad), dtype=bool), reason)


def null_mask(array: pa.Array) -> BoolArray:
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def is_numeric(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
    )


def is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return is_text(kind.value_type)
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def as_strings(array: pa.Array) -> pa.Array:
    """A text array as plain ``string`` (decoding dictionaries, narrowing large strings)."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    return array if pa.types.is_string(array.type) else array.cast(pa.string())


def as_floats(array: pa.Array) -> FloatArray:
    """Numbers (or bools) as float64 with NaN for nulls."""
    floats = pc.cast(array, pa.float64(), safe=False)
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)


def too_long(strings: pa.Array) -> BoolArray:
    lengths = pc.binary_length(strings).to_numpy(zero_copy_only=False)
    return np.asarray(np.nan_to_num(lengths, nan=0) > MAX_STRING_BYTES, dtype=bool)


def _kinds(kind: ValueKind, nulls: BoolArray, absent: BoolArray) -> npt.NDArray[np.int8]:
    kinds = np.full(len(nulls), kind, dtype=np.int8)
    kinds[nulls] = ValueKind.NULL
    kinds[absent] = ValueKind.ABSENT
    return kinds


def feature_column(name: str, array: pa.Array, absent: BoolArray, problems: Problems) -> Column:
    """One feature column; ``absent`` marks rows whose ``features`` object itself is missing."""
    kind = array.type
    nulls = null_mask(array)
    rows = len(array)
    if is_numeric(kind):
        return Column(
            kinds=_kinds(ValueKind.NUMBER, nulls, absent),
            numbers=as_floats(array),
            texts=pa.nulls(rows, pa.string()),
        )
    if pa.types.is_boolean(kind):
        return Column(
            kinds=_kinds(ValueKind.BOOL, nulls, absent),
            numbers=as_floats(array),
            texts=pc.if_else(array, "true", "false"),
        )
    if is_text(kind):
        texts = as_strings(array)
        problems.flag(
            too_long(texts), f"feature {name!r} is a string over {MAX_STRING_BYTES} bytes"
        )
        return Column(
            kinds=_kinds(ValueKind.STRING, nulls, absent),
            numbers=np.full(rows, np.nan),
            texts=texts,
        )
    if not pa.types.is_null(kind):
        nested = pa.types.is_struct(kind) or pa.types.is_map(kind)
        listy = pa.types.is_list(kind) or pa.types.is_large_list(kind)
        what = "a nested object" if nested else "a nested list" if listy else f"of type {kind}"
        problems.flag(
            ~nulls, f"feature {name!r} is {what}; features must be number|string|bool|null"
        )
    return Column(
        kinds=_kinds(ValueKind.NULL, nulls, absent),
        numbers=np.full(rows, np.nan),
        texts=pa.nulls(rows, pa.string()),
    )


def output_columns(
    name: str, array: pa.Array, absent: BoolArray, problems: Problems
) -> dict[str, Column]:
    """One output column, or the ``.top``/``.length`` pair of a ranked list."""
    kind = array.type
    nulls = null_mask(array)
    rows = len(array)
    if is_numeric(kind) or pa.types.is_null(kind):
        value_kind = ValueKind.NULL if pa.types.is_null(kind) else ValueKind.NUMBER
        numbers = np.full(rows, np.nan) if pa.types.is_null(kind) else as_floats(array)
        return {name: _numeric(numbers, _kinds(value_kind, nulls, absent))}
    if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and (
        is_numeric(kind.value_type) or pa.types.is_null(kind.value_type)
    ):
        return _ranked(name, array, nulls, absent, problems)
    problems.flag(
        ~nulls, f"output {name!r} must be a number or a ranked list of numbers, not {kind}"
    )
    return {name: _numeric(np.full(rows, np.nan), _kinds(ValueKind.NULL, nulls, absent))}


def _numeric(numbers: FloatArray, kinds: npt.NDArray[np.int8]) -> Column:
    return Column(kinds=kinds, numbers=numbers, texts=pa.nulls(len(kinds), pa.string()))


def _ranked(
    name: str, array: pa.Array, nulls: BoolArray, absent: BoolArray, problems: Problems
) -> dict[str, Column]:
    lengths = np.nan_to_num(
        np.asarray(pc.list_value_length(array).to_numpy(zero_copy_only=False), dtype=np.float64),
        nan=0.0,
    ).astype(np.int64)
    # Offsets index the flattened values, so each row's first element is values[offsets[i]].
    array = array.cast(pa.list_(pa.float64())) if not pa.types.is_list(array.type) else array
    offsets = np.asarray(array.offsets.to_numpy(zero_copy_only=False)[:-1], dtype=np.int64)
    values = as_floats(array.values) if len(array.values) else np.zeros(0)
    has_top = lengths > 0
    top = np.full(len(array), np.nan)
    top[has_top] = values[offsets[has_top]]
    if array.values.null_count:
        problems.flag(
            _rows_with_null_elements(array),
            f"output {name!r} is a list holding null; expected numbers",
        )
    top_kinds = _kinds(ValueKind.NUMBER, nulls | ~has_top, absent)
    return {
        f"{name}.top": _numeric(top, top_kinds),
        f"{name}.length": _numeric(
            np.where(nulls, np.nan, lengths.astype(np.float64)),
            _kinds(ValueKind.NUMBER, nulls, absent),
        ),
    }


def _rows_with_null_elements(array: pa.Array) -> BoolArray:
    parents = pc.list_parent_indices(array).to_numpy(zero_copy_only=False)
    element_nulls = null_mask(pc.list_flatten(array))
    mask = np.zeros(len(array), dtype=bool)
    mask[parents[element_nulls]] = True
    return mask


def tag_array(name: str, array: pa.Array, problems: Problems) -> pa.Array:
    """One tag as a string array (null where the row has no such tag)."""
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), pa.string())
    if not is_text(array.type):
        problems.flag(~null_mask(array), f"tag {name!r} must be a string, not {array.type}")
        return pa.nulls(len(array), pa.string())
    texts = as_strings(array)
    problems.flag(too_long(texts), f"tag {name!r} is a string over {MAX_STRING_BYTES} bytes")
    return texts
