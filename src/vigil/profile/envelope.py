"""The outside of profile bytes: magic, format version, compression and the JSON header.

:func:`open_profile` turns stored bytes into their payload and header, and :func:`decode_summary`
reads a listing's counts from the header alone. Neither touches a sketch, so this module loads
without NumPy or DataSketches: ``vigil profiles`` lists a store in a fraction of what importing
the sketches costs. :mod:`vigil.profile.codec` builds and reads the payload itself.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import orjson
import pyarrow as pa

from vigil.core import EventKind, ProfileKey, SerializationError, Window

MAGIC = b"VGLP"
FORMAT_VERSION = 3
READS = frozenset({1, 2, 3})
COMPRESSION_LEVEL = 1
"""Zstandard's level, chosen by measurement (``docs/performance.md``): on a 200-row window's
payload (59 kB) level 1 takes 0.11 ms for 40.2 kB, level 3 0.15 ms for 39.3 kB, and zlib's
fastest level (format version 2) took 0.87 ms for 40.6 kB."""
PREFIX = struct.Struct("<4sH")
LENGTH = struct.Struct("<I")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileSummary:
    """What a listing shows of a stored profile, read from its header without its sketches."""

    key: ProfileKey
    rows: int
    requests: int
    columns: int
    """Features plus outputs."""

    @classmethod
    def from_bytes(cls, data: bytes) -> ProfileSummary:
        return decode_summary(data)


def request_count(events: Mapping[str, int]) -> int:
    """:attr:`~vigil.profile.Profile.requests` from event counts."""
    arrivals = events.get(EventKind.ARRIVAL.value, 0)
    completions = events.get(EventKind.COMPLETION.value, 0)
    return events.get(EventKind.PREDICTION.value, 0) + arrivals + max(completions - arrivals, 0)


def compress(payload: bytes) -> bytes:
    """A payload as format version 3 stores it: its length (uint32), then Zstandard's frame."""
    frame: bytes = _zstd().compress(payload, asbytes=True)
    return LENGTH.pack(len(payload)) + frame


def payload_of(data: bytes) -> bytes:
    """The decompressed payload of profile bytes of any version this Vigil reads."""
    return open_profile(data)[1]


@cache
def _zstd() -> pa.Codec:
    return pa.Codec("zstd", compression_level=COMPRESSION_LEVEL)


def open_profile(data: bytes) -> tuple[int, bytes, bytes]:
    """Format version, decompressed payload and header bytes of a stored profile."""
    if len(data) < PREFIX.size or data[:4] != MAGIC:
        raise SerializationError("these bytes are not a Vigil profile (bad magic)")
    _, version = PREFIX.unpack_from(data, 0)
    if version not in READS:
        raise SerializationError(
            f"profile format version {version} is not supported by this Vigil (reads versions "
            f"{', '.join(map(str, sorted(READS)))}); upgrade Vigil or re-profile the logs"
        )
    try:
        if version == 3:
            (size,) = LENGTH.unpack_from(data, PREFIX.size)
            body = data[PREFIX.size + LENGTH.size :]
            payload: bytes = _zstd().decompress(body, decompressed_size=size, asbytes=True)
        else:
            payload = zlib.decompress(data[PREFIX.size :])
        (length,) = LENGTH.unpack_from(payload, 0)
    except (zlib.error, struct.error, OSError) as err:
        raise SerializationError(f"corrupt profile bytes: {err}") from err
    return version, payload, payload[LENGTH.size : LENGTH.size + length]


def decode_summary(data: bytes) -> ProfileSummary:
    """The key and counts of a profile from its header: no sketch is read (version 1 bytes are
    decoded whole, as their header holds the sketches)."""
    version, _, header = open_profile(data)
    if version == 1:
        from vigil.profile.codec import decode_profile

        profile = decode_profile(data)
        return ProfileSummary(
            key=profile.key,
            rows=profile.rows,
            requests=profile.requests,
            columns=len(profile.features) + len(profile.outputs),
        )
    try:
        fields = orjson.loads(header)
        model, version_name, start_text, end_text = fields["key"]
        key = ProfileKey(
            model=model,
            version=version_name,
            window=Window(start=parse_time(start_text), end=parse_time(end_text)),
        )
        return ProfileSummary(
            key=key,
            rows=fields["rows"],
            requests=request_count(fields["events"]),
            columns=len(fields["features"]) + len(fields["outputs"]),
        )
    except (ValueError, KeyError, TypeError) as err:
        raise SerializationError(f"corrupt profile bytes: {err}") from err


def parse_time(text: str) -> datetime:
    """A header's ISO time, in UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)
