"""The logging SDK, re-exported from its own distribution, ``vigil-ml-sdk`` (import name
``vigil_sdk``, source in ``sdk/``).

The SDK lives in serving processes, so it ships apart from Vigil: standard library only, no
pins, Python 3.9 and later (``pip install ./sdk`` from a checkout). Vigil depends on it, and this
module gives it the name it had before it moved; ``vigil.sdk.Logger is vigil_sdk.Logger``.
"""

from vigil_sdk import (
    EVENT_KINDS,
    ConfigError,
    DiscardSink,
    FlushReport,
    HttpSink,
    JsonLinesSink,
    Logger,
    LoggerStats,
    Losses,
    MemorySink,
    Partition,
    PendingRecord,
    RecordEncoder,
    SchemaError,
    SdkError,
    Sink,
    SinkError,
    Spill,
    SpilledBatch,
    TimestampFormatter,
    partition_of,
    partition_path,
    partition_value,
    retry_after_s,
)

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
    "partition_of",
    "partition_path",
    "partition_value",
    "retry_after_s",
]
