"""Vigil's ingest stage: bytes and tables -> valid record batches + quarantined rows with reasons.

Readers (:class:`Reader` implementations) stream a source in bounded :class:`IngestChunk` values;
:func:`records_to_chunk` is the shared builder for JSON records (HTTP endpoint, SDK sinks).
"""

from vigil.ingest.batch import META_SCHEMA, Column, IngestChunk, QuarantinedRow, RecordBatch
from vigil.ingest.columns import records_to_chunk
from vigil.ingest.jsonl import JsonLinesReader
from vigil.ingest.quarantine import RAW_LIMIT_BYTES, write_quarantine
from vigil.ingest.reader import Reader
from vigil.ingest.validation import DEFAULT_CHUNK_ROWS, MAX_STRING_BYTES, record_problem

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "MAX_STRING_BYTES",
    "META_SCHEMA",
    "RAW_LIMIT_BYTES",
    "Column",
    "IngestChunk",
    "JsonLinesReader",
    "QuarantinedRow",
    "Reader",
    "RecordBatch",
    "record_problem",
    "records_to_chunk",
    "write_quarantine",
]
