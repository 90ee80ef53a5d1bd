"""Saving the real-time monitors in the store, so a restarted server resumes watching.

The monitors learn for days (a rate model over 48 hours of traffic, latency and score
references, alarm thresholds from weeks of scores); dropping that on every deploy would leave
every model watched by cold monitors, or not at all, for as long. The hub's state is pickled
(the monitors are plain Python objects) and saved as one checkpoint.

Unpickling runs code named in the bytes, so a checkpoint is **signed**: an HMAC-SHA256 of the
payload under a key only the server holds (its write token). A checkpoint that does not verify
(another key, tampered, truncated, another format) is refused with a warning and the monitors
start cold; nothing is unpickled before the signature checks out. The format version is part of
the signed payload, so an incompatible Vigil ignores old checkpoints instead of misreading them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
from dataclasses import dataclass
from datetime import datetime

from vigil.core import ConfigError
from vigil.pipeline.realtime import HubState, MonitorHub
from vigil.store import CheckpointStore

logger = logging.getLogger(__name__)

CHECKPOINT = "realtime-monitors"
_FORMAT = b"vigil-realtime-1\n"
_DIGEST = hashlib.sha256().digest_size


@dataclass(frozen=True, slots=True, kw_only=True)
class Restored:
    """What :func:`restore_hub` found: models restored, and when the checkpoint was saved."""

    models: int
    saved_at: datetime | None
    refused: str | None = None
    """Why a checkpoint that exists was not used (``None`` when used or absent)."""


def save_hub(hub: MonitorHub, checkpoints: CheckpointStore, *, key: bytes, now: datetime) -> int:
    """Checkpoint ``hub`` into ``checkpoints`` (a store's); returns the size in bytes."""
    payload = _FORMAT + pickle.dumps(hub.export_state(), protocol=pickle.HIGHEST_PROTOCOL)
    blob = _sign(payload, key) + payload
    checkpoints.put(CHECKPOINT, blob, now=now)
    return len(blob)


def restore_hub(hub: MonitorHub, checkpoints: CheckpointStore, *, key: bytes) -> Restored:
    """Resume ``hub`` from the store's checkpoint, if there is one that verifies."""
    found = checkpoints.get(CHECKPOINT)
    if found is None:
        return Restored(models=0, saved_at=None)
    blob, saved_at = found
    signature, payload = blob[:_DIGEST], blob[_DIGEST:]
    refused = None
    if not hmac.compare_digest(signature, _sign(payload, key)):
        refused = "its signature does not verify (another key, or the bytes were changed)"
    elif not payload.startswith(_FORMAT):
        refused = "it was written by an incompatible version"
    if refused is not None:
        logger.warning("realtime: checkpoint of %s not restored: %s", saved_at, refused)
        return Restored(models=0, saved_at=saved_at, refused=refused)
    # Safe to unpickle only because the signature above proves we wrote these bytes.
    state = pickle.loads(payload[len(_FORMAT) :])
    if not isinstance(state, HubState):
        raise ConfigError("a verified realtime checkpoint holds no hub state")
    return Restored(models=hub.import_state(state), saved_at=saved_at)


def _sign(payload: bytes, key: bytes) -> bytes:
    if not key:
        raise ConfigError("a realtime checkpoint needs a non-empty signing key")
    return hmac.new(key, payload, hashlib.sha256).digest()
