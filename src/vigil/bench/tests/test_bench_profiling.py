"""Smoke test of ``vigil bench profile`` with a tiny frame (speed is measured by the command)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vigil.bench.profiling import run_profile_bench
from vigil.cli.app import app


def test_bench_profile_reports_every_number() -> None:
    result = run_profile_bench(3_000, repeats=1, with_whylogs=False)
    assert result.rows == 3_000
    assert result.vigil_rows_per_s > 0 and result.numpy_floor_rows_per_s > 0
    assert result.vigil_batch_rows_per_cpu_s > 0
    assert result.whylogs_rows_per_s is None and result.whylogs_profile_bytes is None
    assert result.whylogs_equal_k_compressed_bytes is None and result.whylogs_max_rank_error is None
    assert 0 < result.profile_bytes < result.profile_raw_bytes
    # With 3,000 rows per column KLL's stated single-quantile error still holds.
    assert 0 <= result.max_rank_error <= 0.01
    assert 0 <= result.latency_max_relative_error <= 0.02
    assert result.merge_24_hourly_ms > 0


def test_bench_profile_command_prints_json() -> None:
    outcome = CliRunner().invoke(
        app, ["bench", "profile", "--rows", "1000", "--repeats", "1", "--no-whylogs", "--json"]
    )
    assert outcome.exit_code == 0, outcome.output
    numbers = json.loads(outcome.output)
    assert set(numbers) >= {
        "rows",
        "vigil_rows_per_s",
        "vigil_batch_rows_per_s",
        "whylogs_rows_per_s",
        "numpy_floor_rows_per_s",
        "profile_bytes",
        "whylogs_profile_bytes",
        "whylogs_equal_k_compressed_bytes",
        "max_rank_error",
        "merge_24_hourly_ms",
    }
    assert numbers["rows"] == 1000
