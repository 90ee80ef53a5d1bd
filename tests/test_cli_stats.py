"""``vigil stats``: profiles in a real SQLite store -> latest values per family, drift coloured."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.cli.stats import drift_style, family_tables, latest_points
from vigil.core import SeriesKey
from vigil.ingest import records_to_chunk
from vigil.profile import ProfileSpec, profile_batch
from vigil.stats import Series
from vigil.store import SqlStore

START = datetime(2026, 11, 20, tzinfo=UTC)


def _records(hour: int, n: int, shift: float) -> list[dict[str, Any]]:
    rng = np.random.default_rng(hour)
    return [
        {
            "model": "ranker",
            "version": "v1",
            "timestamp": (START + timedelta(hours=hour, seconds=3600 * i / n)).isoformat(),
            "features": {
                "age": float(rng.normal(40 + shift, 10)),
                "country": "DE" if shift else str(rng.choice(["DE", "FR"])),
            },
            "outputs": {"score": float(rng.random())},
            "latency_ms": 10.0,
        }
        for i in range(n)
    ]


def test_stats_command_prints_each_family_from_stored_profiles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    records = [r for h in range(24 * 7, 24 * 8 + 1, 24) for r in _records(h, 300, 0.0)]
    records += _records(24 * 8 + 24, 300, 15.0)  # day 9, same hour: age shifted 1.5 sd
    chunk = records_to_chunk(records, source="test", now=None)
    store = SqlStore(url)
    store.profiles.put(profile_batch(chunk.batch, ProfileSpec()).values(), now=START)
    store.close()
    result = CliRunner().invoke(
        app, ["stats", "ranker", "--db", url, "--window", "1h"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    for title in ("feature", "output", "drift", "auxiliary"):
        assert f"{title} (latest window 2026-11-29 00:00 UTC)" in result.output
    lines = result.output.splitlines()
    # The last window's country is "DE" in every row, which it was not the days before.
    country = next(line for line in lines if "│ country" in line)
    assert "constant" in country
    # A mean of 300 rows of sd 10 carries its standard error, about 10 / √300 = 0.58.
    age = next(line for line in lines if "│ age" in line)
    mean_cell = age.split("│")[3].split()
    assert mean_cell[1].startswith("±") and 0.45 < float(mean_cell[1][1:]) < 0.7, age
    drift_at = next(i for i, line in enumerate(lines) if line.strip().startswith("drift ("))
    age_drift = next(line for line in lines[drift_at:] if "│ age" in line)
    ks = float(age_drift.split("│")[3])
    assert 0.5 < ks < 0.7  # a 1.5 sd shift: true KS = 2Φ(0.75) − 1 = 0.547
    missing = CliRunner().invoke(app, ["stats", "nobody", "--db", url])
    assert missing.exit_code == 1
    assert "no series for model 'nobody'" in missing.output


def test_drift_colours_follow_size_and_effect_size() -> None:
    assert drift_style("psi", 0.05, 100) == "green"
    assert drift_style("psi", 0.3, 100) == "bold red"
    assert drift_style("drift_ks", 0.15, 100) == "yellow"
    # chi2 = 40 on 10,000 rows is w = 0.063 (small); on 100 rows w = 0.63 (large).
    assert drift_style("chi2", 40, 10_000) == "green"
    assert drift_style("chi2", 40, 100) == "bold red"
    assert drift_style("mean", 3.0, 100) == ""


def test_latest_point_skips_trailing_nan() -> None:
    key = SeriesKey(model="m", version="v", family="drift", column="age", statistic="psi")
    stamps = np.array([0, 3600, 7200], dtype="datetime64[s]")
    series = Series(
        key=key,
        timestamps=stamps,
        values=np.array([0.01, 0.4, math.nan]),
        support=np.array([50.0, 60.0, math.nan]),
    )
    (point,) = latest_points([series])
    assert (point.value, point.support, point.at) == (
        0.4,
        60.0,
        datetime(1970, 1, 1, 1, tzinfo=UTC),
    )
    (table,) = family_tables([point])
    assert [c.header for c in table.columns] == ["version", "column", "psi", "n"]


def test_stats_command_prefers_stored_series(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    key = SeriesKey(model="ranker", version="v1", family="drift", column="age", statistic="psi")
    stamps = np.array(
        [int(START.timestamp()), int(START.timestamp()) + 3600], dtype="datetime64[s]"
    )
    stored = Series(
        key=key, timestamps=stamps, values=np.array([0.01, 0.42]), support=np.array([80.0, 90.0])
    )
    store = SqlStore(url)
    store.series.put([stored])
    store.close()
    result = CliRunner().invoke(app, ["stats", "ranker", "--db", url], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "drift (latest window 2026-11-20 01:00 UTC)" in result.output
    row = next(line for line in result.output.splitlines() if "│ age" in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["v1", "age", "0.42", "90"]
    assert "feature (" not in result.output  # nothing stored for it, nothing recomputed


def test_a_value_is_printed_with_its_standard_error_where_it_has_one() -> None:
    stamps = np.array([0, 3600], dtype="datetime64[s]")

    def mean(column: str, stderr: np.ndarray | None) -> Series:
        key = SeriesKey(model="m", version="v", family="feature", column=column, statistic="mean")
        values = np.array([40.0, 41.25])
        return Series(key=key, timestamps=stamps, values=values, stderr=stderr)

    points = latest_points(
        [
            mean("age", np.array([0.5, 0.125])),
            mean("height", None),  # no standard error for this series at all
            mean("weight", np.array([0.5, math.nan])),  # none at the latest step
        ]
    )
    assert points[0].stderr == 0.125 and all(math.isnan(p.stderr) for p in points[1:])
    (table,) = family_tables(points)
    cells = dict(zip(table.columns[1].cells, table.columns[2].cells, strict=True))
    assert cells == {"age": "41.25 ±0.12", "height": "41.25", "weight": "41.25"}
