"""Vigil's ingest stage: bytes and tables -> valid record batches + quarantined rows with reasons.

Readers (:class:`Reader` implementations) stream a source in bounded :class:`IngestChunk` values;
:func:`open_reader` picks one for a path. :func:`records_to_chunk` is the shared builder for JSON
records (the HTTP endpoint, SDK sinks). :class:`ListReader` is the fake for tests.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.ingest.arrow_chunk import table_to_chunk
    from vigil.ingest.batch import (
        META_SCHEMA,
        Column,
        IngestChunk,
        RecordBatch,
        concatenate_batches,
    )
    from vigil.ingest.columns import records_to_chunk
    from vigil.ingest.fields import FieldMap
    from vigil.ingest.hive import (
        HivePartitionedReader,
        open_reader,
        partition_values,
        with_folder_model,
    )
    from vigil.ingest.jsonl import JsonLinesReader
    from vigil.ingest.limits import (
        DEFAULT_CHUNK_ROWS,
        DEFAULT_LIMITS,
        EARLIEST,
        MAX_NAME_CHARS,
        MAX_STRING_BYTES,
        IngestLimits,
        RowRules,
    )
    from vigil.ingest.mapped import mapped_line, mapped_table_to_chunk
    from vigil.ingest.memory import ListReader, TableReader
    from vigil.ingest.parquet import ParquetReader
    from vigil.ingest.quarantine import (
        RAW_LIMIT_BYTES,
        QuarantinedRow,
        quarantined_at,
        write_quarantine,
    )
    from vigil.ingest.reader import Reader
    from vigil.ingest.validation import (
        record_problem,
    )

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_LIMITS",
    "EARLIEST",
    "MAX_NAME_CHARS",
    "MAX_STRING_BYTES",
    "META_SCHEMA",
    "RAW_LIMIT_BYTES",
    "Column",
    "FieldMap",
    "HivePartitionedReader",
    "IngestChunk",
    "IngestLimits",
    "JsonLinesReader",
    "ListReader",
    "ParquetReader",
    "QuarantinedRow",
    "Reader",
    "RecordBatch",
    "RowRules",
    "TableReader",
    "concatenate_batches",
    "mapped_line",
    "mapped_table_to_chunk",
    "open_reader",
    "partition_values",
    "quarantined_at",
    "record_problem",
    "records_to_chunk",
    "table_to_chunk",
    "with_folder_model",
    "write_quarantine",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.ingest.arrow_chunk": ("table_to_chunk",),
        "vigil.ingest.batch": (
            "META_SCHEMA",
            "Column",
            "IngestChunk",
            "RecordBatch",
            "concatenate_batches",
        ),
        "vigil.ingest.columns": ("records_to_chunk",),
        "vigil.ingest.fields": ("FieldMap",),
        "vigil.ingest.hive": (
            "HivePartitionedReader",
            "open_reader",
            "partition_values",
            "with_folder_model",
        ),
        "vigil.ingest.jsonl": ("JsonLinesReader",),
        "vigil.ingest.mapped": ("mapped_line", "mapped_table_to_chunk"),
        "vigil.ingest.limits": (
            "DEFAULT_CHUNK_ROWS",
            "DEFAULT_LIMITS",
            "EARLIEST",
            "MAX_NAME_CHARS",
            "MAX_STRING_BYTES",
            "IngestLimits",
            "RowRules",
        ),
        "vigil.ingest.memory": ("ListReader", "TableReader"),
        "vigil.ingest.parquet": ("ParquetReader",),
        "vigil.ingest.quarantine": (
            "RAW_LIMIT_BYTES",
            "QuarantinedRow",
            "quarantined_at",
            "write_quarantine",
        ),
        "vigil.ingest.reader": ("Reader",),
        "vigil.ingest.validation": ("record_problem",),
    },
)
