"""The runner works in data time: a replay stops at its data, an empty window stores almost
nothing, and ``[detect] history`` shorter than the drift reference still gets drift."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from vigil.lab.simulation.logs import simulate_platform
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import run_cycle
from vigil.store import MemoryStore

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 9
DATA_END = START + timedelta(days=DAYS)
LATER = datetime(2027, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("logs")
    simulate_platform(root, start=START, days=DAYS, models=1, rate_scale=0.2, seed=5)
    return root


@pytest.mark.slow
def test_a_replay_stops_at_the_end_of_its_data_whatever_the_clock(logs: Path) -> None:
    store = MemoryStore()
    summary = run_cycle(
        config=parse_config({}), store=store, now=LATER, channels={}, sources=[str(logs)]
    )
    assert len(summary.windows) == DAYS * 24
    assert summary.windows[-1].end == DATA_END
    # Nothing opened at the end of the data: the silence after a replay is not a traffic stop.
    assert not [i for i in summary.incidents if i.kind.value == "traffic"]


@pytest.mark.slow
def test_a_replay_stops_at_its_last_request_not_at_labels_that_came_later(
    logs: Path, tmp_path: Path
) -> None:
    """Labels arrive days after their predictions: a folder whose last lines are labels ends
    at its last request, with no "traffic stopped" at the end."""
    (model,) = [
        p.name.removeprefix("model=") for p in logs.iterdir() if p.name.startswith("model=")
    ]
    late = tmp_path / "labels.jsonl"
    late.write_text(
        "".join(
            json.dumps(
                {
                    "timestamp": (DATA_END + timedelta(hours=h, minutes=7)).isoformat(),
                    "model": model,
                    "event": "label",
                    "request_id": f"r{h}",
                    "label": 1,
                }
            )
            + "\n"
            for h in range(0, 48, 3)
        )
    )
    store = MemoryStore()
    summary = run_cycle(
        config=parse_config({}), store=store, now=LATER, channels={}, sources=[str(logs), str(late)]
    )
    assert store.profiles.last_window_end(duration=timedelta(hours=1)) > DATA_END + timedelta(
        days=1
    )
    assert summary.windows[-1].end == DATA_END
    assert not [i for i in summary.incidents if i.kind.value == "traffic"]


@pytest.mark.slow
def test_windows_without_data_store_only_their_zero_counts(logs: Path) -> None:
    store = MemoryStore()
    until = DATA_END + timedelta(days=3)
    summary = run_cycle(
        config=parse_config({}),
        store=store,
        now=LATER,
        until=until,
        channels={},
        sources=[str(logs)],
    )
    assert summary.windows[-1].end == until
    after = np.datetime64(DATA_END.replace(tzinfo=None), "s")
    empty = [
        (s.key.statistic, float(v))
        for s in store.series.get(model="ranker")
        for t, v in zip(s.timestamps, s.values, strict=True)
        if t >= after
    ]
    assert {statistic for statistic, _ in empty} == {"rows", "requests"}
    assert {value for _, value in empty} == {0.0}
    assert len(empty) == 4 * 3 * 24  # rows and requests, of v1 and of the whole model
    # And the silence is a traffic stop of the model.
    assert any(i.kind.value == "traffic" and i.opened_at >= DATA_END for i in summary.incidents)


@pytest.mark.slow
def test_a_short_history_still_gets_drift(logs: Path) -> None:
    store = MemoryStore()
    run_cycle(
        config=parse_config({"detect": {"history": "3d"}}),
        store=store,
        now=LATER,
        channels={},
        sources=[str(logs)],
    )
    drift = [s for s in store.series.get(model="ranker", family="drift") if s.key.statistic == "ks"]
    assert drift and all(np.isfinite(s.values).sum() >= 24 for s in drift)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("share", "now", "last_end"),
    [
        (0.1, LATER, DATA_END),  # a replay's ragged edge: left out
        (1.0, LATER, DATA_END + timedelta(hours=1)),  # a full hour: replayed
        (0.1, DATA_END + timedelta(hours=2, minutes=30), DATA_END + timedelta(hours=1)),
    ],
)
def test_a_replay_ends_at_its_last_full_window(
    logs: Path, tmp_path: Path, share: float, now: datetime, last_end: datetime
) -> None:
    """A host whose clock runs fast puts a few requests into the hour after the others' last:
    a replay leaves that hour out (it read as "traffic stopped" for the other models). A live
    run (the clock within two hours of the data) processes it: there, a drop in the last hour
    is news. (The exact bounds are tested in vigil/pipeline/tests/test_pipeline_schedule.py.)"""
    day_before = [
        pq.read_table(path)
        for path in logs.rglob("*.parquet")
        if f"date={(DATA_END - timedelta(days=1)).date()}" in str(path)
    ]
    rows = pa.concat_tables(day_before)
    hour = DATA_END - timedelta(days=1)
    in_hour = pc.and_(
        pc.greater_equal(rows["timestamp"], pa.scalar(hour, rows["timestamp"].type)),
        pc.less(rows["timestamp"], pa.scalar(hour + timedelta(hours=1), rows["timestamp"].type)),
    )
    same_hour = rows.filter(in_hour)
    assert set(same_hour["event"].to_pylist()) == {"prediction"}  # one request a row
    kept = round(share * same_hour.num_rows)
    shifted = pc.add(same_hour["timestamp"], pa.scalar(timedelta(days=1)))
    edge = same_hour.set_column(
        same_hour.schema.get_field_index("timestamp"), "timestamp", shifted
    ).slice(0, kept)
    folder = tmp_path / "edge" / "model=ranker" / "version=v1"
    folder.mkdir(parents=True)
    pq.write_table(edge, folder / "part-0.parquet")
    store = MemoryStore()
    summary = run_cycle(
        config=parse_config({}),
        store=store,
        now=now,
        channels={},
        sources=[str(logs), str(tmp_path / "edge")],
    )
    assert summary.windows[-1].end == last_end
    if last_end == DATA_END:
        assert not [i for i in summary.incidents if i.kind.value == "traffic"]


@pytest.mark.slow
def test_a_run_stores_each_points_standard_error_beside_its_sample_size(logs: Path) -> None:
    store = MemoryStore()
    run_cycle(
        config=parse_config({}),
        store=store,
        now=LATER,
        until=START + timedelta(days=2),
        channels={},
        sources=[str(logs)],
    )
    stored = {s.key: s for s in store.series.get(model="ranker")}
    means = [s for k, s in stored.items() if k.family == "feature" and k.statistic == "mean"]
    assert means
    for one in means:
        assert one.stderr is not None and one.support is not None
        known = ~np.isnan(one.values) & (one.support >= 2)
        assert known.any() and np.all(one.stderr[known] > 0)
        # s/sqrt(n): the window's own std over its own rows.
        std = stored[replace(one.key, statistic="std")]
        np.testing.assert_allclose(
            one.stderr[known], std.values[known] / np.sqrt(one.support[known]), rtol=1e-9
        )
    rows = [s for k, s in stored.items() if k.statistic == "rows"]
    assert rows and all(s.stderr is None for s in rows)
