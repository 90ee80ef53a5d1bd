"""``vigil bench calm``: the calm logs are what they say, and the bench lists every incident the
cycle raised (on calm logs all are false)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from vigil.bench.calm import calm_json, run_calm_check
from vigil.core import ConfigError
from vigil.lab.simulation.calm_logs import simulate_calm_logs
from vigil.store import SqlStore

START = datetime(2026, 5, 4, tzinfo=UTC)


def test_calm_logs_are_seeded_and_their_shapes_move_with_the_seed(tmp_path: Path) -> None:
    one = simulate_calm_logs(tmp_path / "a", start=START, days=2, seed=3, models=2)
    again = simulate_calm_logs(tmp_path / "b", start=START, days=2, seed=3, models=2)
    other = simulate_calm_logs(tmp_path / "c", start=START, days=2, seed=4, models=2)
    assert one.features == again.features and one.rows == again.rows
    assert one.features != other.features
    files = sorted((tmp_path / "a").rglob("*.parquet"))
    assert len(files) == 4  # 2 models x 2 days
    assert sum(pq.read_metadata(f).num_rows for f in files) == one.rows
    table = pq.read_table(files[0])
    assert set(table.column("event").to_pylist()) == {"prediction"}
    stamps = table.column("timestamp").to_numpy()
    assert np.all(np.diff(stamps.astype("int64")) >= 0)
    assert len([c for c in table.column_names if c.startswith("features.")]) == 8
    with pytest.raises(ConfigError):
        simulate_calm_logs(tmp_path / "d", start=START, days=0, seed=3)


def test_the_bench_lists_every_incident_the_cycle_raised(tmp_path: Path) -> None:
    check = run_calm_check(tmp_path, seed=5, days=8, models=1)
    result = calm_json(check)
    store = SqlStore(f"sqlite:///{tmp_path / 'vigil.db'}", create=False)
    try:
        stored = store.incidents.get()
    finally:
        store.close()
    assert result["false_incidents"] == len(stored) == len(result["incidents"])  # type: ignore[arg-type]
    assert check.watched_model_weeks == pytest.approx(1 / 7)  # 8 days, 7 of them warm-up
    assert result["rows"] == check.logs.rows > 0
