"""Conversions between Vigil's values and the flat records both stores keep.

Both :class:`SqlStore` and :class:`MemoryStore` go through these, so the fake holds exactly what
the database would (encoded profile bytes, microsecond times, NaN as "no value") and the
conformance suite checks one behaviour, not two. Series points, which need NumPy, are in
:mod:`vigil.store.series_records`: a command that never reads a series (``vigil profiles``,
``vigil incidents``) loads neither NumPy nor the sketches.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from vigil.core import ConfigError, SerializationError, SeriesKey, ensure_utc
from vigil.store.values import QuarantineCount, StoredProfile

if TYPE_CHECKING:
    from vigil.profile import Profile

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
K = TypeVar("K")
V = TypeVar("V")


def storable_text(text: str) -> str:
    """``text`` with NUL characters written as ``\\x00``: PostgreSQL's text cannot hold NUL,
    and a quarantined row's raw text is exactly where one turns up. Both stores apply it, so
    they keep the same text."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch; naive datetimes are refused, not guessed."""
    return (ensure_utc(moment) - EPOCH) // _MICROSECOND


def from_us(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(micros))


def duration_us(duration: timedelta) -> int:
    micros = duration // _MICROSECOND
    if micros <= 0:
        raise ConfigError(f"a window duration must be positive, got {duration}")
    return micros


def stored_profile(profile: Profile, *, now: datetime) -> StoredProfile:
    """Encode ``profile`` for storage, stamped with ``now``."""
    return StoredProfile(
        key=profile.key,
        fingerprint=profile.spec.fingerprint(),
        rows=profile.rows,
        blob=profile.to_bytes(),
        updated_at=ensure_utc(now),
    )


def decode_profiles(records: Iterable[StoredProfile]) -> list[Profile]:
    """The profiles of ``records``; a corrupt one raises an error that names it."""
    return [decode_profile(record) for record in records]


def decode_profile(record: StoredProfile) -> Profile:
    """The profile ``record`` holds, checked against its own key and row count.

    The bytes come from storage, which a disk, a bad copy or a hand edit can damage; whatever
    the decoder trips over (including errors of the sketch libraries) becomes one
    :class:`SerializationError` that says which profile it is and how to isolate it.
    """
    from vigil.profile import Profile

    try:
        profile = Profile.from_bytes(record.blob)
    except Exception as err:  # the bytes are untrusted; any failure means "corrupt"
        raise SerializationError(f"{describe_profile(record)} is corrupt ({err}); {_FIX}") from err
    if profile.key != record.key or profile.rows != record.rows:
        raise SerializationError(
            f"{describe_profile(record)} holds the profile of {profile.key.model!r} "
            f"{profile.key.version!r} {profile.key.window} with {profile.rows} rows; {_FIX}"
        )
    return profile


_FIX = "`vigil doctor --isolate DIR` moves it out of the store"


def describe_profile(record: StoredProfile) -> str:
    """How a message names one stored profile."""
    key = record.key
    return f"the stored profile of model {key.model!r} version {key.version!r} window {key.window}"


def dedupe_last(items: Iterable[tuple[K, V]]) -> list[V]:
    """Keep the last value per key, in first-seen key order.

    One bulk upsert must not touch a row twice (PostgreSQL refuses it), and "the last write wins"
    is what a caller writing the same key twice in one call means.
    """
    latest: dict[K, V] = {}
    for key, value in items:
        latest[key] = value
    return list(latest.values())


def series_key(parts: Sequence[str]) -> SeriesKey:
    """The key of a stored point from its ``(model, version, family, column, statistic)``."""
    model, version, family, column, statistic = parts
    return SeriesKey(
        model=model, version=version, family=family, column=column, statistic=statistic
    )


def sort_quarantine_counts(counts: Iterable[QuarantineCount]) -> list[QuarantineCount]:
    """Model, then rows without a window, then windows in time order (the same on every DB)."""
    return sorted(
        counts,
        key=lambda c: (c.model, c.window_start is not None, c.window_start or from_us(0)),
    )


SERIES_COLUMNS = (
    "model",
    "version",
    "family",
    "column_name",
    "statistic",
    "timestamp_us",
    "value",
    "support",
    "stderr",
)
"""The columns of a stored series point, in the order of :func:`series_points` tuples."""

SeriesPoint = tuple[str, str, str, str, str, int, float | None, float | None, float | None]
