"""Typed tables (Parquet row groups, DataFrames) -> one :class:`IngestChunk`, vectorized.

The same rules as :mod:`vigil.ingest.validation`, applied to whole columns: every check yields a
mask of refused rows with a reason, and only refused rows are ever looked at one by one (to keep
their raw text). A table whose schema cannot hold records at all (no ``model`` column, a
``timestamp`` of the wrong type) has every row quarantined with a reason that says so, because a
reader that crashes on one bad file stops a whole backfill.

Features, outputs and tags may come as struct columns (``features``) or flattened
(``features.age``); both may be mixed in one table.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import EventKind, ValueKind
from vigil.ingest.arrow_values import (
    BoolArray,
    Problems,
    as_floats,
    as_strings,
    feature_column,
    is_numeric,
    is_text,
    null_mask,
    output_columns,
    tag_array,
    too_long,
)
from vigil.ingest.batch import META_SCHEMA, Column, IngestChunk, RecordBatch
from vigil.ingest.limits import (
    MAX_NAME_CHARS,
    MAX_STRING_BYTES,
    RowRules,
)
from vigil.ingest.quarantine import QuarantinedRow, truncate_raw
from vigil.ingest.validation import (
    timestamp_us,
)

_EVENTS = [kind.value for kind in EventKind]
_MAX_EPOCH_SECONDS = 1e13
_MAX_US, _MIN_US = float(2**63 - 1024), -float(2**63)
"""The int64 range, as the float64 values nearest inside it."""
_US = pa.timestamp("us", tz="UTC")
_PLAIN_ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$"


def table_to_chunk(
    table: pa.Table | pa.RecordBatch,
    *,
    source: str,
    rules: RowRules,
    first_position: int = 1,
    partition: Mapping[str, str] | None = None,
    nulls_are_absent: bool = False,
) -> IngestChunk:
    """Validate and convert every row of ``table``; positions count from ``first_position``.

    ``nulls_are_absent`` says the source had no nulls (JSON text without a ``null`` token), so
    a null feature or output is one the row did not mention: ``ABSENT``, not ``NULL``.
    """
    columns = _columns(table)
    rows = table.num_rows
    problems = Problems(rows)
    partition = partition or {}
    model = _text_field(columns, "model", partition, problems, rows, required=True)
    version = _text_field(columns, "version", partition, problems, rows, required=False)
    meta = pa.Table.from_arrays(
        [
            model,
            version,
            _timestamps(columns.get("timestamp"), rules, problems),
            _optional_text(columns, "request_id", problems, rows),
            _optional_text(columns, "host", problems, rows),
            _events(columns.get("event"), problems, rows),
            _number(columns.get("latency_ms"), "latency_ms", problems, rows, minimum=0.0),
            _number(columns.get("label"), "label", problems, rows, minimum=None),
        ],
        schema=META_SCHEMA,
    )
    batch = RecordBatch(
        meta=meta,
        features=_features(columns, problems, nulls_are_absent, rules.max_features),
        outputs=_outputs(columns, problems, nulls_are_absent, rules.max_features),
        tags=_tags(columns, problems, rules.max_features),
    )
    quarantined: tuple[QuarantinedRow, ...] = ()
    if problems.bad.any():
        batch = _without_unmentioned(batch.take(np.flatnonzero(~problems.bad)))
        quarantined = _quarantined(table, model, problems, source=source, first=first_position)
    return IngestChunk(source=source, rows_read=rows, batch=batch, quarantined=quarantined)


def _without_unmentioned(batch: RecordBatch) -> RecordBatch:
    """Drop columns no kept row mentions, as the JSON path (which builds from kept rows) does."""
    return RecordBatch(
        meta=batch.meta,
        features={n: c for n, c in batch.features.items() if (c.kinds != ValueKind.ABSENT).any()},
        outputs={n: c for n, c in batch.outputs.items() if (c.kinds != ValueKind.ABSENT).any()},
        tags={n: t for n, t in batch.tags.items() if t.null_count < len(t)},
    )


def _columns(table: pa.Table | pa.RecordBatch) -> dict[str, pa.Array]:
    if isinstance(table, pa.Table):
        return {
            name: column.combine_chunks()
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    return dict(zip(table.schema.names, table.columns, strict=True))


def _text_field(
    columns: Mapping[str, pa.Array],
    name: str,
    partition: Mapping[str, str],
    problems: Problems,
    rows: int,
    *,
    required: bool,
) -> pa.Array:
    """``model`` or ``version``: filled from the partition, refused when it disagrees with it."""
    expected = partition.get(name)
    fill = expected if expected is not None else (None if required else "")
    array = columns.get(name)
    if array is None or pa.types.is_null(array.type):
        if fill is None:
            problems.flag_all(f"missing field {name!r} (the source has no {name!r} column)")
            fill = ""
        return pa.array([fill] * rows, pa.string())
    if not is_text(array.type):
        problems.flag_all(f"column {name!r} has type {array.type}; expected strings")
        return pa.array([fill or ""] * rows, pa.string())
    texts = as_strings(array)
    nulls = null_mask(texts)
    if fill is None:
        problems.flag(nulls, f"missing field {name!r}")
    elif nulls.any():
        texts = pc.fill_null(texts, fill)
    if required:
        empty = np.asarray(pc.equal(texts, "").to_numpy(zero_copy_only=False), dtype=bool)
        problems.flag(empty & ~nulls, f"field {name!r} is empty")
    problems.flag(too_long(texts), f"field {name!r} is a string over {MAX_STRING_BYTES} bytes")
    long_names = pc.fill_null(pc.greater(pc.utf8_length(texts), MAX_NAME_CHARS), False)
    problems.flag(
        np.asarray(long_names.to_numpy(zero_copy_only=False), dtype=bool),
        f"field {name!r} is a name over {MAX_NAME_CHARS} characters",
    )
    with_nul = pc.fill_null(pc.match_substring(texts, "\x00"), False)
    problems.flag(
        np.asarray(with_nul.to_numpy(zero_copy_only=False), dtype=bool),
        f"field {name!r} holds a NUL character",
    )
    if expected is not None:
        differs = np.asarray(
            pc.fill_null(pc.not_equal(texts, expected), False).to_numpy(zero_copy_only=False),
            dtype=bool,
        )
        problems.flag(
            differs,
            lambda row: (
                f"{name} {texts[row].as_py()!r} disagrees with its partition {name}={expected}"
            ),
        )
    return pc.fill_null(texts, "") if fill is None else texts


def _timestamps(array: pa.Array | None, rules: RowRules, problems: Problems) -> pa.Array:
    rows = len(problems.bad)
    if array is None:
        problems.flag_all("missing field 'timestamp' (the source has no 'timestamp' column)")
        return pa.array(np.zeros(rows, dtype=np.int64), _US)
    kind = array.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            problems.flag_all(f"timestamp column has no time zone ({kind}); store UTC timestamps")
            return pa.array(np.zeros(rows, dtype=np.int64), _US)
        micros = np.asarray(
            pc.cast(array, _US, safe=False).cast(pa.int64()).to_numpy(zero_copy_only=False)
        )
        valid = ~null_mask(array)
    elif is_numeric(kind):
        seconds = as_floats(array)
        finite = np.isfinite(seconds)
        valid = finite & (np.abs(seconds) <= _MAX_EPOCH_SECONDS)
        problems.flag(
            ~finite & ~null_mask(array),
            lambda row: f"timestamp {float(seconds[row])!r} is not a finite number",
        )
        problems.flag(
            finite & ~valid,
            lambda row: (
                rules.too_early(_as_given(array, row))
                if seconds[row] < 0
                else rules.too_late(_as_given(array, row))
            ),
        )
        micros = np.round(np.where(valid, seconds, 0.0) * 1e6)
    elif is_text(kind):
        micros, valid = _parse_text_timestamps(as_strings(array), rules, problems)
    else:
        problems.flag_all(f"timestamp column has type {kind}; expected timestamps or ISO strings")
        return pa.array(np.zeros(rows, dtype=np.int64), _US)
    # Epoch seconds up to 1e13 (as the row path allows) reach past int64 microseconds: clipped,
    # they are refused as in the future, as the row path refuses them, not wrapped around.
    micros = np.clip(np.where(valid, np.nan_to_num(micros), 0), _MIN_US, _MAX_US).astype(np.int64)
    problems.flag(~valid & null_mask(array), "missing field 'timestamp'")
    problems.flag(
        valid & (micros < rules.earliest_us), lambda row: rules.too_early(_as_given(array, row))
    )
    problems.flag(
        valid & (micros > rules.latest_us), lambda row: rules.too_late(_as_given(array, row))
    )
    return pa.array(micros, _US)


def _number_value(seconds: float) -> float | int:
    """An epoch number as it was most likely written (an integer, unless it had a fraction)."""
    return int(seconds) if float(seconds).is_integer() else float(seconds)


def _as_given(array: pa.Array, row: int) -> object:
    """Row ``row`` of a timestamp column as the record gave it, to quote in a reason."""
    value = array[row].as_py()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return _number_value(value)
    return value


def _parse_text_timestamps(
    texts: pa.Array, rules: RowRules, problems: Problems
) -> tuple[Any, BoolArray]:
    """ISO strings: arrow's parser for the plain zoned spellings, Python's for the rest.

    A regular expression (run in C) picks the strings of the form arrow and Python read alike
    (``2026-11-20T14:03:11.123Z``, ``…+01:00``); arrow casts those at once. Every other string
    (naive, exotic, broken) goes through Python's parser one by one, which also gives each bad
    row its own reason.
    """
    rows = len(texts)
    micros = np.zeros(rows, dtype=np.int64)
    valid = np.zeros(rows, dtype=bool)
    plain = np.asarray(
        pc.fill_null(pc.match_substring_regex(texts, _PLAIN_ISO), False).to_numpy(
            zero_copy_only=False
        ),
        dtype=bool,
    )
    if plain.any():
        try:
            parsed = pc.cast(texts.filter(pa.array(plain)), _US).cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            plain[:] = False  # e.g. a 30th of February: let Python's parser say what is wrong
        else:
            micros[plain] = parsed.to_numpy(zero_copy_only=False)
            valid[plain] = True
    others = np.flatnonzero(~plain & ~null_mask(texts))
    for row, value in zip(others.tolist(), texts.take(pa.array(others)).to_pylist(), strict=True):
        result = timestamp_us(value, rules)
        if isinstance(result, str):
            problems.flag(_one(rows, row), result)
        else:
            micros[row] = result
            valid[row] = True
    return micros, valid


def _one(rows: int, row: int) -> BoolArray:
    mask = np.zeros(rows, dtype=bool)
    mask[row] = True
    return mask


def _optional_text(
    columns: Mapping[str, pa.Array], name: str, problems: Problems, rows: int
) -> pa.Array:
    array = columns.get(name)
    if array is None or pa.types.is_null(array.type):
        return pa.nulls(rows, pa.string())
    if not is_text(array.type):
        problems.flag(~null_mask(array), f"field {name!r} must be a string, not {array.type}")
        return pa.nulls(rows, pa.string())
    texts = as_strings(array)
    problems.flag(too_long(texts), f"field {name!r} is a string over {MAX_STRING_BYTES} bytes")
    return texts


def _events(array: pa.Array | None, problems: Problems, rows: int) -> pa.Array:
    if array is None or pa.types.is_null(array.type):
        return pa.array([EventKind.PREDICTION.value] * rows, pa.string())
    if not is_text(array.type):
        problems.flag_all(f"column 'event' has type {array.type}; expected strings")
        return pa.array([EventKind.PREDICTION.value] * rows, pa.string())
    texts = pc.fill_null(as_strings(array), EventKind.PREDICTION.value)
    unknown = ~np.asarray(
        pc.is_in(texts, value_set=pa.array(_EVENTS, pa.string())).to_numpy(zero_copy_only=False)
    )
    problems.flag(
        unknown,
        lambda row: (
            f"event {texts[row].as_py()!r} is not one of "
            + ", ".join(kind.value for kind in EventKind)
        ),
    )
    return texts


def _number(
    array: pa.Array | None, name: str, problems: Problems, rows: int, *, minimum: float | None
) -> pa.Array:
    if array is None or pa.types.is_null(array.type):
        return pa.nulls(rows, pa.float64())
    if not (is_numeric(array.type) or (name == "label" and pa.types.is_boolean(array.type))):
        problems.flag(~null_mask(array), f"field {name!r} must be a number, not {array.type}")
        return pa.nulls(rows, pa.float64())
    numbers = as_floats(array)
    nulls = null_mask(array)
    problems.flag(~nulls & ~np.isfinite(numbers), f"field {name!r} must be finite")
    if minimum is not None:
        problems.flag(numbers < minimum, f"field {name!r} must be >= {minimum:g}")
    return pa.array(numbers, pa.float64(), mask=nulls)


def _members(
    columns: Mapping[str, pa.Array],
    group: str,
    problems: Problems,
    max_features: int,
    nulls_are_absent: bool = False,
) -> dict[str, tuple[pa.Array, BoolArray]]:
    """The named members of ``features``/``outputs``/``tags``, each with its rows that lack it."""
    rows = len(problems.bad)
    members: dict[str, tuple[pa.Array, BoolArray]] = {}
    struct = columns.get(group)
    if struct is not None and not pa.types.is_null(struct.type):
        if not pa.types.is_struct(struct.type):
            problems.flag(
                ~null_mask(struct), f"field {group!r} must be an object, not {struct.type}"
            )
        else:
            absent = null_mask(struct)
            for index, child in enumerate(struct.flatten()):
                child_absent = absent | null_mask(child) if nulls_are_absent else absent
                members[struct.type.field(index).name] = (child, child_absent)
    prefix = group + "."
    for name, array in columns.items():
        if name.startswith(prefix):
            member = name[len(prefix) :]
            if member in members:
                problems.flag_all(
                    f"{group} {member!r} is given twice: in {group!r} and as {name!r}"
                )
                continue
            members[member] = (
                array,
                null_mask(array) if nulls_are_absent else np.zeros(rows, dtype=bool),
            )
    for member in [m for m in members if len(m) > MAX_NAME_CHARS or "\x00" in m]:
        # A name is per column, not per row: every row that holds the member is refused.
        _, absent = members.pop(member)
        shown = member if len(member) <= 60 else member[:57] + "..."
        problem = (
            f"over {MAX_NAME_CHARS} characters" if len(member) > MAX_NAME_CHARS else "holds a NUL"
        )
        problems.flag(~absent, f"{group[:-1]} name {shown!r} is {problem}")
    if len(members) > max_features:
        held = np.sum([~absent for _, absent in members.values()], axis=0)
        problems.flag(
            held > max_features,
            lambda row: (
                f"{int(held[row])} {group} in one row; at most {max_features} are read "
                "([ingest] max_features)"
            ),
        )
    return members


def _features(
    columns: Mapping[str, pa.Array], problems: Problems, nulls_are_absent: bool, max_features: int
) -> dict[str, Column]:
    return {
        name: feature_column(name, array, absent, problems)
        for name, (array, absent) in _members(
            columns, "features", problems, max_features, nulls_are_absent
        ).items()
    }


def _outputs(
    columns: Mapping[str, pa.Array], problems: Problems, nulls_are_absent: bool, max_features: int
) -> dict[str, Column]:
    plain: dict[str, Column] = {}
    ranked: dict[str, tuple[str, Column, BoolArray]] = {}
    members = _members(columns, "outputs", problems, max_features, nulls_are_absent)
    for name, (array, absent) in members.items():
        produced = output_columns(name, array, absent, problems)
        if len(produced) == 1:
            plain.update(produced)
            continue
        has_list = produced[f"{name}.length"].kinds == ValueKind.NUMBER
        for out_name, column in produced.items():
            ranked[out_name] = (name, column, has_list)
    outputs = dict(plain)
    for out_name, (list_name, column, has_list) in ranked.items():
        same_name = plain.get(out_name)
        if same_name is None:
            outputs[out_name] = column
            continue
        # As in the JSON path: refused only where a row holds both the list and the plain output.
        present = same_name.kinds != ValueKind.ABSENT
        problems.flag(
            has_list & present, f"output {out_name!r} collides with ranked list {list_name!r}"
        )
        outputs[out_name] = Column(
            kinds=np.where(present, same_name.kinds, column.kinds).astype(np.int8),
            numbers=np.where(present, same_name.numbers, column.numbers),
            texts=pa.nulls(len(present), pa.string()),
        )
    return outputs


def _tags(
    columns: Mapping[str, pa.Array], problems: Problems, max_features: int
) -> dict[str, pa.Array]:
    return {
        name: tag_array(name, array, problems)
        for name, (array, _absent) in _members(columns, "tags", problems, max_features).items()
    }


def _quarantined(
    table: pa.Table | pa.RecordBatch,
    model: pa.Array,
    problems: Problems,
    *,
    source: str,
    first: int,
) -> tuple[QuarantinedRow, ...]:
    bad_rows = np.flatnonzero(problems.bad)
    taken = table.take(pa.array(bad_rows)).to_pylist()
    models = model.take(pa.array(bad_rows)).to_pylist()
    return tuple(
        QuarantinedRow(
            source=source,
            position=first + int(row),
            reason=problems.reasons[int(row)],
            raw=_raw_row(values),
            model=row_model or None,
        )
        for row, values, row_model in zip(bad_rows, taken, models, strict=True)
    )


def _raw_row(values: Mapping[str, Any]) -> str:
    text = orjson.dumps(values, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    return truncate_raw(text)
