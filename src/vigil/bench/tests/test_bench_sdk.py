"""``vigil bench sdk`` runs end to end and reports consistent numbers (no timing asserts)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vigil.bench.sdk import run_sdk_bench, sample_requests
from vigil.cli.app import app
from vigil.core import ConfigError


def test_bench_reports_every_call_and_every_sink_record() -> None:
    result = run_sdk_bench(calls=250, batch_calls=20, sink_records=60)
    assert result.calls == 240  # whole batches only
    assert result.dropped == 0  # the buffer holds every call: each one took the append path
    assert result.sink_records == 60
    assert 0 < result.median_us <= result.p99_us
    assert 0 < result.parked_median_us <= result.parked_p99_us
    assert result.sink_records_per_s == pytest.approx(60 / result.sink_seconds)


def test_sample_requests_cover_every_value_kind() -> None:
    features, outputs = sample_requests(10)[0]
    kinds = {type(value) for value in features.values()}
    assert {float, int, str, bool, type(None)} <= kinds
    assert isinstance(outputs["ranked"], list)


def test_cli_prints_the_documented_json_keys() -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["bench", "sdk", "--calls", "200", "--sink-records", "30", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert {"calls", "median_us", "p99_us", "dropped", "sink_records_per_s"} <= set(report)
    assert report["calls"] == 200


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ConfigError, match="10"):
        run_sdk_bench(calls=10, batch_calls=100)
