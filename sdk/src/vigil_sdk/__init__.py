"""vigil_sdk: log inference records from serving code without blocking the request.

The distribution is ``vigil-ml-sdk`` (``vigil-sdk`` on the package index is someone else's).

Standard library only, Python 3.9 and later, no pinned dependencies: it runs inside other
people's serving processes and must install beside whatever they use. ``Logger.log`` appends a
tuple to a bounded buffer; a background thread encodes the records as inference-record JSON lines
and hands them to a :class:`Sink` (or, while the sink fails, to a spill folder)::

    from vigil_sdk import HttpSink, Logger

    with Logger("ranker", "v3", sink=HttpSink("https://vigil.example.org", token="..."),
                spill_dir="/var/spool/vigil") as logger:
        request_id = logger.log({"age": 31}, {"score": 0.82}, latency_ms=12.5)

Vigil re-exports all of it as ``vigil.sdk``.
"""

from vigil_sdk._version import __version__
from vigil_sdk.accounting import FlushReport, LoggerStats, Losses
from vigil_sdk.encoding import EVENT_KINDS, PendingRecord, RecordEncoder, TimestampFormatter
from vigil_sdk.errors import ConfigError, SchemaError, SdkError, SinkError
from vigil_sdk.http_sink import HttpSink, retry_after_s
from vigil_sdk.jsonl_sink import (
    JsonLinesSink,
    Partition,
    partition_of,
    partition_path,
    partition_value,
)
from vigil_sdk.logger import Logger
from vigil_sdk.sinks import DiscardSink, MemorySink, Sink
from vigil_sdk.spill import Spill, SpilledBatch

__all__ = [
    "EVENT_KINDS",
    "ConfigError",
    "DiscardSink",
    "FlushReport",
    "HttpSink",
    "JsonLinesSink",
    "Logger",
    "LoggerStats",
    "Losses",
    "MemorySink",
    "Partition",
    "PendingRecord",
    "RecordEncoder",
    "SchemaError",
    "SdkError",
    "Sink",
    "SinkError",
    "Spill",
    "SpilledBatch",
    "TimestampFormatter",
    "__version__",
    "partition_of",
    "partition_path",
    "partition_value",
    "retry_after_s",
]
