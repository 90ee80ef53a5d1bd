"""``vigil bench e2e`` from the command line, on data small enough for a test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.cli.app import app

runner = CliRunner()


@pytest.mark.slow
def test_bench_e2e_times_every_contender_and_judges_every_goal(tmp_path: Path) -> None:
    args = ["bench", "e2e", "--large", "1,2,50", "--small", "1,48,20", "--repeats", "1"]
    result = runner.invoke(app, [*args, "--no-whylogs", "--workdir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    numbers = json.loads(result.output)
    assert numbers["data"]["small"]["rows"] == 48 * 20
    timings = numbers["timings"]
    assert {"large.parquet.floor", "large.jsonl.vigil_profile", "small.parquet.vigil_run"} <= set(
        timings
    )
    assert all(t["cpu_s"] > 0 and t["max_rss_mb"] > 0 for t in timings.values())
    assert "parquet_vs_whylogs" not in numbers["goals"]  # --no-whylogs
    assert {"run_cycle_vs_profiling", "help_cpu_s", "small_windows_rows_per_cpu_s"} <= set(
        numbers["goals"]
    )
