"""``vigil doctor``: find the stored objects that cannot be read, and move them out of the way.

One corrupt profile blob used to fail every cycle of every model. Cycles now report such a
model as failing and go on with the others, but the model stays blind until the object is
dealt with. :func:`examine_store` decodes every stored profile (and checks it is the profile
its row says: the same key and row count) and reads every other aggregate model by model;
:func:`isolate` writes each corrupt profile's bytes to a folder, with a readable
``index.json`` saying what each file was and why it was moved, then removes it from the store,
so the next cycles rebuild that model's series from the profiles that remain.

Aggregates other than profiles are stored as plain columns, not blobs; one that cannot be read
is reported with the error, for a person to look at, and never removed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from vigil.core import ProfileKey, name_hash
from vigil.store import Store
from vigil.store.records import decode_profile

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class CorruptProfile:
    """A stored profile that does not decode into the profile its row names."""

    key: ProfileKey
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class UnreadableAggregate:
    """An aggregate (of one model, or of the whole store) that could not be read."""

    aggregate: str
    model: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Examination:
    """What :func:`examine_store` found."""

    profiles_checked: int
    corrupt: tuple[CorruptProfile, ...]
    unreadable: tuple[UnreadableAggregate, ...]

    @property
    def healthy(self) -> bool:
        return not self.corrupt and not self.unreadable


def examine_store(store: Store) -> Examination:
    """Decode every stored profile and read every other aggregate; nothing is changed."""
    checked = 0
    corrupt: list[CorruptProfile] = []
    unreadable: list[UnreadableAggregate] = []
    for model in store.profiles.models():
        for record in store.profiles.records(model=model):
            checked += 1
            try:
                decode_profile(record)
            except Exception as err:  # whatever the decoder trips over marks the blob corrupt
                corrupt.append(CorruptProfile(key=record.key, reason=str(err)))
        _try_read(unreadable, "series", model, partial(store.series.get, model=model))
        _try_read(unreadable, "anomalies", model, partial(store.anomalies.get, model=model))
        _try_read(unreadable, "incidents", model, partial(store.incidents.get, model=model))
    _try_read(unreadable, "silences", "", store.silences.get)
    _try_read(unreadable, "feedback", "", store.feedback.get)
    _try_read(unreadable, "quarantine", "", store.quarantine.counts)
    logger.info(
        "doctor profiles=%d corrupt=%d unreadable=%d", checked, len(corrupt), len(unreadable)
    )
    return Examination(
        profiles_checked=checked, corrupt=tuple(corrupt), unreadable=tuple(unreadable)
    )


def isolate(store: Store, corrupt: tuple[CorruptProfile, ...], *, out: Path, now: datetime) -> Path:
    """Move ``corrupt`` profiles out of the store into ``out``; returns its ``index.json``.

    Each profile's bytes go to ``profile-<hash>.bin`` before it is removed, and the index
    (appended to when ``out`` already has one) names its model, version, window and reason,
    so nothing is lost and a person can look at, or restore, what was moved.
    """
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.exists() else []
    by_key = {item.key: item for item in corrupt}
    moved: list[ProfileKey] = []
    for model in sorted({key.model for key in by_key}):
        for record in store.profiles.records(model=model):
            found = by_key.get(record.key)
            if found is None:
                continue
            name = f"profile-{name_hash(repr(record.key))}.bin"
            (out / name).write_bytes(record.blob)
            index.append(
                {
                    "file": name,
                    "kind": "profile",
                    "model": record.key.model,
                    "version": record.key.version,
                    "window_start": record.key.window.start.isoformat(),
                    "window_end": record.key.window.end.isoformat(),
                    "reason": found.reason,
                    "isolated_at": now.isoformat(),
                }
            )
            moved.append(record.key)
    index_path.write_text(json.dumps(index, indent=2, ensure_ascii=False), encoding="utf-8")
    removed = store.profiles.delete(moved)
    logger.info("doctor isolated=%d into=%s", removed, out)
    return index_path


def _try_read(
    unreadable: list[UnreadableAggregate], aggregate: str, model: str, read: Callable[[], object]
) -> None:
    try:
        read()
    except Exception as err:  # the point is to find what cannot be read, whatever the error
        unreadable.append(UnreadableAggregate(aggregate=aggregate, model=model, error=str(err)))
