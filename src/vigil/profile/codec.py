"""Profile bytes: ``b"VGLP"``, a uint16 format version, then the compressed payload.

Format version 3 compresses the payload with Zstandard (level 1, through pyarrow's codec, which
every pyarrow wheel carries), after a uint32 giving the payload's length; versions 1 and 2 with
zlib. The payload of versions 2 and 3 is a uint32 length, a JSON header and the blob section. The
header holds the counts and keys, ``blobs`` (the byte length of every blob, in order) and, in
place of every sketch, the number of its blob. A column is a list, in this order::

    [present, nulls, nans, pos_inf, neg_inf, numbers, strings, bools,
     moments, quantiles, distinct, frequent, histogram]   # the last five: blob numbers, -1: none

Each sketch is serialized by its own format (KLL and frequent items by DataSketches, HLL
registers, log histograms and moments by Vigil; moments as five little-endian numbers
``count, mean, m2, min, max``, so infinities and every bit survive). A round trip is exact.

A new layout gets a new version number; readers refuse versions they do not know instead of
guessing. Version 3 changed only the compression: zlib at its fastest level took 0.8 ms of the
3 ms a 200-row window cost to profile and store, Zstandard 0.1 ms for 1% fewer bytes, and it
decompresses three times faster (``docs/performance.md``). Version 2 replaced version 1's
JSON object per column (moments in JSON, ``[offset, length]`` references) to halve the cost
of writing and reading a profile, and added the sparse form of HLL sketches; version 1 bytes
still read (:mod:`vigil.profile.codec_v1`).

Segments (:mod:`vigil.profile.segments`) were added to version 2 without a new number, as two
optional header keys a reader without them ignores: ``segment_spec`` (the spec's segment tags
and cap) and ``segments`` (per segment name, the blob holding that segment's own profile bytes).

The envelope (magic, version, compression, header) is :mod:`vigil.profile.envelope`, which a
listing reads alone.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

import orjson

from vigil.core import ProfileKey, SerializationError, Window
from vigil.profile.codec_v1 import decode_v1, event_rows
from vigil.profile.column import ColumnProfile
from vigil.profile.distinct import DistinctSketch
from vigil.profile.envelope import (
    FORMAT_VERSION,
    LENGTH,
    MAGIC,
    PREFIX,
    compress,
    open_profile,
    parse_time,
)
from vigil.profile.frequent import FrequentItems
from vigil.profile.histogram import LogHistogram
from vigil.profile.moments import Moments
from vigil.profile.profile import Profile
from vigil.profile.quantiles import QuantileSketch
from vigil.profile.spec import ProfileSpec

_MOMENTS = struct.Struct("<qdddd")


def encode_profile(profile: Profile) -> bytes:
    parts: list[bytes] = []

    def blob(data: bytes) -> int:
        parts.append(data)
        return len(parts) - 1

    def column(c: ColumnProfile) -> list[int]:
        # The column's blobs in one extend, numbered from where they start: a profile has ~30
        # columns, and a call per blob was a tenth of the cost of encoding a small window.
        m, counts, first = c.moments, c.type_counts, len(parts)
        parts.extend(
            (
                _MOMENTS.pack(m.count, m.mean, m.m2, m.min, m.max),
                c.quantiles.to_bytes(),
                c.distinct.to_bytes(),
                c.frequent.to_bytes(),
            )
        )
        return [
            c.present,
            c.nulls,
            c.nans,
            c.pos_inf,
            c.neg_inf,
            counts.get("number", 0),
            counts.get("string", 0),
            counts.get("bool", 0),
            first,
            first + 1,
            first + 2,
            first + 3,
            -1 if c.histogram is None else blob(c.histogram.to_bytes()),
        ]

    key, spec = profile.key, profile.spec
    header = {
        "key": [key.model, key.version, key.window.start.isoformat(), key.window.end.isoformat()],
        "spec": [
            int(spec.window.total_seconds()),
            spec.kll_k,
            spec.hll_lg_k,
            spec.frequent_lg_max,
            spec.latency_bucket_ratio,
            spec.max_hosts,
        ],
        "rows": profile.rows,
        "events": dict(profile.events),
        "feature_rows": profile.feature_rows,
        "output_rows": profile.output_rows,
        "first_seen": _iso(profile.first_seen),
        "last_seen": _iso(profile.last_seen),
        "request_ids": blob(profile.request_ids.to_bytes()),
        "features": {n: column(c) for n, c in profile.features.items()},
        "outputs": {n: column(c) for n, c in profile.outputs.items()},
        "latency": column(profile.latency),
        "labels": column(profile.labels),
        "host_latency": {h: blob(v.to_bytes()) for h, v in profile.host_latency.items()},
        "tags": {n: blob(f.to_bytes()) for n, f in profile.tags.items()},
    }
    if spec.segments or profile.segments:
        header["segment_spec"] = [list(spec.segments), spec.max_segment_values]
        header["segments"] = {n: blob(encode_profile(p)) for n, p in profile.segments.items()}
    header["blobs"] = [len(part) for part in parts]
    text = orjson.dumps(header)
    payload = b"".join([LENGTH.pack(len(text)), text, *parts])
    return PREFIX.pack(MAGIC, FORMAT_VERSION) + compress(payload)


def decode_profile(data: bytes) -> Profile:
    version, payload, header = open_profile(data)
    start = LENGTH.size + len(header)
    try:
        if version == 1:
            return decode_v1(json.loads(header), memoryview(payload)[start:])
        return _decode(orjson.loads(header), payload, start)
    except SerializationError:
        raise
    except (struct.error, ValueError, KeyError, TypeError, IndexError) as err:
        raise SerializationError(f"corrupt profile bytes: {err}") from err


def _decode(header: dict[str, Any], payload: bytes, start: int) -> Profile:
    offsets = list(accumulate(header["blobs"], initial=start))
    if offsets[-1] > len(payload):
        raise SerializationError(f"profile blobs end at byte {offsets[-1]}, beyond the payload")

    def blob(number: int) -> bytes:
        if number < 0:
            raise SerializationError(f"profile blob number {number} is not a blob")
        return payload[offsets[number] : offsets[number + 1]]

    def column(body: list[int]) -> ColumnProfile:
        (present, nulls, nans, pos_inf, neg_inf, number, string, boolean) = body[:8]
        moments, quantiles, distinct, frequent, histogram = body[8:]
        count, mean, m2, low, high = _MOMENTS.unpack(blob(moments))
        return ColumnProfile(
            present=present,
            nulls=nulls,
            nans=nans,
            pos_inf=pos_inf,
            neg_inf=neg_inf,
            type_counts={"number": number, "string": string, "bool": boolean},
            moments=Moments(count=count, mean=mean, m2=m2, min=low, max=high),
            quantiles=QuantileSketch.from_bytes(blob(quantiles)),
            distinct=DistinctSketch.from_bytes(blob(distinct)),
            frequent=FrequentItems.from_bytes(blob(frequent)),
            histogram=None if histogram < 0 else LogHistogram.from_bytes(blob(histogram)),
        )

    model, version, start_text, end_text = header["key"]
    window_s, kll_k, hll_lg_k, frequent_lg_max, ratio, max_hosts = header["spec"]
    events = header["events"]
    segments, max_segment_values = header.get("segment_spec", [[], 20])
    return Profile(
        key=ProfileKey(
            model=model,
            version=version,
            window=Window(start=parse_time(start_text), end=parse_time(end_text)),
        ),
        spec=ProfileSpec(
            window=timedelta(seconds=window_s),
            kll_k=kll_k,
            hll_lg_k=hll_lg_k,
            frequent_lg_max=frequent_lg_max,
            latency_bucket_ratio=ratio,
            max_hosts=max_hosts,
            segments=tuple(segments),
            max_segment_values=max_segment_values,
        ),
        rows=header["rows"],
        events=events,
        # Profiles written before rows had roles: the event alone said what a row carried.
        feature_rows=header.get("feature_rows", event_rows(events, "prediction", "arrival")),
        output_rows=header.get("output_rows", event_rows(events, "prediction", "completion")),
        first_seen=None if header["first_seen"] is None else parse_time(header["first_seen"]),
        last_seen=None if header["last_seen"] is None else parse_time(header["last_seen"]),
        request_ids=DistinctSketch.from_bytes(blob(header["request_ids"])),
        features={n: column(c) for n, c in header["features"].items()},
        outputs={n: column(c) for n, c in header["outputs"].items()},
        latency=column(header["latency"]),
        host_latency={
            h: LogHistogram.from_bytes(blob(i)) for h, i in header["host_latency"].items()
        },
        tags={n: FrequentItems.from_bytes(blob(i)) for n, i in header["tags"].items()},
        labels=column(header["labels"]),
        segments={n: decode_profile(blob(i)) for n, i in header.get("segments", {}).items()},
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
