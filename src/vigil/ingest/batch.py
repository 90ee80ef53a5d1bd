"""Columnar record batches: what every reader produces and what profiling consumes.

A batch is column-oriented so profiling can work on whole numpy/arrow arrays with no per-row
Python loop. Feature and output values may change type from row to row (a feature that is a
number in one request and a string in the next is a data-quality signal worth counting), so a
:class:`Column` keeps, for every row, its :class:`~vigil.core.ValueKind` plus a numeric view and a
text view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vigil.core import SchemaError, ValueKind
from vigil.ingest.quarantine import QuarantinedRow

Int8Array = npt.NDArray[np.int8]
Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

META_SCHEMA = pa.schema(
    [
        pa.field("model", pa.string(), nullable=False),
        pa.field("version", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("request_id", pa.string()),
        pa.field("host", pa.string()),
        pa.field("event", pa.string(), nullable=False),
        pa.field("latency_ms", pa.float64()),
        pa.field("label", pa.float64()),
    ]
)
"""Per-row fields of a batch other than features, outputs and tags."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One feature or output across the rows of a batch.

    - ``kinds[i]``: the :class:`ValueKind` code of row ``i`` (int8).
    - ``numbers[i]``: the value when it is a number (float64, NaN/inf kept as they came) or a bool
      (0.0/1.0); NaN otherwise.
    - ``texts``: an arrow string array, the value when it is a string, ``"true"``/``"false"`` for
      bools, null otherwise.
    """

    kinds: Int8Array
    numbers: FloatArray
    texts: pa.Array

    def __post_init__(self) -> None:
        n = len(self.kinds)
        if len(self.numbers) != n or len(self.texts) != n:
            raise SchemaError(
                f"column parts differ in length: kinds={n}, numbers={len(self.numbers)}, "
                f"texts={len(self.texts)}"
            )

    def __len__(self) -> int:
        return len(self.kinds)

    @classmethod
    def absent(cls, rows: int) -> Column:
        """A column that no row mentions."""
        return cls(
            kinds=np.full(rows, ValueKind.ABSENT, dtype=np.int8),
            numbers=np.full(rows, np.nan),
            texts=pa.nulls(rows, pa.string()),
        )

    @classmethod
    def from_numbers(cls, values: npt.ArrayLike) -> Column:
        """A numeric column; NaN stays a number (a NaN value), use ``None`` rows via from_values."""
        numbers = np.asarray(values, dtype=np.float64)
        return cls(
            kinds=np.full(len(numbers), ValueKind.NUMBER, dtype=np.int8),
            numbers=numbers,
            texts=pa.nulls(len(numbers), pa.string()),
        )

    def take(self, indices: Int64Array) -> Column:
        """The rows at ``indices``, in that order."""
        return Column(
            kinds=self.kinds[indices],
            numbers=self.numbers[indices],
            texts=self.texts.take(pa.array(indices)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordBatch:
    """Valid inference records in columnar form.

    ``meta`` holds the per-row fields in :data:`META_SCHEMA`; ``features`` and ``outputs`` map a
    name to its :class:`Column`; ``tags`` map a tag name to an arrow string array (null where the
    row has no such tag). Every column has ``meta.num_rows`` rows.
    """

    meta: pa.Table
    features: Mapping[str, Column] = field(default_factory=dict)
    outputs: Mapping[str, Column] = field(default_factory=dict)
    tags: Mapping[str, pa.Array] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.meta.schema.equals(META_SCHEMA):
            raise SchemaError(f"batch meta schema is {self.meta.schema}, expected {META_SCHEMA}")
        rows = self.meta.num_rows
        for kind, columns in (("feature", self.features), ("output", self.outputs)):
            for name, column in columns.items():
                if len(column) != rows:
                    raise SchemaError(f"{kind} {name!r} has {len(column)} rows, batch has {rows}")
        for name, values in self.tags.items():
            if len(values) != rows:
                raise SchemaError(f"tag {name!r} has {len(values)} rows, batch has {rows}")

    @property
    def num_rows(self) -> int:
        return int(self.meta.num_rows)

    def timestamps_us(self) -> Int64Array:
        """Row timestamps as int64 microseconds since the Unix epoch (UTC)."""
        column = self.meta.column("timestamp").combine_chunks()
        return np.asarray(column.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)

    def take(self, indices: Int64Array) -> RecordBatch:
        """The rows at ``indices``, in that order."""
        arrow_indices = pa.array(indices)
        return RecordBatch(
            meta=self.meta.take(arrow_indices),
            features={name: col.take(indices) for name, col in self.features.items()},
            outputs={name: col.take(indices) for name, col in self.outputs.items()},
            tags={name: values.take(arrow_indices) for name, values in self.tags.items()},
        )

    @classmethod
    def empty(cls) -> RecordBatch:
        return cls(meta=META_SCHEMA.empty_table())


def concatenate_batches(batches: Sequence[RecordBatch]) -> RecordBatch:
    """The rows of every batch, in order, as one batch; a column a batch lacks is absent there.

    One copy of each column, however many batches: joining them two at a time copies the rows
    gathered so far again at every step.
    """
    filled = [batch for batch in batches if batch.num_rows]
    if len(filled) <= 1:
        return filled[0] if filled else (batches[0] if batches else RecordBatch.empty())
    rows = [batch.num_rows for batch in filled]
    return RecordBatch(
        meta=pa.concat_tables([batch.meta for batch in filled]).combine_chunks(),
        features=_concatenate_columns([batch.features for batch in filled], rows),
        outputs=_concatenate_columns([batch.outputs for batch in filled], rows),
        tags={
            name: pa.concat_arrays(
                [
                    batch.tags.get(name, pa.nulls(count, pa.string()))
                    for batch, count in zip(filled, rows, strict=True)
                ]
            )
            for name in _names([batch.tags for batch in filled])
        },
    )


def _names(parts: Sequence[Mapping[str, object]]) -> list[str]:
    """Every name of ``parts``, in the order first met."""
    return list(dict.fromkeys(name for part in parts for name in part))


def _concatenate_columns(
    parts: Sequence[Mapping[str, Column]], rows: Sequence[int]
) -> dict[str, Column]:
    joined = {}
    for name in _names(parts):
        columns = [
            part.get(name) or Column.absent(count) for part, count in zip(parts, rows, strict=True)
        ]
        joined[name] = Column(
            kinds=np.concatenate([column.kinds for column in columns]),
            numbers=np.concatenate([column.numbers for column in columns]),
            texts=pa.concat_arrays([column.texts for column in columns]),
        )
    return joined


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestChunk:
    """One bounded piece of a read: its valid rows, its quarantined rows and how many it read.

    Invariant: ``rows_read == batch.num_rows + len(quarantined)``.
    """

    source: str
    rows_read: int
    batch: RecordBatch
    quarantined: tuple[QuarantinedRow, ...] = ()

    def __post_init__(self) -> None:
        if self.rows_read != self.batch.num_rows + len(self.quarantined):
            raise SchemaError(
                f"chunk of {self.source!r} read {self.rows_read} rows but holds "
                f"{self.batch.num_rows} valid + {len(self.quarantined)} quarantined"
            )
