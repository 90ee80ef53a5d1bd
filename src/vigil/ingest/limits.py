"""What one row may hold and when it may say it happened: the limits of ingest
(:class:`IngestLimits`, the ``[ingest]`` section of ``vigil.toml``), resolved against one ``now``
into the :class:`RowRules` the row loops compare, and the checks that run before any parser
(JSON nesting depth) or on a reader's options. A row outside a limit is quarantined with a reason
that names it; the record rules themselves are :mod:`vigil.ingest.validation`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigil.core import ConfigError
from vigil.ingest.fields import FieldMap

MAX_STRING_BYTES = 64 * 1024
"""Longest string value accepted anywhere in a record, in UTF-8 bytes."""

MAX_NAME_CHARS = 256
"""Longest model, version, feature, output or tag *name*, in characters. Names become series
keys, store rows, file paths and chart labels: a 1 MB feature name would be copied into every
one of them, so names get a far tighter limit than values."""

DAY_US = 86_400_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""The default earliest plausible timestamp (``[ingest] earliest``)."""
CEILING = datetime(2200, 1, 1, tzinfo=UTC)
"""No timestamp at or after this is plausible, even when no ``now`` bounds the future: it keeps
every window computable (a window at year 9999 overflows ``datetime``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestLimits:
    """What one row may hold and when it may say it happened; a row outside is quarantined
    with a reason that names the limit. Set by the ``[ingest]`` section of ``vigil.toml``.

    ``earliest`` and ``ahead`` make the plausible range ``[earliest, now + ahead]``;
    ``max_nesting`` bounds how deeply a JSON line nests (checked before any parser sees it: a
    line nested 20,000 deep crashes arrow's reader); ``max_features`` bounds the features (and
    outputs, and tags) of one row, each of which becomes a column of its chunk.
    """

    earliest: datetime = EARLIEST
    ahead: timedelta = timedelta(days=1)
    max_nesting: int = 64
    max_features: int = 2_000
    fields: FieldMap | None = None
    """Where the record's fields are in logs of another shape (``[ingest.fields]``); ``None``:
    the logs are in the record's own shape. Carried here because it travels with the limits to
    every reader (files, Hive folders, worker processes)."""

    def __post_init__(self) -> None:
        if self.earliest.tzinfo is None:
            raise ConfigError(f"earliest {self.earliest.isoformat()} needs a time zone (UTC)")
        if not EARLIEST.replace(year=1970) <= self.earliest < CEILING:
            raise ConfigError(
                f"earliest {self.earliest.isoformat()} must lie between 1970 and {CEILING:%Y}"
            )
        if self.ahead < timedelta(0):
            raise ConfigError(f"ahead must not be negative, got {self.ahead}")
        if self.max_nesting < 3 or self.max_features < 1:
            raise ConfigError(
                f"max_nesting must be at least 3 (a record with a ranked list nests 3 deep) and "
                f"max_features at least 1, got {self.max_nesting} and {self.max_features}"
            )

    def rules(self, now: datetime | None) -> RowRules:
        """These limits against ``now`` (``None``: no bound but :data:`CEILING` on the future)."""
        now_us = now_to_us(now)
        ceiling_us = (CEILING - EPOCH) // ONE_US
        if now_us is None:
            latest_us, future = ceiling_us, f"at or after {CEILING:%Y-%m-%d}"
        else:
            latest_us = min(ceiling_us, now_us + self.ahead // ONE_US)
            future = f"more than {_spoken(self.ahead)} in the future"
        return RowRules(
            earliest_us=(self.earliest - EPOCH) // ONE_US,
            latest_us=latest_us,
            max_nesting=self.max_nesting,
            max_features=self.max_features,
            earliest_text=f"{self.earliest:%Y-%m-%d}",
            future_text=future,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RowRules:
    """:class:`IngestLimits` resolved against one ``now``, in the units the row loops compare."""

    earliest_us: int
    latest_us: int
    max_nesting: int
    max_features: int
    earliest_text: str
    future_text: str

    def too_early(self, value: object) -> str:
        hint = " (a zero or unset clock?)" if value == 0 else ""
        return (
            f"timestamp {short_repr(value)} is before {self.earliest_text}, the earliest plausible "
            f"time ([ingest] earliest){hint}"
        )

    def too_late(self, value: object) -> str:
        return f"timestamp {short_repr(value)} is {self.future_text}{self.unit_hint(value)}"

    def too_deep(self) -> str:
        return f"JSON nested deeper than {self.max_nesting} levels ([ingest] max_nesting)"

    def unit_hint(self, value: object) -> str:
        """Why a number out of range may be so: another unit than epoch seconds."""
        if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
            return ""
        for unit, per_second in (
            ("milliseconds", 1e3),
            ("microseconds", 1e6),
            ("nanoseconds", 1e9),
        ):
            micros = float(value) / per_second * 1e6  # type: ignore[arg-type]
            if self.earliest_us <= micros <= self.latest_us:
                return f"; it looks like epoch {unit} (numbers are read as epoch seconds)"
        return ""


DEFAULT_LIMITS = IngestLimits()
"""The limits readers use when they are not told (see :class:`IngestLimits`)."""


def _spoken(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def nested_too_deep(text: bytes, limit: int) -> bool:
    """Whether JSON ``text`` nests arrays and objects more than ``limit`` deep.

    Counting brackets (in C) settles almost every line: a line with at most ``limit`` of them
    cannot nest deeper. Only the others are scanned, skipping brackets inside strings.
    """
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    depth = 0
    for token in _BRACKETS.finditer(text):
        mark = token.group()
        if mark in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif mark in (b"]", b"}"):
            depth -= 1
    return False


def now_to_us(now: datetime | None) -> int | None:
    """``now`` as epoch microseconds; ``None`` disables the "too far in the future" check."""
    if now is None:
        return None
    if now.tzinfo is None:
        raise ConfigError(f"now={now.isoformat()} has no time zone; pass an aware UTC datetime")
    return (now - EPOCH) // ONE_US


SAFE_CHARS = MAX_STRING_BYTES // 4
"""A string this long or shorter is under the byte limit whatever its characters."""


def short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


DEFAULT_CHUNK_ROWS = 50_000
"""Rows per chunk when a reader is not told: bounded memory, yet large enough to vectorize."""


def check_reader_options(*, chunk_rows: int, now: datetime | None) -> None:
    """Refuse reader settings that cannot work, quoting the bad value."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    now_to_us(now)


SHORT_JSON_LIMIT = SAFE_CHARS
"""JSON texts up to this length (bytes, or characters of a ``str``) cannot hold a string over
:data:`MAX_STRING_BYTES`: JSON escapes only shrink when decoded, and a character is at most 4
bytes of UTF-8."""
