"""``vigil bench deep-speed``: the deep detector's time on many series, against ARIMA's."""

from __future__ import annotations

from typing import Annotated

import typer


def deep_speed(
    series: Annotated[int, typer.Option("--series", help="Series to score.")] = 1000,
    points: Annotated[int, typer.Option("--points", help="Steps per series (hourly).")] = 720,
    arima_sample: Annotated[
        int, typer.Option("--arima-sample", help="Series ARIMA scores (its time is scaled up).")
    ] = 10,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    detector: Annotated[
        str, typer.Option("--detector", help="The detector timed (default: deep).")
    ] = "deep",
) -> None:
    """Time a detector (deep by default) on ``series`` x ``points`` against ARIMA on the same
    series."""
    from vigil.bench.deep import format_deep_speed, run_deep_speed

    speed = run_deep_speed(
        series=series, points=points, arima_sample=arima_sample, seed=seed, detector=detector
    )
    typer.echo(format_deep_speed(speed))
