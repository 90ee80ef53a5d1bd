"""``JsonLinesSink``: rotated JSON-lines files in the Hive layout the ingest readers walk.

Records land in ``root/model=M/version=V/date=YYYY-MM-DD/hour=HH/part-<uuid>.jsonl``, the folder
chosen from each record's own timestamp (UTC), so a record logged at 10:59:59.9 and flushed after
11:00 still sits in ``hour=10``. Partition values are percent-encoded (``/`` -> ``%2F``) so any
model name is one safe folder name; one whose encoding would pass
:data:`MAX_PARTITION_VALUE_CHARS` (a 28-character Chinese name is 252) is cut to a readable
prefix plus ``~`` and a hash of the whole name (see :func:`vigil.core.file_stem`), which
readers recognise and never decode: the records inside carry the full name.

A file is written as ``part-<uuid>.jsonl.tmp`` and renamed to ``.jsonl`` when it is finished:
readers (which pick ``*.jsonl``) never see a file that is still growing, so never a half line.
A file is finished when it reaches ``rotate_bytes``, when it is ``rotate_seconds`` old, when a
later hour of the same model version starts, or when the sink is closed. After a crash the
``.tmp`` files hold whole lines except perhaps the last one; rename them to recover the data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote

from vigil_sdk.errors import ConfigError, SchemaError

# (model, version, "YYYY-MM-DD", "HH")
Partition = tuple[str, str, str, str]

# The key order RecordEncoder writes; anything else falls back to a full json parse.
_FAST_PARTITION = re.compile(
    rb'\{"model":"([^"\\]*)","version":"([^"\\]*)","timestamp":"(\d{4}-\d\d-\d\d)T(\d\d):'
    rb'\d\d:\d\d(?:\.\d+)?Z"'
)


_FRACTION = re.compile(r"\.(\d+)")


def partition_of(line: bytes) -> Partition:
    """The Hive partition of one JSON line: model, version, UTC date and hour of its timestamp."""
    fast = _FAST_PARTITION.match(line)
    if fast is not None:
        model, version, date, hour = (group.decode() for group in fast.groups())
        return model, version, date, hour
    try:
        record = json.loads(line)
    except ValueError as err:
        raise SchemaError(f"line is not JSON ({err}): {line[:200]!r}") from err
    if not isinstance(record, dict):
        raise SchemaError(f"line is not a JSON object: {line[:200]!r}")
    model, version, stamp = record.get("model"), record.get("version", ""), record.get("timestamp")
    if not isinstance(model, str) or not model or not isinstance(version, str):
        raise SchemaError(f"line needs a non-empty string model and string version: {line[:200]!r}")
    moment = _parse_timestamp(stamp, line)
    return model, version, moment.strftime("%Y-%m-%d"), moment.strftime("%H")


def _parse_timestamp(stamp: object, line: bytes) -> datetime:
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        return datetime.fromtimestamp(stamp, timezone.utc)
    if isinstance(stamp, str):
        try:
            moment = datetime.fromisoformat(_iso_for_python_3_9(stamp))
        except ValueError as err:
            raise SchemaError(f"timestamp {stamp!r} is not ISO 8601: {line[:200]!r}") from err
        if moment.tzinfo is not None:
            return moment.astimezone(timezone.utc)
    raise SchemaError(f"timestamp {stamp!r} needs ISO 8601 with a zone or epoch seconds")


def _iso_for_python_3_9(stamp: str) -> str:
    """Python before 3.11 reads no ``Z`` and only 3 or 6 fraction digits: spell them so."""
    if stamp.endswith(("Z", "z")):
        stamp = stamp[:-1] + "+00:00"
    return _FRACTION.sub(lambda digits: "." + (digits[1] + "00000")[:6], stamp, count=1)


MAX_PARTITION_VALUE_CHARS = 180
"""Longest encoded partition value kept whole: ``version=`` plus it stays far below the 255
bytes a file name may have."""
_PREFIX_CHARS = 90
# The same convention as vigil.core.names (which this standard-library-only package cannot
# import): "~" and 16 hex digits of the SHA-256 of the UTF-8 name.
_HASHED = re.compile(r"~[0-9a-f]{16}$")


def _name_hash(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def partition_path(partition: Partition) -> Path:
    """The folder of a partition, relative to the sink root."""
    model, version, date, hour = partition
    return Path(
        f"model={encode_partition_value(model)}", f"version={encode_partition_value(version)}",
        f"date={date}", f"hour={hour}",
    )  # fmt: skip


def encode_partition_value(value: str) -> str:
    """``value`` as one safe, length-bounded folder-name part (see the module docstring).

    ``~`` is escaped too, so a hashed value (``prefix~hash``) cannot be produced by encoding a
    name."""
    encoded = quote(value, safe="").replace("~", "%7E")
    if len(encoded) <= MAX_PARTITION_VALUE_CHARS:
        return encoded
    prefix = re.sub(r"%[0-9A-F]?$", "", encoded[:_PREFIX_CHARS])
    return f"{prefix}~{_name_hash(value)}"


def partition_value(folder_name: str) -> str | None:
    """Inverse of :func:`partition_path` for one folder: ``"model=a%2Fb"`` -> ``"a/b"``;
    ``None`` for a hashed value, whose name only its records hold."""
    encoded = folder_name.partition("=")[2]
    if _HASHED.search(encoded):
        return None
    return unquote(encoded)


@dataclass  # no slots/kw_only: Python 3.9
class _OpenPart:
    temporary: Path
    file: BinaryIO
    opened_at: float
    size: int = 0


class JsonLinesSink:
    """Appends lines to Hive-partitioned files under ``root`` and rotates them (see module doc).

    ``clock`` (monotonic seconds) only times ``rotate_seconds``; partitions come from the records.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        rotate_bytes: int = 64 * 1024 * 1024,
        rotate_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rotate_bytes < 1:
            raise ConfigError(f"rotate_bytes must be at least 1, got {rotate_bytes!r}")
        if not rotate_seconds > 0:
            raise ConfigError(f"rotate_seconds must be positive, got {rotate_seconds!r}")
        self.root = Path(root)
        self._rotate_bytes = rotate_bytes
        self._rotate_seconds = rotate_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._open: dict[Partition, _OpenPart] = {}
        self._pid = os.getpid()
        self.files_finished = 0

    def write(self, lines: list[bytes]) -> None:
        """Append whole lines; every line is checked before any byte is written."""
        groups: dict[Partition, list[bytes]] = {}
        for line in lines:
            if not line.endswith(b"\n"):
                line = line + b"\n"  # noqa: PLW2901 - a line must end where the next begins
            groups.setdefault(partition_of(line), []).append(line)
        self._forget_parent_files()
        with self._lock:
            for partition, group in groups.items():
                part = self._open.get(partition) or self._open_part(partition)
                data = b"".join(group)
                part.file.write(data)
                part.file.flush()
                part.size += len(data)
                if part.size >= self._rotate_bytes:
                    self._finish(partition)
            self._finish_superseded_hours(groups)
            self._finish_old_files()

    def close(self) -> None:
        """Finish (rename) every open file."""
        self._forget_parent_files()
        with self._lock:
            for partition in list(self._open):
                self._finish(partition)

    def _open_part(self, partition: Partition) -> _OpenPart:
        folder = self.root / partition_path(partition)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"part-{uuid.uuid4().hex}.jsonl.tmp"
        part = _OpenPart(temporary=temporary, file=temporary.open("ab"), opened_at=self._clock())
        self._open[partition] = part
        return part

    def _finish(self, partition: Partition) -> None:
        part = self._open.pop(partition)
        part.file.close()
        final = part.temporary.with_suffix("")  # drops ".tmp"
        os.replace(part.temporary, final)
        self.files_finished += 1

    def _finish_superseded_hours(self, written: dict[Partition, list[bytes]]) -> None:
        latest: dict[tuple[str, str], tuple[str, str]] = {}
        for model, version, date, hour in written:
            key = (model, version)
            latest[key] = max(latest.get(key, (date, hour)), (date, hour))
        for partition in list(self._open):
            newest = latest.get(partition[:2])
            if newest is not None and partition[2:] < newest:
                self._finish(partition)

    def _finish_old_files(self) -> None:
        now = self._clock()
        for partition, part in list(self._open.items()):
            if now - part.opened_at >= self._rotate_seconds:
                self._finish(partition)

    def _forget_parent_files(self) -> None:
        """In a forked child, leave the parent's open files (and maybe held lock) to the parent."""
        if os.getpid() != self._pid:
            self._lock = threading.Lock()
            self._open = {}
            self._pid = os.getpid()
