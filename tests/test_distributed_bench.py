"""``vigil bench scale`` without Spark: the data it writes and the counts it checks."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from vigil.bench.scale import result_json, run_scale_bench, write_dataset


def test_dataset_is_skewed_and_clustered(tmp_path: Path) -> None:
    files = write_dataset(tmp_path, rows=3_000, models=4, hours=3, seed=1)
    table = pq.read_table(files)
    assert table.num_rows == 3_000
    counts = Counter(table["model"].to_pylist())
    assert counts["m00"] > counts["m03"]  # Zipf weights 1 : 1/4, far beyond noise at 3,000 rows
    assert table["model"].to_pylist() == sorted(table["model"].to_pylist())


@pytest.mark.slow
def test_local_run_counts_every_row_and_profile(tmp_path: Path) -> None:
    result = run_scale_bench(
        tmp_path,
        rows=3_000,
        models=3,
        hours=2,
        series=20,
        points=48,
        detectors=["zscore"],
        spark_master=None,
    )
    table = pq.read_table(tmp_path / "logs")
    hours = pc.floor_temporal(table["timestamp"], unit="hour")
    groups = {
        (model, version, hour)
        for model, version, hour in zip(
            table["model"].to_pylist(), table["version"].to_pylist(), hours.to_pylist(), strict=True
        )
    }
    (local,) = result.engines
    assert local.rows == 3_000
    assert local.profiles == len(groups)
    numbers = result_json(result)
    assert numbers["detection"][0]["series"] == 20
    assert numbers["profiling"][0]["profiles"] == len(groups)
