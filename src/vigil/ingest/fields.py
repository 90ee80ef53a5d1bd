"""Logs of another shape: where each field of the inference record is found in them.

Serving systems log requests in their own shape: ``ts_ms`` for the time, ``service.name`` for the
model, inputs under ``request.inputs``, latency in microseconds. A :class:`FieldMap` says where
each record field is (a dotted path into nested objects), in which unit times and latencies are,
and what the log's event names mean, so such logs are read as they are instead of being
converted first. It is resolved once, from ``[ingest.fields]`` of ``vigil.toml``
(:meth:`FieldMap.from_table`, which refuses unknown keys and units), and applied to each row
before the record rules (:mod:`vigil.ingest.validation`): a row the map does not fit (a path
through a value that is not an object, an event name it does not know) is quarantined with the
reason, naming the log's own field.

Fields the map does not name are read under their record names, so a map only lists what
differs. ``features``, ``outputs`` and ``tags`` are either one path to an object or a list of
paths whose values become the members (named by their last part).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

from vigil.core import ConfigError, EventKind

SCALARS = ("timestamp", "model", "version", "request_id", "event", "host", "latency_ms", "label")
GROUPS = ("features", "outputs", "tags")
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
"""Seconds per unit of an epoch timestamp."""
LATENCY_UNITS = {"ms": 1.0, "s": 1e3, "us": 1e-3, "ns": 1e-6}
"""Milliseconds per unit of a latency."""
_OPTIONS = ("timestamp_unit", "latency_unit", "events")
_ALIASES = {"latency": "latency_ms"}
_REQUIRED = ("timestamp", "model")
_EVENTS = frozenset(kind.value for kind in EventKind)

Path = tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldMap:
    """Where the record's fields are in a log of another shape (see the module docstring).

    ``paths``: record field -> path of its value (scalars, and groups given as one object).
    ``members``: group -> paths whose values are its members. ``events``: the log's event
    names -> record events. Units convert epoch numbers to seconds and latencies to ms.
    """

    paths: Mapping[str, Path] = field(default_factory=dict, hash=False)
    members: Mapping[str, tuple[Path, ...]] = field(default_factory=dict, hash=False)
    events: Mapping[str, str] = field(default_factory=dict, hash=False)
    timestamp_unit: str = "s"
    latency_unit: str = "ms"

    def __post_init__(self) -> None:
        unknown = set(self.paths) - set(SCALARS) - set(GROUPS)
        unknown |= set(self.members) - set(GROUPS)
        if unknown:
            raise ConfigError(f"[ingest.fields]: unknown record fields {sorted(unknown)}")
        if both := set(self.paths) & set(self.members):
            raise ConfigError(f"[ingest.fields]: {sorted(both)} given both as object and list")
        if self.timestamp_unit not in TIME_UNITS:
            raise ConfigError(
                f"[ingest.fields] timestamp_unit must be one of {sorted(TIME_UNITS)}, "
                f"got {self.timestamp_unit!r}"
            )
        if self.latency_unit not in LATENCY_UNITS:
            raise ConfigError(
                f"[ingest.fields] latency_unit must be one of {sorted(LATENCY_UNITS)}, "
                f"got {self.latency_unit!r}"
            )
        if bad := {k: v for k, v in self.events.items() if v not in _EVENTS}:
            raise ConfigError(
                f"[ingest.fields] events must map to one of {sorted(_EVENTS)}, got {bad}"
            )

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> FieldMap:
        """The map of an ``[ingest.fields]`` table: ``field = "dotted.path"`` or, for features,
        outputs and tags, a list of paths; ``timestamp_unit``, ``latency_unit`` and ``events``
        (a table of the log's event names)."""
        paths: dict[str, Path] = {}
        members: dict[str, tuple[Path, ...]] = {}
        for key, value in table.items():
            if key in _OPTIONS:
                continue
            name = _ALIASES.get(key, key)
            if name not in SCALARS and name not in GROUPS:
                known = sorted({*SCALARS, *GROUPS, *_ALIASES, *_OPTIONS})
                raise ConfigError(f"[ingest.fields]: unknown key {key!r}; known keys: {known}")
            if isinstance(value, str):
                paths[name] = _path(key, value)
            elif name in GROUPS and isinstance(value, list) and value:
                members[name] = tuple(_path(key, v) for v in value)
            else:
                kind = "a dotted path" + (" or a list of them" if name in GROUPS else "")
                raise ConfigError(f"[ingest.fields] {key}: expected {kind}, got {value!r}")
        events = table.get("events", {})
        if not isinstance(events, Mapping) or not all(isinstance(v, str) for v in events.values()):
            raise ConfigError(f"[ingest.fields] events: expected a table of names, got {events!r}")
        return cls(
            paths=paths,
            members=members,
            events=dict(events),
            timestamp_unit=str(table.get("timestamp_unit", "s")),
            latency_unit=str(table.get("latency_unit", "ms")),
        )

    def apply(self, row: object) -> dict[str, Any] | str:
        """``row`` as an inference record, or why the map does not fit it (its quarantine
        reason). The record's own rules are checked afterwards, on what this returns."""
        if not isinstance(row, Mapping):
            return f"record must be a JSON object, got {type(row).__name__}"
        record: dict[str, Any] = {}
        for name in (*SCALARS, *GROUPS):
            if name in self.members:
                found = _members(row, self.members[name])
            else:
                found = _value(row, self.paths.get(name, (name,)))
            if isinstance(found, _Unfit):
                return found.reason
            if found is not None:
                record[name] = found
            elif name in _REQUIRED and name in self.paths:
                return f"missing field {'.'.join(self.paths[name])!r} (the record's {name})"
        return self._converted(record)

    def _converted(self, record: dict[str, Any]) -> dict[str, Any] | str:
        when = record.get("timestamp")
        if isinstance(when, datetime):  # a Parquet timestamp column; naive ones are UTC
            zone = when.tzinfo or UTC
            record["timestamp"] = when.replace(tzinfo=zone).isoformat()
        elif _is_number(when) and self.timestamp_unit != "s":
            record["timestamp"] = when * TIME_UNITS[self.timestamp_unit]
        latency = record.get("latency_ms")
        if _is_number(latency) and self.latency_unit != "ms":
            record["latency_ms"] = latency * LATENCY_UNITS[self.latency_unit]
        event = record.get("event")
        if self.events and event is not None:
            mapped = self.events.get(event) if isinstance(event, str) else None
            if mapped is None and event not in _EVENTS:  # the record's own names pass
                where = ".".join(self.paths.get("event", ("event",)))
                return (
                    f"event {event!r} (field {where!r}) is not in [ingest.fields] events "
                    f"{sorted(self.events)}"
                )
            record["event"] = mapped or event
        return record


@dataclass(frozen=True, slots=True)
class _Unfit:
    reason: str


def _path(key: str, text: str) -> Path:
    parts = tuple(text.split("."))
    if not all(parts):
        raise ConfigError(f"[ingest.fields] {key}: {text!r} is not a dotted path like 'a.b'")
    return parts


def _value(row: Mapping[str, Any], path: Path) -> Any:
    """The value at ``path`` (None when absent), or why the path cannot be followed."""
    value: Any = row
    for depth, part in enumerate(path):
        if value is None:
            return None
        if not isinstance(value, Mapping):
            where = ".".join(path[:depth])
            return _Unfit(f"field {'.'.join(path)!r}: {where!r} is {_kind(value)}, not an object")
        value = value.get(part)
    return value


def _members(row: Mapping[str, Any], paths: Sequence[Path]) -> dict[str, Any] | _Unfit:
    found: dict[str, Any] = {}
    for path in paths:
        value = _value(row, path)
        if isinstance(value, _Unfit):
            return value
        found[path[-1]] = value  # a listed feature absent from a row is missing there
    return found


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"
