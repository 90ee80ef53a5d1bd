"""Shared vocabulary of every stage: keys, windows, the inference record and the error tree.

Standard library only: every stage, the SDK and Spark tasks import it.
"""

from vigil.core.errors import (
    ConfigError,
    ConflictError,
    IncompatibleSpecError,
    MissingExtraError,
    NotFittedError,
    SchemaError,
    SerializationError,
    StoreError,
    VigilError,
)
from vigil.core.names import file_stem, is_hashed, name_hash
from vigil.core.record import (
    ALL_VERSIONS,
    KNOWN_FIELDS,
    REQUIRED_FIELDS,
    SEGMENT_MARK,
    EventKind,
    Family,
    ProfileKey,
    SeriesKey,
    ValueKind,
    segment_column,
)
from vigil.core.windows import (
    Window,
    ensure_utc,
    format_duration,
    parse_duration,
    window_start_us,
    windows_between,
)

__all__ = [
    "ALL_VERSIONS",
    "KNOWN_FIELDS",
    "REQUIRED_FIELDS",
    "SEGMENT_MARK",
    "ConfigError",
    "ConflictError",
    "EventKind",
    "Family",
    "IncompatibleSpecError",
    "MissingExtraError",
    "NotFittedError",
    "ProfileKey",
    "SchemaError",
    "SerializationError",
    "SeriesKey",
    "StoreError",
    "ValueKind",
    "VigilError",
    "Window",
    "ensure_utc",
    "file_stem",
    "format_duration",
    "is_hashed",
    "name_hash",
    "parse_duration",
    "segment_column",
    "window_start_us",
    "windows_between",
]
