"""The shared column builder: raw records (dicts or JSON text) -> one :class:`IngestChunk`.

Every JSON path goes through here: the JSON-lines reader, the HTTP ingest endpoint and SDK sinks
(through :func:`records_to_chunk`). A per-row Python loop is unavoidable for JSON, so it does the
least it can: parse with orjson, validate, keep the normalized row as a tuple. Columns are built
once per chunk: ``zip(*rows)`` transposes, and each feature becomes one ``pyarrow.array`` call
whose inferred type tells the value kinds of the whole column at once. Only a column whose
values change type from row to row (itself a signal worth profiling) falls back to a per-value
loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ValueKind
from vigil.ingest.batch import META_SCHEMA, Column, IngestChunk, RecordBatch
from vigil.ingest.limits import (
    DEFAULT_LIMITS,
    SHORT_JSON_LIMIT,
    IngestLimits,
    RowRules,
    nested_too_deep,
)
from vigil.ingest.quarantine import QuarantinedRow, raw_bytes_text, raw_record_text
from vigil.ingest.validation import (
    NormalRow,
    normalize_record,
)

BoolArray = npt.NDArray[np.bool_]
_EMPTY: Mapping[str, Any] = {}
_ARROW_INFERENCE_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)


class ChunkBuilder:
    """Accumulates the rows of one chunk; :meth:`finish` turns them into an :class:`IngestChunk`.

    Readers that know more than the validator (a JSON line cut short at the end of a file) use
    :meth:`quarantine` directly; everything else goes through :meth:`add`.
    """

    def __init__(
        self, *, source: str, rules: RowRules, partition: Mapping[str, str] | None = None
    ) -> None:
        self.source = source
        self._rules = rules
        self._partition = partition
        self._rows: list[NormalRow] = []
        self._quarantined: list[QuarantinedRow] = []
        self.valid_positions: list[int] = []
        """Positions of the rows kept so far, in order (callers merging chunks need them)."""

    def __len__(self) -> int:
        return len(self._rows) + len(self._quarantined)

    def add(self, position: int, item: object) -> None:
        """Validate one record (a mapping, or its JSON text as bytes/str) and keep it."""
        record = item
        short_json = False
        if type(item) is bytes or type(item) is str:
            text = item if isinstance(item, bytes) else item.encode("utf-8", "surrogatepass")
            if nested_too_deep(text, self._rules.max_nesting):
                self.quarantine(position, self._rules.too_deep(), _raw(item))
                return
            try:
                record = orjson.loads(item)
            except orjson.JSONDecodeError as err:
                self.quarantine(position, _json_problem(item, err), _raw(item))
                return
            short_json = len(item) <= SHORT_JSON_LIMIT and b"\\u0000" not in text
        result = normalize_record(record, self._rules, self._partition, short_json=short_json)
        if type(result) is str:
            model = record.get("model") if isinstance(record, Mapping) else None
            self.quarantine(position, result, _raw(item), model if type(model) is str else None)
        else:
            self._rows.append(result)  # type: ignore[arg-type]
            self.valid_positions.append(position)

    def quarantine(
        self, position: int | None, reason: str, raw: str, model: str | None = None
    ) -> None:
        self._quarantined.append(
            QuarantinedRow(
                source=self.source, position=position, reason=reason, raw=raw, model=model
            )
        )

    def finish(self) -> IngestChunk:
        """The chunk of everything added so far (the builder should not be reused)."""
        return IngestChunk(
            source=self.source,
            rows_read=len(self),
            batch=rows_to_batch(self._rows),
            quarantined=tuple(self._quarantined),
        )


def _raw(item: object) -> str:
    return raw_bytes_text(item) if type(item) is bytes else raw_record_text(item)


def _json_problem(item: bytes | str, err: orjson.JSONDecodeError) -> str:
    if isinstance(item, bytes):
        try:
            item.decode("utf-8")
        except UnicodeDecodeError as bad:
            return f"not valid UTF-8: byte 0x{item[bad.start]:02x} at offset {bad.start}"
    return f"invalid JSON: {err}"


def records_to_chunk(
    records: Iterable[Mapping[str, Any] | bytes | str],
    *,
    source: str,
    now: datetime | None,
    first_position: int = 1,
    partition: Mapping[str, str] | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> IngestChunk:
    """Validate ``records`` and build one chunk of them; invalid ones are quarantined.

    Records may be dicts or their JSON text. Positions count from ``first_position`` in the order
    given. Timestamps must lie in the plausible range of ``limits`` around ``now`` (``None``
    bounds only the far future). ``partition`` fills a missing ``model``/``version`` (see
    :func:`normalize_record`).
    """
    builder = ChunkBuilder(source=source, rules=limits.rules(now), partition=partition)
    for position, item in enumerate(records, start=first_position):
        builder.add(position, item)
    return builder.finish()


def rows_to_batch(rows: Sequence[NormalRow]) -> RecordBatch:
    """Columnar form of normalized rows."""
    if not rows:
        return RecordBatch.empty()
    (
        models,
        versions,
        stamps,
        request_ids,
        hosts,
        events,
        latencies,
        labels,
        features,
        outputs,
        tags,
    ) = zip(*rows, strict=True)
    meta = pa.Table.from_arrays(
        [
            pa.array(models, pa.string()),
            pa.array(versions, pa.string()),
            pa.array(stamps, pa.timestamp("us", tz="UTC")),
            pa.array(request_ids, pa.string()),
            pa.array(hosts, pa.string()),
            pa.array(events, pa.string()),
            pa.array(latencies, pa.float64()),
            pa.array(labels, pa.float64()),
        ],
        schema=META_SCHEMA,
    )
    tag_dicts = _dicts(tags)
    return RecordBatch(
        meta=meta,
        features=_value_columns(_dicts(features)),
        outputs=_fold_null_ranked_lists(_value_columns(_dicts(outputs))),
        tags={
            name: pa.array([d.get(name) for d in tag_dicts], pa.string())
            for name in _names(tag_dicts)
        },
    )


def _dicts(values: Sequence[Mapping[str, Any] | None]) -> list[Mapping[str, Any]]:
    return [_EMPTY if d is None else d for d in values]


def _names(dicts: Sequence[Mapping[str, Any]]) -> list[str]:
    """Column names in order of first appearance."""
    seen: dict[str, None] = {}
    first = dicts[0].keys()
    for d in dicts:
        if d.keys() != first:
            seen.update(dict.fromkeys(d))
    return [*dict.fromkeys(first), *(name for name in seen if name not in first)]


def _value_columns(dicts: Sequence[Mapping[str, Any]]) -> dict[str, Column]:
    columns = {}
    for name in _names(dicts):
        values = [d.get(name) for d in dicts]
        columns[name] = column_from_values(values, partial(_presence, dicts, name))
    return columns


def _fold_null_ranked_lists(outputs: dict[str, Column]) -> dict[str, Column]:
    """A null ranked list ``r`` is a null ``r.top`` and ``r.length``, as in typed sources.

    Rows cannot tell a null ranked list from a null score, so the JSON path first builds a column
    ``r``; when the chunk also holds lists under that name, its nulls move to the list columns.
    """
    for name in [n for n in outputs if f"{n}.top" in outputs and f"{n}.length" in outputs]:
        column = outputs[name]
        if np.any(column.kinds > ValueKind.NULL):
            continue  # a real column that happens to share the name: leave it alone
        null_rows = column.kinds == ValueKind.NULL
        for suffix in (".top", ".length"):
            target = outputs[name + suffix]
            kinds = target.kinds.copy()
            kinds[null_rows & (kinds == ValueKind.ABSENT)] = ValueKind.NULL
            outputs[name + suffix] = Column(kinds=kinds, numbers=target.numbers, texts=target.texts)
        del outputs[name]
    return outputs


def _presence(dicts: Sequence[Mapping[str, Any]], name: str) -> BoolArray:
    return np.fromiter((name in d for d in dicts), dtype=bool, count=len(dicts))


def column_from_values(values: list[Any], present: Callable[[], BoolArray]) -> Column:
    """A :class:`Column` from one python value per row (``None`` = null or absent).

    ``present()`` tells, only when some value is ``None``, which rows mentioned the column, so a
    null can be told from an absence without paying for it on complete columns.
    """
    try:
        array = pa.array(values)
    except _ARROW_INFERENCE_ERRORS:
        return _mixed_column(values, present)
    rows = len(values)
    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        kinds = np.full(rows, ValueKind.NUMBER, dtype=np.int8)
        numbers = _float_numpy(array)
        texts = pa.nulls(rows, pa.string())
    elif pa.types.is_string(kind):
        kinds = np.full(rows, ValueKind.STRING, dtype=np.int8)
        numbers = np.full(rows, np.nan)
        texts = array
    elif pa.types.is_boolean(kind):
        kinds = np.full(rows, ValueKind.BOOL, dtype=np.int8)
        numbers = _float_numpy(array)
        texts = pc.if_else(array, "true", "false")
    elif pa.types.is_null(kind):
        kinds = np.full(rows, ValueKind.NULL, dtype=np.int8)
        numbers = np.full(rows, np.nan)
        texts = pa.nulls(rows, pa.string())
    else:
        return _mixed_column(values, present)
    if array.null_count:
        nulls = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        kinds[nulls] = ValueKind.NULL
        kinds[nulls & ~present()] = ValueKind.ABSENT
    return Column(kinds=kinds, numbers=numbers, texts=texts)


def _float_numpy(array: pa.Array) -> npt.NDArray[np.float64]:
    floats = pc.cast(array, pa.float64(), safe=False)  # ints above 2**53 round, as float() does
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)


def _mixed_column(values: list[Any], present: Callable[[], BoolArray]) -> Column:
    """The per-value path for a column whose values are not all of one type."""
    kinds: list[int] = []
    numbers: list[float] = []
    texts: list[str | None] = []
    for value in values:
        if value is None:
            kinds.append(ValueKind.NULL)
            numbers.append(np.nan)
            texts.append(None)
        elif value is True or value is False:
            kinds.append(ValueKind.BOOL)
            numbers.append(1.0 if value else 0.0)
            texts.append("true" if value else "false")
        elif isinstance(value, str):
            kinds.append(ValueKind.STRING)
            numbers.append(np.nan)
            texts.append(value)
        else:
            kinds.append(ValueKind.NUMBER)
            numbers.append(_as_float(value))
            texts.append(None)
    kind_array = np.asarray(kinds, dtype=np.int8)
    nulls = kind_array == ValueKind.NULL
    if nulls.any():
        kind_array[nulls & ~present()] = ValueKind.ABSENT
    return Column(
        kinds=kind_array,
        numbers=np.asarray(numbers, dtype=np.float64),
        texts=pa.array(texts, pa.string()),
    )


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        # An integer beyond float range (only possible from Python callers): keep its sign.
        return float("inf") if value > 0 else float("-inf")
