"""Readers over data already in memory: arrow/pandas tables, and plain lists (the test fake)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

import pyarrow as pa

from vigil.core import ConfigError
from vigil.ingest.arrow_chunk import table_to_chunk
from vigil.ingest.batch import IngestChunk, RecordBatch
from vigil.ingest.columns import records_to_chunk
from vigil.ingest.limits import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_LIMITS,
    IngestLimits,
    check_reader_options,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class TableReader:
    """Reads a ``pyarrow.Table`` or ``pandas.DataFrame`` laid out like a Parquet log file.

    Positions are 1-based row numbers. A DataFrame whose object columns arrow cannot type (a
    feature that is a number in one row and a string in the next) is read row by row through
    the JSON path instead, with the same rules and results.
    """

    table: Any = field(kw_only=False)
    source: str = "table"
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    now: datetime | None = None
    limits: IngestLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        check_reader_options(chunk_rows=self.chunk_rows, now=self.now)
        if not isinstance(self.table, pa.Table | pa.RecordBatch) and not _is_dataframe(self.table):
            raise ConfigError(
                f"TableReader needs a pyarrow.Table or pandas.DataFrame, got {type(self.table)!r}"
            )

    def read(self) -> Iterator[IngestChunk]:
        if isinstance(self.table, pa.Table | pa.RecordBatch):
            yield from self._read_arrow(self.table)
            return
        try:
            table = pa.Table.from_pandas(self.table, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            records = self.table.to_dict("records")
            yield from ListReader(
                records,
                source=self.source,
                chunk_rows=self.chunk_rows,
                now=self.now,
                limits=self.limits,
            ).read()
            return
        yield from self._read_arrow(table)

    def _read_arrow(self, table: pa.Table | pa.RecordBatch) -> Iterator[IngestChunk]:
        rules = self.limits.rules(self.now)
        if table.num_rows == 0:
            yield IngestChunk(source=self.source, rows_read=0, batch=RecordBatch.empty())
        for offset in range(0, table.num_rows, self.chunk_rows):
            yield table_to_chunk(
                table.slice(offset, self.chunk_rows),
                source=self.source,
                rules=rules,
                first_position=offset + 1,
            )


def _is_dataframe(value: object) -> bool:
    module = type(value).__module__
    if not module.startswith("pandas"):
        return False
    import pandas as pd

    return isinstance(value, pd.DataFrame)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListReader:
    """The :class:`~vigil.ingest.Reader` fake: reads records (dicts or JSON text) from a list.

    It goes through the same :func:`records_to_chunk` as every JSON source, so a test written
    against it sees real validation and quarantine.
    """

    records: Sequence[Mapping[str, Any] | bytes | str] = field(kw_only=False)
    source: str = "list"
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    now: datetime | None = None
    limits: IngestLimits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        check_reader_options(chunk_rows=self.chunk_rows, now=self.now)

    def read(self) -> Iterator[IngestChunk]:
        items = iter(self.records)
        position = 1
        while True:
            piece = list(islice(items, self.chunk_rows))
            if not piece and position > 1:
                return
            yield records_to_chunk(
                piece,
                source=self.source,
                now=self.now,
                first_position=position,
                limits=self.limits,
            )
            position += len(piece)
            if not piece:
                return
