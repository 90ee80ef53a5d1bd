"""Profile bytes: ``b"VGLP"``, a uint16 format version, then a zlib-compressed payload.

The payload is a uint32 length, a JSON header (counts, moments, keys, and for every sketch an
``[offset, length]`` into the blob section) and the blob section: each sketch serialized by its
own format (KLL and frequent items by DataSketches, HLL registers and log histograms by Vigil).
JSON keeps every float exactly (Python writes the shortest repr that reads back the same, and
``Infinity`` for the empty moments' min/max), so a round trip is exact. A new layout gets a new
version number; readers refuse versions they do not know instead of guessing.
"""

from __future__ import annotations

import json
import struct
import zlib
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

MAGIC = b"VGLP"
FORMAT_VERSION = 1
_PREFIX = struct.Struct("<4sH")
_LENGTH = struct.Struct("<I")
T = TypeVar("T")


class _Blobs:
    """Collects sketch bytes and hands out ``[offset, length]`` references."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> list[int]:
        self.parts.append(data)
        self.size += len(data)
        return [self.size - len(data), len(data)]


def encode_profile(profile: Profile) -> bytes:
    blobs = _Blobs()
    spec = profile.spec
    header = {
        "key": {
            "model": profile.key.model,
            "version": profile.key.version,
            "start": profile.key.window.start.isoformat(),
            "end": profile.key.window.end.isoformat(),
        },
        "spec": {
            "window_s": int(spec.window.total_seconds()),
            "kll_k": spec.kll_k,
            "hll_lg_k": spec.hll_lg_k,
            "frequent_lg_max": spec.frequent_lg_max,
            "latency_bucket_ratio": spec.latency_bucket_ratio,
            "max_hosts": spec.max_hosts,
        },
        "rows": profile.rows,
        "events": dict(profile.events),
        "requests": profile.requests,
        "first_seen": _iso(profile.first_seen),
        "last_seen": _iso(profile.last_seen),
        "request_ids": blobs.add(profile.request_ids.to_bytes()),
        "features": {n: _encode_column(c, blobs) for n, c in profile.features.items()},
        "outputs": {n: _encode_column(c, blobs) for n, c in profile.outputs.items()},
        "latency": _encode_column(profile.latency, blobs),
        "host_latency": {h: blobs.add(v.to_bytes()) for h, v in profile.host_latency.items()},
        "tags": {n: blobs.add(f.to_bytes()) for n, f in profile.tags.items()},
        "labels": _encode_column(profile.labels, blobs),
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    payload = b"".join([_LENGTH.pack(len(text)), text, *blobs.parts])
    return _PREFIX.pack(MAGIC, FORMAT_VERSION) + zlib.compress(payload, 6)


def decode_profile(data: bytes) -> Profile:
    if len(data) < _PREFIX.size or data[:4] != MAGIC:
        raise SerializationError("these bytes are not a Vigil profile (bad magic)")
    _, version = _PREFIX.unpack_from(data, 0)
    if version != FORMAT_VERSION:
        raise SerializationError(
            f"profile format version {version} is not supported by this Vigil (reads version "
            f"{FORMAT_VERSION}); upgrade Vigil or re-profile the logs"
        )
    try:
        payload = zlib.decompress(data[_PREFIX.size :])
        (length,) = _LENGTH.unpack_from(payload, 0)
        header = json.loads(payload[_LENGTH.size : _LENGTH.size + length])
        blob_section = memoryview(payload)[_LENGTH.size + length :]
        return _decode_header(header, blob_section)
    except SerializationError:
        raise
    except (zlib.error, struct.error, ValueError, KeyError, TypeError) as err:
        raise SerializationError(f"corrupt profile bytes: {err}") from err


def _decode_header(header: dict[str, Any], blob_section: memoryview) -> Profile:
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
        requests=header["requests"],
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


def _encode_column(column: ColumnProfile, blobs: _Blobs) -> dict[str, Any]:
    m = column.moments
    return {
        "present": column.present,
        "nulls": column.nulls,
        "nans": column.nans,
        "pos_inf": column.pos_inf,
        "neg_inf": column.neg_inf,
        "type_counts": dict(column.type_counts),
        "moments": [m.count, m.mean, m.m2, m.min, m.max],
        "quantiles": blobs.add(column.quantiles.to_bytes()),
        "distinct": blobs.add(column.distinct.to_bytes()),
        "frequent": blobs.add(column.frequent.to_bytes()),
        "histogram": None if column.histogram is None else blobs.add(column.histogram.to_bytes()),
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _optional_datetime(text: str | None) -> datetime | None:
    return None if text is None else _datetime(text)
