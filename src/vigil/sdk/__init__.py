"""Logging SDK for serving code: record inferences without blocking the request.

Standard library and :mod:`vigil.core` only, because it runs inside other people's serving
processes. ``Logger.log`` appends a tuple to a bounded buffer; a background thread encodes the
records as inference-record JSON lines and hands them to a :class:`Sink`::

    from vigil.sdk import JsonLinesSink, Logger

    with Logger("ranker", "v3", sink=JsonLinesSink("/var/log/vigil")) as logger:
        request_id = logger.log({"age": 31}, {"score": 0.82}, latency_ms=12.5)
"""

from vigil.sdk.encoding import PendingRecord, RecordEncoder, TimestampFormatter
from vigil.sdk.http_sink import HttpSink, retry_after_s
from vigil.sdk.jsonl_sink import (
    JsonLinesSink,
    Partition,
    partition_of,
    partition_path,
    partition_value,
)
from vigil.sdk.logger import Logger, LoggerStats
from vigil.sdk.sinks import DiscardSink, MemorySink, Sink, SinkError

__all__ = [
    "DiscardSink",
    "HttpSink",
    "JsonLinesSink",
    "Logger",
    "LoggerStats",
    "MemorySink",
    "Partition",
    "PendingRecord",
    "RecordEncoder",
    "Sink",
    "SinkError",
    "TimestampFormatter",
    "partition_of",
    "partition_path",
    "partition_value",
    "retry_after_s",
]
