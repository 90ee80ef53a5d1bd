"""``profile_paths`` and ``rollup_store`` on a MemoryStore: counts, replacement, rollup sources."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vigil.core import ConfigError
from vigil.pipeline import ProfilingProgress, profile_paths, rollup_store
from vigil.profile import Profile, ProfileSpec
from vigil.store import MemoryStore
from vigil.store.memory.profiles import MemoryProfiles

NOW = datetime(2026, 11, 25, tzinfo=UTC)
START = datetime(2026, 11, 20, 10, tzinfo=UTC)
HOURLY = ProfileSpec(window=timedelta(hours=1))


def _write(path: Path, *, model: str, minutes: range, bad: int = 0) -> Path:
    lines = [
        json.dumps(
            {
                "model": model,
                "version": "v1",
                "timestamp": (START + timedelta(minutes=m)).isoformat(),
                "features": {"x": m},
            }
        )
        for m in minutes
    ]
    lines += ['{"model": "' + model + '", "timestamp": "yesterday"}'] * bad
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(store: MemoryStore, duration: timedelta = timedelta(hours=1)) -> dict[str, int]:
    rows: dict[str, int] = {}
    for profile in store.profiles.get(duration=duration):
        rows[profile.key.model] = rows.get(profile.key.model, 0) + profile.rows
    return rows


def test_counts_add_up_per_model_and_progress_is_reported(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", model="ranker", minutes=range(0, 150, 5), bad=2)
    b = _write(tmp_path / "b.jsonl", model="fraud", minutes=range(0, 60, 2))
    store = MemoryStore()
    steps: list[ProfilingProgress] = []

    summary = profile_paths(
        [a, b], store=store, spec=HOURLY, now=NOW, chunk_rows=7, on_progress=steps.append
    )

    by_model = {counts.model: counts for counts in summary.models}
    assert (by_model["ranker"].rows_profiled, by_model["ranker"].rows_quarantined) == (30, 2)
    assert (by_model["fraud"].rows_profiled, by_model["fraud"].rows_quarantined) == (30, 0)
    assert summary.rows_read == 62 and summary.profiles_written == 3 + 1
    assert _rows(store) == {"ranker": 30, "fraud": 30}
    assert len(store.quarantine.get()) == 2
    assert steps[-1].rows_read == 62 and steps[-1].sources_total == 2
    assert [s.rows_read for s in steps] == sorted(s.rows_read for s in steps)


def test_a_window_is_replaced_by_the_latest_run_not_added_to(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", model="ranker", minutes=range(0, 60, 5), bad=1)
    b = _write(tmp_path / "b.jsonl", model="ranker", minutes=range(1, 60, 10))
    store = MemoryStore()
    for _ in range(2):
        profile_paths([a, b], store=store, spec=HOURLY, now=NOW)
        assert _rows(store) == {"ranker": 12 + 6}
        assert len(store.quarantine.get()) == 1
    profile_paths([b], store=store, spec=HOURLY, now=NOW)  # the documented semantics
    assert _rows(store) == {"ranker": 6}


def test_rollup_uses_one_source_length_so_rows_count_once(tmp_path: Path) -> None:
    logs = _write(tmp_path / "a.jsonl", model="ranker", minutes=range(0, 24 * 60, 30))
    store = MemoryStore()
    profile_paths([logs], store=store, spec=HOURLY, now=NOW)
    profile_paths([logs], store=store, spec=ProfileSpec(window=timedelta(minutes=5)), now=NOW)

    summary = rollup_store(store, to=timedelta(days=1), now=NOW)
    assert summary.profiles_read == 24  # the hourly profiles, not the 5-minute ones as well
    assert _rows(store, timedelta(days=1)) == {"ranker": 48}
    rollup_store(store, to=timedelta(days=1), now=NOW)
    assert _rows(store, timedelta(days=1)) == {"ranker": 48}


def test_no_paths_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no input paths"):
        profile_paths([], store=MemoryStore(), spec=HOURLY, now=NOW)


def test_rollup_picks_the_source_length_per_day_and_since_limits_it(tmp_path: Path) -> None:
    day_one = _write(tmp_path / "one.jsonl", model="ranker", minutes=range(0, 600, 10))
    day_two = _write(tmp_path / "two.jsonl", model="ranker", minutes=range(1440, 1500, 3))
    store = MemoryStore()
    profile_paths([day_one], store=store, spec=HOURLY, now=NOW)
    five_minutes = ProfileSpec(window=timedelta(minutes=5))
    profile_paths([day_one, day_two], store=store, spec=five_minutes, now=NOW)

    day = timedelta(days=1)
    later = rollup_store(store, to=day, now=NOW, since=START + day)
    assert later.profiles_read == 12  # day two's 5-minute profiles only
    assert _rows(store, day) == {"ranker": 20}
    everything = rollup_store(store, to=day, now=NOW)
    assert everything.profiles_read == 10 + 12  # day one from its 10 hours, day two as before
    days = store.profiles.get(duration=day)
    assert sorted(p.rows for p in days) == [20, 60]


def test_a_folder_rerun_replaces_its_files_quarantine(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    _write(folder / "a.jsonl", model="ranker", minutes=range(0, 30, 5), bad=2)
    _write(folder / "b.jsonl", model="ranker", minutes=range(30, 60, 5), bad=1)
    store = MemoryStore()
    for _ in range(2):
        summary = profile_paths([folder], store=store, spec=HOURLY, now=NOW)
        assert (summary.rows_profiled, summary.rows_quarantined) == (12, 3)
        assert len(store.quarantine.get()) == 3
        assert _rows(store) == {"ranker": 12}


def test_a_source_named_twice_or_inside_a_named_folder_is_read_once(tmp_path: Path) -> None:
    """``vigil profile f f`` used to count every row of ``f`` twice."""
    folder = tmp_path / "logs"
    folder.mkdir()
    a = _write(folder / "a.jsonl", model="ranker", minutes=range(0, 60, 2), bad=1)
    cases: list[list[str | Path]] = [
        [a, a], [a, str(a)], [folder, a], [a, folder], [folder, tmp_path / "logs"]
    ]  # fmt: skip
    for paths in cases:
        store = MemoryStore()
        summary = profile_paths(paths, store=store, spec=HOURLY, now=NOW)
        assert (summary.rows_read, summary.rows_quarantined) == (31, 1), paths
        assert _rows(store) == {"ranker": 30} and len(store.quarantine.get()) == 1


class _CountingProfiles(MemoryProfiles):
    """Memory profiles that remember how many profiles each write carried."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def put(self, profiles: Iterable[Profile], *, now: datetime) -> int:
        batch = list(profiles)
        self.writes.append(len(batch))
        return super().put(batch, now=now)


def test_windows_are_written_as_they_close_and_a_reopened_one_is_merged(tmp_path: Path) -> None:
    # a.jsonl spans hours 10-15; b.jsonl adds rows to hour 10 after it has been written.
    a = _write(tmp_path / "a.jsonl", model="ranker", minutes=range(0, 360, 3))
    b = _write(tmp_path / "b.jsonl", model="ranker", minutes=range(1, 60, 10))
    whole = MemoryStore()
    profile_paths([a, b], store=whole, spec=HOURLY, now=NOW, chunk_rows=20)
    store = MemoryStore()
    store.profiles = counting = _CountingProfiles()
    summary = profile_paths([a, b], store=store, spec=HOURLY, now=NOW, chunk_rows=20, max_pending=2)
    assert max(counting.writes) <= 2 + 1 and len(counting.writes) > 2  # never more than the bound
    assert summary.profiles_written == 6
    held = {p.key: p for p in whole.profiles.get()}
    for profile in store.profiles.get():
        expected = held[profile.key]
        assert profile.rows == expected.rows
        assert profile.features["x"].moments.count == expected.features["x"].moments.count
        assert profile.features["x"].distinct == expected.features["x"].distinct
    assert _rows(store) == {"ranker": 120 + 6}


def test_max_pending_must_be_positive(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", model="ranker", minutes=range(0, 10))
    with pytest.raises(ConfigError, match="max_pending"):
        profile_paths([a], store=MemoryStore(), spec=HOURLY, now=NOW, max_pending=0)


def test_segment_rows_add_up_to_the_profiled_rows_and_a_rerun_replaces_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.jsonl"
    lines = [
        json.dumps(
            {
                "model": "ranker",
                "timestamp": (START + timedelta(minutes=m)).isoformat(),
                "features": {"x": m},
                **({"tags": {"region": ("eu", "us", "ap")[m % 3]}} if m % 4 else {}),
            }
        )
        for m in range(120)
    ]
    path.write_text("\n".join(lines) + '\n{"model": "ranker", "timestamp": "yesterday"}\n')
    spec = ProfileSpec(segments=("region",), max_segment_values=2)
    store = MemoryStore()
    for _ in range(2):  # the second run replaces the first: nothing counts twice
        summary = profile_paths([path], store=store, spec=spec, now=NOW)
        (counts,) = summary.models
        assert (counts.rows_read, counts.rows_profiled, counts.rows_quarantined) == (121, 120, 1)
        profiles = store.profiles.get(duration=timedelta(hours=1))
        segments: dict[str, int] = {}
        for profile in profiles:
            for name, segment in profile.segments.items():
                segments[name] = segments.get(name, 0) + segment.rows
        assert sum(segments.values()) == sum(p.rows for p in profiles) == 120
        # 30 rows lack the tag; of eu/us/ap (30 each), the cap keeps two, ties by name.
        assert segments == {
            "region=(none)": 30,
            "region=ap": 30,
            "region=eu": 30,
            "region=(other)": 30,
        }
