"""``vigil run``'s cycles: a fresh store per cycle, timed into the pipeline's metrics, failures
counted and raised; the next cycle's start a little after the next boundary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from vigil.alert import Outbox
from vigil.core import VigilError
from vigil.pipeline.config import parse_config
from vigil.pipeline.cycles import CycleRunner, seconds_until_next
from vigil.pipeline.metrics import PipelineMetrics

NOW = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)


def _logs(folder: Path) -> Path:
    folder.mkdir()
    start = NOW - timedelta(hours=3)
    lines = [
        {
            "model": "m",
            "timestamp": (start + timedelta(minutes=m)).isoformat(),
            "features": {"x": m},
        }
        for m in range(0, 180, 3)
    ]
    (folder / "logs.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def _runner(url: str, sources: list[str], tmp_path: Path) -> tuple[CycleRunner, CollectorRegistry]:
    config = parse_config({}).with_overrides(store={"url": url}, ingest={"sources": sources})
    registry = CollectorRegistry()
    runner = CycleRunner(
        config,
        outbox=Outbox({}),
        reports_out=tmp_path / "reports",
        clock=lambda: NOW,
        metrics=PipelineMetrics(registry),
    )
    return runner, registry


def _cycles(registry: CollectorRegistry, outcome: str) -> float | None:
    return registry.get_sample_value("vigil_pipeline_cycles_total", {"outcome": outcome})


def test_a_cycle_profiles_the_sources_into_its_store_and_counts_itself(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/vigil.db"
    runner, registry = _runner(url, [str(_logs(tmp_path / "logs"))], tmp_path)

    summary = runner.cycle(until=None)

    assert [w.end for w in summary.windows][-1] == datetime(2026, 11, 20, 6, tzinfo=UTC)
    assert summary.profiling is not None and summary.profiling.rows_profiled == 60
    assert _cycles(registry, "succeeded") == 1 and _cycles(registry, "failed") == 0
    assert registry.get_sample_value("vigil_pipeline_windows_behind") == 0
    assert registry.get_sample_value("vigil_pipeline_last_success_timestamp_seconds") == (
        NOW.timestamp()
    )
    assert runner.finish_sends(wait_s=1.0) == 0
    again = runner.cycle(until=None)  # the same windows: nothing due, nothing counted twice
    assert again.windows == () and _cycles(registry, "succeeded") == 2


def test_a_cycle_that_cannot_open_its_store_is_counted_and_raised(tmp_path: Path) -> None:
    runner, registry = _runner(f"sqlite:///{tmp_path}/no-such-folder/vigil.db", [], tmp_path)

    with pytest.raises(VigilError):
        runner.cycle(until=None)

    assert _cycles(registry, "failed") == 1 and _cycles(registry, "succeeded") == 0
    assert registry.get_sample_value("vigil_pipeline_errors_total") == 1


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 11, 20, 7, 0, tzinfo=UTC), 3605.0),  # on the boundary: the next one
        (datetime(2026, 11, 20, 6, 59, 59, tzinfo=UTC), 6.0),  # a second before it
        (datetime(2026, 11, 20, 7, 0, 1, tzinfo=UTC), 3604.0),  # a second after it
    ],
)
def test_the_next_cycle_starts_a_little_after_the_next_boundary(
    now: datetime, expected: float
) -> None:
    assert seconds_until_next(timedelta(hours=1), now=now) == pytest.approx(expected)
