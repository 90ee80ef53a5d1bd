"""The inference record: the one log schema every reader, the SDK and the ingest endpoint share.

One record is one event of one inference request::

    {
      "model": "ranker",                       # required, non-empty string
      "version": "v3",                         # string; "" when the model is unversioned
      "timestamp": "2026-11-20T14:03:11.123Z", # required; ISO 8601 with zone, or epoch seconds
      "request_id": "9f1c...",                 # optional string; joins arrival, completion, label
      "host": "h-17",                          # optional string
      "event": "prediction",                   # prediction | arrival | completion | label
      "features": {"age": 31, "country": "DE", "is_new": false, "geo_id": null},
      "outputs": {"score": 0.82, "ranked": [0.9, 0.7, 0.1]},   # named scores or ranked lists
      "latency_ms": 12.5,                      # optional, finite and >= 0
      "tags": {"region": "eu-west", "segment": "mobile"},      # free string labels
      "label": 1                               # only on "label" events: the late outcome
    }

A ``prediction`` is a request logged once, complete. Serving code that logs a request's arrival
and its completion separately uses ``arrival`` (features) and ``completion`` (outputs, latency)
with the same ``request_id``, so "no response" can be told apart from "no requests". Outcomes that
arrive later are ``label`` events joined by ``request_id``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from vigil.core.errors import ConfigError
from vigil.core.windows import Window

REQUIRED_FIELDS = ("model", "timestamp")
KNOWN_FIELDS = (
    "model",
    "version",
    "timestamp",
    "request_id",
    "host",
    "event",
    "features",
    "outputs",
    "latency_ms",
    "tags",
    "label",
)


class EventKind(StrEnum):
    """What one record says happened to a request."""

    PREDICTION = "prediction"
    ARRIVAL = "arrival"
    COMPLETION = "completion"
    LABEL = "label"


class ValueKind(IntEnum):
    """The type of one feature or output value in one record; stored as int8 codes in batches.

    ``ABSENT`` means the record did not mention the column at all; ``NULL`` means it did, as null.
    """

    ABSENT = 0
    NULL = 1
    NUMBER = 2
    STRING = 3
    BOOL = 4


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class ProfileKey:
    """Locates one profile: a model, one of its versions and a time window."""

    model: str
    version: str
    window: Window

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("a profile key needs a non-empty model name")


class Family(StrEnum):
    """The three families of health statistics, plus drift against a reference and the model's
    performance (realised from labels, and estimated before they arrive)."""

    FEATURE = "feature"
    OUTPUT = "output"
    AUXILIARY = "auxiliary"
    DRIFT = "drift"
    PERFORMANCE = "performance"


ALL_VERSIONS = "*"
"""The version of a model-level series: the model over all its versions (traffic, latency).

A rollout that moves every request from ``v1`` to ``v2`` ends ``v1``'s traffic without any
request going unserved; a traffic stop is a statement about the model."""


SEGMENT_MARK = "@"
"""Between a column and its segment in a series' column: ``age@region=eu``."""


def segment_column(column: str, segment: str) -> str:
    """The column of a segment's series: ``age@region=eu`` (``column`` for no segment)."""
    return f"{column}{SEGMENT_MARK}{segment}" if segment else column


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class SeriesKey:
    """Names one health time series: e.g. ``(ranker, v3, feature, age, p99)``.

    ``column`` is the feature or output name, or ``""`` for auxiliary series; ``version`` is
    :data:`ALL_VERSIONS` for series of the model over all its versions. A segment's series
    carries its segment after the column (``age@region=eu``, :data:`SEGMENT_MARK`).
    """

    model: str
    version: str
    family: str
    column: str
    statistic: str

    @property
    def base_column(self) -> str:
        """The column without its segment (``age`` of ``age@region=eu``)."""
        return self.column.partition(SEGMENT_MARK)[0]

    @property
    def segment(self) -> str:
        """The segment a series is of (``region=eu``), ``""`` for the whole model."""
        return self.column.partition(SEGMENT_MARK)[2]

    def __str__(self) -> str:
        column = f"/{self.column}" if self.column else ""
        return f"{self.model}@{self.version}:{self.family}{column}/{self.statistic}"
