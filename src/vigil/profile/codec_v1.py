"""Reading profile bytes of format version 1 (written by Vigil before format version 2).

Version 1 kept a JSON object per column, moments as JSON numbers (``Infinity`` for an empty
column's min and max) and ``[offset, length]`` references into the blob section. Kept only to
read profiles already stored; nothing writes it any more.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from vigil.core import ProfileKey, SerializationError, Window
from vigil.profile.column import ColumnProfile
from vigil.profile.distinct import DistinctSketch
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.moments import Moments
from vigil.profile.profile import Profile
from vigil.profile.quantiles import QuantileSketch
from vigil.profile.spec import ProfileSpec

T = TypeVar("T")


def decode_v1(header: dict[str, Any], blob_section: memoryview) -> Profile:
    """A profile from a version 1 header (a JSON object per column, ``[offset, length]``
    blob references, moments in the JSON) and its blob section."""

    def blob(ref: list[int], read: Callable[[bytes], T]) -> T:
        offset, size = ref
        if offset + size > len(blob_section):
            raise SerializationError(f"profile blob {ref} lies beyond the payload")
        return read(bytes(blob_section[offset : offset + size]))

    def column(body: dict[str, Any]) -> ColumnProfile:
        count, mean, m2, low, high = body["moments"]
        histogram = body["histogram"]
        return ColumnProfile(
            present=body["present"],
            nulls=body["nulls"],
            nans=body["nans"],
            pos_inf=body["pos_inf"],
            neg_inf=body["neg_inf"],
            type_counts=body["type_counts"],
            moments=Moments(count=count, mean=mean, m2=m2, min=low, max=high),
            quantiles=blob(body["quantiles"], QuantileSketch.from_bytes),
            distinct=blob(body["distinct"], DistinctSketch.from_bytes),
            frequent=blob(body["frequent"], FrequentItems.from_bytes),
            histogram=None if histogram is None else blob(histogram, LogHistogram.from_bytes),
        )

    key, spec = header["key"], header["spec"]
    return Profile(
        key=ProfileKey(
            model=key["model"],
            version=key["version"],
            window=Window(start=_datetime(key["start"]), end=_datetime(key["end"])),
        ),
        spec=ProfileSpec(
            window=timedelta(seconds=spec["window_s"]),
            kll_k=spec["kll_k"],
            hll_lg_k=spec["hll_lg_k"],
            frequent_lg_max=spec["frequent_lg_max"],
            latency_bucket_ratio=spec["latency_bucket_ratio"],
            max_hosts=spec["max_hosts"],
        ),
        rows=header["rows"],
        events=header["events"],
        # Version 1 predates row roles: the event alone said what a row carried.
        feature_rows=event_rows(header["events"], "prediction", "arrival"),
        output_rows=event_rows(header["events"], "prediction", "completion"),
        first_seen=_optional_datetime(header["first_seen"]),
        last_seen=_optional_datetime(header["last_seen"]),
        request_ids=blob(header["request_ids"], DistinctSketch.from_bytes),
        features={n: column(c) for n, c in header["features"].items()},
        outputs={n: column(c) for n, c in header["outputs"].items()},
        latency=column(header["latency"]),
        host_latency={
            h: blob(ref, LogHistogram.from_bytes) for h, ref in header["host_latency"].items()
        },
        tags={n: blob(ref, FrequentItems.from_bytes) for n, ref in header["tags"].items()},
        labels=column(header["labels"]),
    )


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _optional_datetime(text: str | None) -> datetime | None:
    return None if text is None else _datetime(text)


def event_rows(events: dict[str, int], *names: str) -> int:
    """Rows of the events ``names``: what a profile without row roles says carried a part."""
    return sum(events.get(name, 0) for name in names)
