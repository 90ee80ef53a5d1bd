"""Reading Parquet files row group by row group, converted without a per-row loop."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import SchemaError
from vigil.ingest.arrow_chunk import table_to_chunk
from vigil.ingest.batch import IngestChunk, RecordBatch
from vigil.ingest.limits import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_LIMITS,
    IngestLimits,
    check_reader_options,
)
from vigil.ingest.mapped import mapped_table_to_chunk

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParquetReader:
    """Reads one Parquet file in chunks of ``chunk_rows``; positions are 1-based row numbers.

    Columns are the record's top-level fields; ``features``/``outputs``/``tags`` may be struct
    columns or flattened ``features.<name>`` columns. Columns the record does not know are not
    read at all (Parquet is columnar, so that is free).
    """

    path: str | os.PathLike[str] = field(kw_only=False)
    now: datetime | None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    partition: Mapping[str, str] | None = None
    """Values from a Hive folder path (``model``, ``version``) that fill missing fields."""
    limits: IngestLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        check_reader_options(chunk_rows=self.chunk_rows, now=self.now)

    def read(self) -> Iterator[IngestChunk]:
        source = os.fspath(self.path)
        rules = self.limits.rules(self.now)
        try:
            parquet = pq.ParquetFile(source)
        except (pa.ArrowInvalid, OSError) as err:
            raise SchemaError(f"{source} is not a readable Parquet file: {err}") from err
        fields = self.limits.fields
        with parquet:
            names = parquet.schema_arrow.names
            wanted = None if fields else [name for name in names if _is_record_column(name)]
            position = 1
            quarantined = 0
            for arrow_batch in parquet.iter_batches(batch_size=self.chunk_rows, columns=wanted):
                if fields is not None:
                    chunk = mapped_table_to_chunk(
                        arrow_batch,
                        fields,
                        source=source,
                        rules=rules,
                        first_position=position,
                        partition=self.partition,
                    )
                else:
                    chunk = table_to_chunk(
                        arrow_batch,
                        source=source,
                        rules=rules,
                        first_position=position,
                        partition=self.partition,
                    )
                position += chunk.rows_read
                quarantined += len(chunk.quarantined)
                yield chunk
            if position == 1:
                yield IngestChunk(source=source, rows_read=0, batch=RecordBatch.empty())
        logger.info("read %s: %d rows, %d quarantined", source, position - 1, quarantined)


_RECORD_COLUMNS = frozenset(
    ("model", "version", "timestamp", "request_id", "host", "event", "latency_ms", "label")
)
_GROUPS = ("features", "outputs", "tags")


def _is_record_column(name: str) -> bool:
    return (
        name in _RECORD_COLUMNS
        or name in _GROUPS
        or name.startswith(tuple(group + "." for group in _GROUPS))
    )
