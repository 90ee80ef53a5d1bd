"""``vigil bench realtime``: events/s of each real-time monitor on one core, rate-model error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json


def realtime(
    days: Annotated[float, typer.Option("--days", help="Simulated days of traffic.")] = 1.0,
    rate: Annotated[float, typer.Option("--rate", help="Mean requests per second.")] = 10.0,
    batch_seconds: Annotated[
        float, typer.Option("--batch-seconds", help="Seconds of events per update batch.")
    ] = 10.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated stream.")] = 0,
    forecast_days: Annotated[
        float,
        typer.Option("--forecast-days", help="Simulated days for the rate-model check (>= 5)."),
    ] = 10.0,
    rps_csv: Annotated[
        Path | None,
        typer.Option("--rps-csv", help="Also score the rate model on a real hourly rps CSV."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Events/s each real-time monitor processes on one core, and the rate model's error."""
    from vigil.bench.realtime import format_result, result_json, run_realtime_bench

    result = run_realtime_bench(
        days=days,
        rate_per_s=rate,
        batch=timedelta(seconds=batch_seconds),
        seed=seed,
        forecast_days=forecast_days,
        rps_csv=rps_csv,
    )
    if as_json:
        echo_json(result_json(result))
    else:
        typer.echo(format_result(result))
