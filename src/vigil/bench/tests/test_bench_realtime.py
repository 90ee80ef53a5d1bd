"""``vigil bench realtime`` runs end to end on a tiny stream and counts what each monitor got."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil.bench.realtime import format_result, real_rate_errors, run_realtime_bench
from vigil.cli.app import app
from vigil.core import ConfigError


def test_bench_feeds_each_monitor_what_it_consumes() -> None:
    result = run_realtime_bench(
        days=0.05, rate_per_s=2.0, batch=timedelta(seconds=30), seed=1, forecast_days=5
    )
    by_name = {row.monitor: row for row in result.monitors}
    assert set(by_name) == {"arrivals", "latency", "scores", "canary", "feedback"}
    completions = by_name["latency"].events
    assert by_name["scores"].events == completions
    assert by_name["canary"].events == 3 * completions  # champion, canary, challenger
    assert by_name["arrivals"].events >= 2 * completions - 10  # arrivals + completions
    assert all(row.events_per_s > 0 and row.cpu_seconds >= 0 for row in result.monitors)
    assert 0 < result.rate_model_mean_error < result.naive_mean_error
    assert "events/s" in format_result(result)


def test_bench_refuses_a_nonsense_setting() -> None:
    with pytest.raises(ConfigError, match="positive"):
        run_realtime_bench(days=0, rate_per_s=1.0)


def test_cli_prints_json() -> None:
    args = ["bench", "realtime", "--days", "0.02", "--rate", "1", "--forecast-days", "5", "--json"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert {row["monitor"] for row in json.loads(out.output)["monitors"]} >= {"arrivals", "canary"}


RPS_CSV = (
    Path(__file__).resolve().parents[4]
    / "../shared/data/microsoft-cloud-monitoring/data/ecommerce-api-incoming-rps/api-01.csv"
)


@pytest.mark.skipif(not RPS_CSV.exists(), reason="shared labelled data not present")
def test_rate_model_on_real_ecommerce_request_rates() -> None:
    """8.5 months of a real API's hourly request rate: the lag model should stay under the
    article's 10% on normal hours, and miss the labelled anomalous hours by far more (that
    miss is what the rate monitor alarms on)."""
    found = real_rate_errors(RPS_CSV)
    normal, anomalous = found["real_mean_error"], found["real_anomalous_mean_error"]
    assert isinstance(normal, float) and isinstance(anomalous, float)
    assert normal < 0.10
    assert anomalous > 3 * normal
