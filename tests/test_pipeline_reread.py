"""A cycle re-reads only what arrived since the last one (less the late-data margin), skips the
rows of earlier windows without replacing their profiles, and ends where one full read ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.core import Window
from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline import profile_paths
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.profile import ProfileSpec
from vigil.store import MemoryStore

NOW = datetime(2026, 11, 25, tzinfo=UTC)
DAY1 = datetime(2026, 11, 19, tzinfo=UTC)
SPEC = ProfileSpec(window=timedelta(hours=1))


def _write(folder: Path, stamps: list[datetime], *, broken: int = 0) -> None:
    folder.mkdir(parents=True)
    lines = [
        json.dumps({"model": "m", "timestamp": t.isoformat(), "features": {"x": i}})
        for i, t in enumerate(stamps)
    ]
    (folder / "part-0.jsonl").write_text("\n".join(lines + ["{broken"] * broken) + "\n")


def _rows_by_window(store: MemoryStore) -> dict[Window, int]:
    return {p.key.window: p.rows for p in store.profiles.get(duration=SPEC.window)}


def test_older_date_folders_are_not_read_and_earlier_windows_are_left_alone(
    tmp_path: Path,
) -> None:
    root = tmp_path / "spool"
    late_evening = DAY1 + timedelta(hours=23, minutes=30)
    _write(root / "model=m" / "date=2026-11-19", [DAY1 + timedelta(hours=23)] * 5, broken=2)
    _write(
        root / "model=m" / "date=2026-11-20",
        [late_evening] * 3 + [DAY1 + timedelta(days=1, hours=1)] * 4,
    )
    store = MemoryStore()
    full = profile_paths([root], store=store, spec=SPEC, now=NOW)
    assert (full.rows_read, full.rows_quarantined, full.rows_skipped) == (14, 2, 0)
    before = _rows_by_window(store)
    assert before[Window.containing(late_evening, SPEC.window)] == 8  # both folders' rows

    again = profile_paths([root], store=store, spec=SPEC, now=NOW, since=DAY1 + timedelta(days=1))
    # Only date=2026-11-20 is opened: its 3 rows of the evening before are skipped, not profiled.
    assert (again.rows_read, again.rows_profiled, again.rows_skipped) == (7, 4, 3)
    assert again.rows_quarantined == 0
    assert _rows_by_window(store) == before  # the 23:00 window keeps its 8 rows
    assert len(store.quarantine.get()) == 2  # the unread folder's quarantine is kept


def test_two_cycles_end_where_one_full_cycle_ends_and_the_second_reads_less(
    tmp_path: Path,
) -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    platform = simulate_platform(tmp_path / "logs", start=start, days=9, models=1, rate_scale=0.1)
    config = parse_config({})
    stepwise, whole = MemoryStore(), MemoryStore()
    sources = [str(platform.root)]
    first = run_cycle(
        config=config, store=stepwise, now=start + timedelta(days=8), channels={}, sources=sources
    )
    second = run_cycle(
        config=config, store=stepwise, now=start + timedelta(days=9), channels={}, sources=sources
    )
    run_cycle(
        config=config, store=whole, now=start + timedelta(days=9), channels={}, sources=sources
    )
    assert first.profiling is not None and second.profiling is not None
    assert first.profiling.rows_read == platform.rows
    # since = end of the last window done (day 8) - 1 day: folders of days 7 and 8 only.
    assert second.profiling.rows_read < platform.rows * 3 / 9
    assert second.profiling.rows_skipped == 0  # the simulation files rows by their own day
    stored = sorted((p.key, p.to_bytes()) for p in stepwise.profiles.get())
    assert stored == sorted((p.key, p.to_bytes()) for p in whole.profiles.get())
