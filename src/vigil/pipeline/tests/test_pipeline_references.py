"""A fixed reference from the config: a change that lasts never becomes its own reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.core import Window
from vigil.ingest import records_to_chunk
from vigil.pipeline.series import build_series
from vigil.profile import ProfileSpec, profile_batch
from vigil.stats import Reference, StatsSpec
from vigil.store import MemoryStore

START = datetime(2026, 3, 2, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAYS = 18
SHIFT_DAY = 7


def _store() -> MemoryStore:
    rng = np.random.default_rng(4)
    records = []
    for hour in range(DAYS * 24):
        shift = 15.0 if hour >= SHIFT_DAY * 24 else 0.0
        for i in range(60):
            records.append(
                {
                    "model": "m",
                    "version": "v1",
                    "timestamp": (START + hour * HOUR + i * timedelta(seconds=59)).isoformat(),
                    "features": {"age": float(rng.normal(40 + shift, 10))},
                }
            )
    store = MemoryStore()
    chunk = records_to_chunk(records, source="test", now=None)
    store.profiles.put(profile_batch(chunk.batch, ProfileSpec()).values(), now=START)
    return store


def _last_day_ks(references: dict[str, Reference] | None) -> np.ndarray:
    spec = StatsSpec(drift_exclusion={"ks": 0.3})
    end = START + timedelta(days=DAYS)
    grid = [Window(start=end - (24 - h) * HOUR, end=end - (23 - h) * HOUR) for h in range(24)]
    found = build_series(
        _store(), grid=grid, lookback=timedelta(days=14), spec=spec, references=references
    )
    (ks,) = [s for s in found if s.key.family == "drift" and s.key.statistic == "ks"]
    return ks.values[-24:]


def test_a_persistent_shift_stays_drift_against_a_fixed_reference() -> None:
    baseline = Window(start=START, end=START + timedelta(days=SHIFT_DAY))
    fixed = _last_day_ks({"m": Reference.fixed(baseline)})
    assert np.all(fixed > 0.4)  # +1.5 sd, eleven days in
    trailing = _last_day_ks(None)
    assert not np.any(trailing > 0.3)  # the trailing week is all shifted: no opinion or none
