"""Validation of one raw inference record (a dict decoded from JSON) against the record schema.

The rules are those of :mod:`vigil.core.record`, made precise:

- ``model``: required, a non-empty string. ``timestamp``: required, ISO 8601 *with* a zone or
  epoch seconds (int/float), inside the plausible range of :class:`IngestLimits` (by default
  from 2000 to one day after ``now``): a row stamped 0, or in milliseconds, or in year 9999 is
  a broken clock, and filing it into a window would plan windows back to 1970 or overflow.
- ``version`` (default ``""``), ``request_id``, ``host``: strings or absent/null.
- ``event``: one of :class:`~vigil.core.EventKind` (default ``prediction``).
- ``latency_ms``: a finite number >= 0, or absent/null. ``label``: a finite number (bools read
  as 0/1), or absent/null.
- ``features``: an object of number | string | bool | null. NaN and inf are *valid* numbers:
  profiling counts them, and quarantining them would hide exactly what monitoring should see.
- ``outputs``: an object of numbers (or null) or ranked lists of numbers; a list ``r`` becomes the
  two numeric outputs ``r.top`` (its first element, NULL when empty) and ``r.length``.
- ``tags``: an object of strings (a null tag is the same as no tag).
- Unknown top-level keys are ignored: producers add fields over time, and refusing them would
  make every schema change an outage. Strings over 64 kB anywhere are quarantined, and so are
  rows with more features (or outputs, or tags) than :attr:`IngestLimits.max_features`, JSON
  nested deeper than :attr:`IngestLimits.max_nesting` and names holding a NUL character (names
  become database text, which PostgreSQL cannot hold NULs in).

The hot loop in :mod:`vigil.ingest.columns` calls :func:`normalize_record` once per row, so it is
written for speed: exact ``type()`` checks first, a result tuple rather than an object.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from vigil.core import EventKind
from vigil.ingest.limits import (
    DEFAULT_LIMITS,
    EPOCH,
    MAX_NAME_CHARS,
    MAX_STRING_BYTES,
    ONE_US,
    SAFE_CHARS,
    IngestLimits,
    RowRules,
    short_repr,
)

_EVENTS = frozenset(kind.value for kind in EventKind)
_EVENT_LIST = ", ".join(kind.value for kind in EventKind)
_NUMBER_TYPES = (int, float)
_FLOAT_MAX = sys.float_info.max
_JSON_SCALARS = frozenset((int, float, bool, str, type(None)))
_JSON_NUMBERS = frozenset((int, float, type(None)))
_JSON_TEXTS = frozenset((str, type(None)))

NormalRow = tuple[
    str,  # model
    str,  # version
    int,  # timestamp, microseconds since the epoch (UTC)
    str | None,  # request_id
    str | None,  # host
    str,  # event
    float | None,  # latency_ms
    float | None,  # label
    Mapping[str, Any] | None,  # features
    Mapping[str, Any] | None,  # outputs, ranked lists flattened
    Mapping[str, Any] | None,  # tags
]
"""A valid record in the order the column builder appends it."""


def _too_long(text: str) -> bool:
    return len(text) > SAFE_CHARS and len(text.encode("utf-8", "surrogatepass")) > MAX_STRING_BYTES


def timestamp_us(value: object, rules: RowRules) -> int | str:
    """Epoch microseconds of a record's timestamp, or the reason it is not acceptable."""
    kind = type(value)
    if kind is str:
        text: str = value  # type: ignore[assignment]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return f"timestamp {short_repr(value)} is not ISO 8601 (e.g. 2026-11-20T14:03:11Z)"
        if moment.tzinfo is None:
            return f"timestamp has no time zone: {short_repr(value)} (add 'Z' or '+00:00')"
        micros = (moment - EPOCH) // ONE_US
    elif kind is int or kind is float or (isinstance(value, _NUMBER_TYPES) and kind is not bool):
        seconds = float(value)  # type: ignore[arg-type]
        if not math.isfinite(seconds):
            return f"timestamp {short_repr(value)} is not a finite number"
        if abs(seconds) > 1e13:
            return rules.too_early(value) if seconds < 0 else rules.too_late(value)
        micros = value * 1_000_000 if kind is int else round(seconds * 1e6)  # type: ignore[operator]
    elif value is None:
        return "missing field 'timestamp'"
    else:
        return f"timestamp must be an ISO 8601 string or epoch seconds, got {short_repr(value)}"
    return check_timestamp_range(int(micros), value, rules)


def check_timestamp_range(micros: int, value: object, rules: RowRules) -> int | str:
    """``micros`` when it lies in the plausible range of ``rules``, else the reason."""
    if micros < rules.earliest_us:
        return rules.too_early(value)
    if micros > rules.latest_us:
        return rules.too_late(value)
    return micros


def _optional_string_problem(name: str, value: object) -> str | None:
    if type(value) is not str:
        return f"field {name!r} must be a string, got {short_repr(value)}"
    if _too_long(value):
        return f"field {name!r} is a string over {MAX_STRING_BYTES} bytes"
    return None


def _model_problem(model: object) -> str | None:
    if model is None:
        return "missing field 'model'"
    if type(model) is not str or not model:
        return f"field 'model' must be a non-empty string, got {short_repr(model)}"
    if len(model) > MAX_NAME_CHARS:
        return f"field 'model' is a name over {MAX_NAME_CHARS} characters: {short_repr(model)}"
    if _too_long(model):
        return f"field 'model' is a string over {MAX_STRING_BYTES} bytes"
    return None


def _name_problem(what: str, name: str) -> str | None:
    if len(name) > MAX_NAME_CHARS:
        return f"{what} {short_repr(name)} is over {MAX_NAME_CHARS} characters"
    if "\x00" in name:
        return f"{what} {short_repr(name)} holds a NUL character"
    return None


def _too_many(what: str, names: Mapping[str, Any], rules: RowRules) -> str | None:
    if len(names) <= rules.max_features:
        return None
    return (
        f"{len(names)} {what} in one row; at most {rules.max_features} are read "
        "([ingest] max_features)"
    )


def _features_problem(features: object) -> str | None:
    if type(features) is not dict and not isinstance(features, Mapping):
        return f"field 'features' must be an object, got {short_repr(features)}"
    for name, value in features.items():
        if type(name) is not str:
            return f"feature name {short_repr(name)} is not a string"
        problem = _name_problem("feature name", name)
        if problem:
            return problem
        kind = type(value)
        if kind is float or kind is int or kind is bool or value is None:
            continue
        if kind is str:
            if len(value) > SAFE_CHARS and _too_long(value):
                return f"feature {name!r} is a string over {MAX_STRING_BYTES} bytes"
            continue
        if isinstance(value, Mapping | list | tuple):
            what = "object" if isinstance(value, Mapping) else "list"
            return f"feature {name!r} is a nested {what}; features must be number|string|bool|null"
        if not isinstance(value, _NUMBER_TYPES):
            return f"feature {name!r} has unsupported value {short_repr(value)}"
    return None


def _flatten_outputs(outputs: object) -> Mapping[str, Any] | str:
    """Outputs with ranked lists replaced by ``name.top`` and ``name.length``, or a reason."""
    if type(outputs) is not dict and not isinstance(outputs, Mapping):
        return f"field 'outputs' must be an object, got {short_repr(outputs)}"
    flat: dict[str, Any] | None = None
    for name, value in outputs.items():
        problem = _name_problem("output name", name) if type(name) is str else None
        if problem:
            return problem
        kind = type(value)
        if kind is float or kind is int or value is None:
            continue
        if kind is list:
            for element in value:
                if type(element) not in _NUMBER_TYPES:
                    return (
                        f"output {name!r} is a list holding {short_repr(element)}; expected numbers"
                    )
            if flat is None:
                flat = dict(outputs)
            for suffix in (".top", ".length"):
                if name + suffix in outputs:
                    return f"output {name + suffix!r} collides with ranked list {name!r}"
            del flat[name]
            flat[name + ".top"] = float(value[0]) if value else None
            flat[name + ".length"] = len(value)
        elif kind is not bool and isinstance(value, _NUMBER_TYPES):
            continue
        else:
            return (
                f"output {name!r} must be a number or a ranked list of numbers, "
                f"got {short_repr(value)}"
            )
    return outputs if flat is None else flat


def _tags_problem(tags: object) -> str | None:
    if type(tags) is not dict and not isinstance(tags, Mapping):
        return f"field 'tags' must be an object, got {short_repr(tags)}"
    for name, value in tags.items():
        problem = _name_problem("tag name", name) if type(name) is str else None
        if problem:
            return problem
        if type(value) is str:
            if len(value) > SAFE_CHARS and _too_long(value):
                return f"tag {name!r} is a string over {MAX_STRING_BYTES} bytes"
        elif value is not None:
            return f"tag {name!r} must be a string, got {short_repr(value)}"
    return None


def _finite_number(record: Mapping[str, Any], name: str, *, minimum: float | None) -> float | str:
    value = record[name]
    if type(value) is bool and name == "label":
        return float(value)
    if type(value) is bool or not isinstance(value, _NUMBER_TYPES):
        return f"field {name!r} must be a number, got {short_repr(value)}"
    number = float(value)
    if not math.isfinite(number):
        return f"field {name!r} must be finite, got {short_repr(value)}"
    if minimum is not None and number < minimum:
        return f"field {name!r} must be >= {minimum:g}, got {short_repr(value)}"
    return number


def normalize_record(
    record: object,
    rules: RowRules,
    partition: Mapping[str, str] | None = None,
    *,
    short_json: bool = False,
) -> NormalRow | str:
    """The record as a :data:`NormalRow`, or the reason it must be quarantined.

    ``partition`` (from a Hive folder path) fills a missing ``model``/``version``; a record that
    names a different one than its folder is refused, since one of the two is wrong.

    ``short_json`` says the record was decoded from a JSON text of at most 16 kB without a
    ``\\u0000`` escape: its keys are strings, none of its strings can exceed the size limit and
    none holds a NUL, so the value checks reduce to one ``set(map(type, ...))`` per object,
    which runs in C.
    """
    if type(record) is not dict and not isinstance(record, Mapping):
        return f"record must be a JSON object, got {type(record).__name__}"
    model, version = record.get("model"), record.get("version")
    if partition:
        resolved = _apply_partition(model, version, partition)
        if isinstance(resolved, str):
            return resolved
        model, version = resolved
    if type(model) is not str or not model or len(model) > MAX_NAME_CHARS:
        problem = _model_problem(model)
        if problem:
            return problem
    micros = timestamp_us(record.get("timestamp"), rules)
    if type(micros) is str:
        return micros
    if version is None:
        version = ""
    elif type(version) is not str:
        return f"field 'version' must be a string, got {short_repr(version)}"
    elif len(version) > MAX_NAME_CHARS:
        return f"field 'version' is a name over {MAX_NAME_CHARS} characters: {short_repr(version)}"
    if "\x00" in model or "\x00" in version:  # type: ignore[operator]
        return (
            f"a name holds a NUL character: model {short_repr(model)}, "
            f"version {short_repr(version)}"
        )
    event = record.get("event")
    if event is None:
        event = "prediction"
    elif type(event) is not str or event not in _EVENTS:
        return f"event {short_repr(event)} is not one of {_EVENT_LIST}"
    request_id, host = record.get("request_id"), record.get("host")
    for name, text in (("request_id", request_id), ("host", host), ("version", version)):
        if text is not None and (type(text) is not str or len(text) > SAFE_CHARS):
            problem = _optional_string_problem(name, text)
            if problem:
                return problem
    latency = record.get("latency_ms")
    if latency is not None and not (type(latency) is float and 0.0 <= latency <= _FLOAT_MAX):
        latency = _finite_number(record, "latency_ms", minimum=0.0)
        if type(latency) is str:
            return latency
    label = record.get("label")
    if label is not None:
        label = _finite_number(record, "label", minimum=None)
        if type(label) is str:
            return label
    features = record.get("features")
    if features is not None:
        if isinstance(features, Mapping) and len(features) > rules.max_features:
            return _too_many("features", features, rules)  # type: ignore[return-value]
        fast = (
            short_json
            and type(features) is dict
            and set(map(type, features.values())) <= _JSON_SCALARS
            and max(map(len, features), default=0) <= MAX_NAME_CHARS
        )
        problem = None if fast else _features_problem(features)
        if problem:
            return problem
    outputs = record.get("outputs")
    if outputs is not None:
        if isinstance(outputs, Mapping) and len(outputs) > rules.max_features:
            return _too_many("outputs", outputs, rules)  # type: ignore[return-value]
        if not (
            short_json
            and type(outputs) is dict
            and set(map(type, outputs.values())) <= _JSON_NUMBERS
            and max(map(len, outputs), default=0) <= MAX_NAME_CHARS
        ):
            outputs = _flatten_outputs(outputs)
        if type(outputs) is str:
            return outputs
    tags = record.get("tags")
    if tags is not None:
        if isinstance(tags, Mapping) and len(tags) > rules.max_features:
            return _too_many("tags", tags, rules)  # type: ignore[return-value]
        fast = (
            short_json
            and type(tags) is dict
            and set(map(type, tags.values())) <= _JSON_TEXTS
            and max(map(len, tags), default=0) <= MAX_NAME_CHARS
        )
        problem = None if fast else _tags_problem(tags)
        if problem:
            return problem
    return (
        model,
        version,
        micros,
        request_id,
        host,
        event,
        latency,
        label,
        features,
        outputs,
        tags,
    )  # type: ignore[return-value]


def _apply_partition(
    model: object, version: object, partition: Mapping[str, str]
) -> tuple[object, object] | str:
    """Model and version after filling them from the partition, or why they disagree with it."""
    values = {"model": model, "version": version}
    for name in ("model", "version"):
        expected = partition.get(name)
        if expected is None:
            continue
        if values[name] is None:
            values[name] = expected
        elif values[name] != expected:
            return (
                f"{name} {short_repr(values[name])} disagrees with its partition {name}={expected}"
            )
    return values["model"], values["version"]


def record_problem(
    record: object,
    *,
    now: datetime | None,
    partition: Mapping[str, str] | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> str | None:
    """Why ``record`` would be quarantined, or ``None`` when it is a valid inference record."""
    result = normalize_record(record, limits.rules(now), partition)
    return result if isinstance(result, str) else None
