"""Turning buffered calls into inference-record JSON lines, off the serving thread.

``Logger.log`` only stores a :data:`PendingRecord` tuple; the background thread calls
:class:`RecordEncoder` on it. Everything that costs more than a few hundred nanoseconds (the
timestamp text, the dict, the JSON) therefore lives here, never on the hot path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Optional

PREDICTION = "prediction"
ARRIVAL = "arrival"
COMPLETION = "completion"
LABEL = "label"
EVENT_KINDS = (PREDICTION, ARRIVAL, COMPLETION, LABEL)
"""The ``event`` values of the inference record; Vigil's tests keep them equal to
``vigil.core.EventKind`` (the SDK cannot import Vigil)."""

# (event, epoch seconds, request_id, features, outputs, latency_ms, tags, label)
# Written with typing.Optional: this alias is evaluated at run time, on Python 3.9 too.
PendingRecord = tuple[
    str,
    float,
    str,
    Optional[Mapping[str, object]],
    Optional[Mapping[str, object]],
    Optional[float],
    Optional[Mapping[str, str]],
    object,
]


def _to_json_native(value: object) -> Any:
    """Unwrap numpy-like scalars and arrays without importing numpy (the SDK cannot)."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    raise TypeError(
        f"{type(value).__name__} value {value!r:.80} is not JSON-serializable; "
        "log numbers, strings, booleans, None or lists of numbers"
    )


class TimestampFormatter:
    """ISO 8601 UTC text with microseconds and ``Z``; the seconds part is cached per second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(self, epoch_s: float) -> str:
        # Whole microseconds first (exact in a float until year 2255), so rounding never
        # produces ".1000000" and a value just below a second stays in that second.
        second, micros = divmod(round(epoch_s * 1_000_000), 1_000_000)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._prefix}.{micros:06d}Z"


class RecordEncoder:
    """Encodes pending records of one model version into newline-terminated JSON bytes.

    Keys come out in a fixed order starting ``model, version, timestamp`` so that
    :class:`~vigil_sdk.JsonLinesSink` can find a line's partition without parsing it all.

    Lines are strict JSON (RFC 8259), because every consumer must read them (the ingest stage
    parses with orjson, which refuses ``NaN``). A record holding NaN or ±inf therefore has those
    values written as ``null`` rather than being lost whole; ``nonfinite_records`` counts such
    records so the change stays visible (``LoggerStats.nonfinite``).
    """

    def __init__(self, *, model: str, version: str, host: str) -> None:
        self._model = model
        self._version = version
        self._host = host
        self._timestamp = TimestampFormatter()
        self._encode = json.JSONEncoder(
            separators=(",", ":"), default=_to_json_native, allow_nan=False
        ).encode
        self._encode_lenient = json.JSONEncoder(
            separators=(",", ":"), default=_to_json_native
        ).encode
        self.nonfinite_records = 0

    def encode(self, record: PendingRecord) -> bytes:
        """One JSON line; raises ``TypeError``/``ValueError`` when a value cannot be written."""
        event, epoch_s, request_id, features, outputs, latency_ms, tags, label = record
        body: dict[str, object] = {
            "model": self._model,
            "version": self._version,
            "timestamp": self._timestamp(epoch_s),
            "request_id": request_id,
            "host": self._host,
            "event": event,
        }
        if features is not None:
            body["features"] = features
        if outputs is not None:
            body["outputs"] = outputs
        if latency_ms is not None:
            body["latency_ms"] = latency_ms
        if tags is not None:
            body["tags"] = tags
        if event == LABEL:
            body["label"] = label
        try:
            text = self._encode(body)
        except ValueError:
            text = self._encode_nulling_nonfinite(body)
        return (text + "\n").encode()

    def _encode_nulling_nonfinite(self, body: dict[str, object]) -> str:
        """The rare path: round-trip through the lenient encoder, reading NaN/inf back as null."""
        lenient = self._encode_lenient(body)  # a circular reference still raises ValueError here
        text = self._encode(json.loads(lenient, parse_constant=lambda _: None))
        self.nonfinite_records += 1
        return text
