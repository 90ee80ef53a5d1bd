"""A fixed reference from the config: a change that lasts never becomes its own reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from vigil.core import ConfigError, Window
from vigil.ingest import records_to_chunk
from vigil.pipeline.config import parse_config
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


def _reference_file(folder: Path, mean: float) -> Path:
    """A profile of 2,000 training rows of ``age`` ~ N(mean, 10), as vigil.reference_profile
    writes it."""
    rng = np.random.default_rng(9)
    records = [
        {
            "model": "m",
            "version": "train",
            "timestamp": START.isoformat(),
            "features": {"age": float(rng.normal(mean, 10))},
        }
        for _ in range(2000)
    ]
    chunk = records_to_chunk(records, source="train", now=None)
    (profile,) = profile_batch(chunk.batch, ProfileSpec(window=timedelta(days=1))).values()
    path = folder / "m.vigilprofile"
    path.write_bytes(profile.to_bytes())
    return path


def _config_reference(path: Path) -> Reference:
    config = parse_config({"references": [{"models": "m", "profile": str(path)}]})
    reference = config.resolved.reference_for("m")
    assert reference is not None and config.resolved.reference_for("other") is None
    return reference


def test_a_reference_profile_file_is_the_fixed_reference_of_its_models(tmp_path: Path) -> None:
    """The logs are N(40, 10) for seven days, then N(55, 10): against a training profile of
    N(55, 10) the last day is no drift; against one of N(40, 10) it is, as with the dates."""
    shifted = _config_reference(_reference_file(tmp_path, mean=55.0))
    assert not np.any(_last_day_ks({"m": shifted}) > 0.3)
    before = _config_reference(_reference_file(tmp_path, mean=40.0))
    assert np.all(_last_day_ks({"m": before}) > 0.4)
    assert str(tmp_path / "m.vigilprofile") in str(before)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"profile": "x.vigilprofile", "start": "2026-03-02"}, "not both"),
        ({"start": "2026-03-02"}, "give start and end"),
        ({"profile": "missing.vigilprofile"}, "cannot read"),
        ({"profile": "not-a-profile.txt"}, "is not a Vigil profile"),
    ],
)
def test_a_reference_is_either_dates_or_a_readable_profile(
    section: dict[str, str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-a-profile.txt").write_text("hello")
    with pytest.raises(ConfigError, match=message):
        parse_config({"references": [{"models": "m", **section}]})
