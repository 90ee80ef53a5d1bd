"""Quarantined rows become a per-window ``quarantine_rate`` series, from their own timestamp or,
failing that, from the Hive partition hour they were written to."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from vigil.core import Family, Window
from vigil.ingest import QuarantinedRow, quarantined_at
from vigil.pipeline import profile_paths
from vigil.pipeline.series import build_series
from vigil.profile import ProfileSpec
from vigil.stats import StatsSpec
from vigil.store import MemoryStore

NOW = datetime(2026, 11, 25, tzinfo=UTC)
START = datetime(2026, 11, 20, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _good(at: datetime) -> dict[str, object]:
    return {"model": "ranker", "version": "v1", "timestamp": at.isoformat(), "features": {"x": 1}}


def test_quarantined_at_reads_the_row_time_then_the_partition_hour() -> None:
    def row(raw: str, source: str = "logs.jsonl") -> QuarantinedRow:
        return QuarantinedRow(source=source, position=1, reason="r", raw=raw)

    bad_feature = json.dumps({**_good(START + 5 * HOUR), "features": {"x": {"nested": 1}}})
    assert quarantined_at(row(bad_feature)) == START + 5 * HOUR
    hive = "spool/model=ranker/version=v1/date=2026-11-21/hour=07/part-1.jsonl"
    assert quarantined_at(row("{not json", hive)) == datetime(2026, 11, 21, 7, tzinfo=UTC)
    assert quarantined_at(row('{"timestamp": "yesterday"}', hive)).hour == 7  # type: ignore[union-attr]
    assert quarantined_at(row("{not json")) is None
    assert quarantined_at(row("{}", "spool/date=2026-11-21/hour=31/x.jsonl")) is None
    assert quarantined_at(row("{}", "spool/date=2026-13-40/hour=01/x.jsonl")) is None


def test_runner_series_carry_the_quarantine_rate_per_window(tmp_path: Path) -> None:
    lines = [json.dumps(_good(START + timedelta(minutes=m))) for m in range(0, 180, 2)]
    # Hour 1: 30 good rows, then 10 with a nested feature (their time is readable) ...
    lines += [
        json.dumps({**_good(START + HOUR + timedelta(minutes=m)), "features": {"x": [1]}})
        for m in range(10)
    ]
    source = tmp_path / "logs.jsonl"
    source.write_text("\n".join(lines) + "\n")
    # ... and hour 2 gets 30 unreadable lines from a Hive partition of that hour.
    partition = tmp_path / "hive" / "model=ranker" / "date=2026-11-20" / "hour=12"
    partition.mkdir(parents=True)
    (partition / "part-0.jsonl").write_text("{truncated\n" * 30)
    store = MemoryStore()
    spec = ProfileSpec(window=HOUR)
    summary = profile_paths(
        [source, tmp_path / "hive"], store=store, spec=spec, now=NOW, chunk_rows=1000
    )
    assert summary.rows_quarantined == 40
    grid = [Window(start=START + i * HOUR, end=START + (i + 1) * HOUR) for i in range(3)]
    series = build_series(store, grid=grid, lookback=timedelta(0), spec=StatsSpec())
    (rate,) = [
        s
        for s in series
        if s.key.family == Family.AUXILIARY and s.key.statistic == "quarantine_rate"
    ]
    np.testing.assert_allclose(rate.values, [0.0, 10 / 40, 30 / 60])
