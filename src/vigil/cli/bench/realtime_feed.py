"""``vigil bench realtime-feed``: the cost of feeding the real-time monitors from ingest."""

from __future__ import annotations

from typing import Annotated

import typer


def realtime_feed(
    hours: Annotated[float, typer.Option("--hours", help="Simulated hours of traffic.")] = 1.0,
    rate: Annotated[float, typer.Option("--rate", help="Mean requests per second.")] = 10.0,
    request_seconds: Annotated[
        float, typer.Option("--request-seconds", help="Seconds of events per ingest request.")
    ] = 5.0,
    cycle_seconds: Annotated[
        float,
        typer.Option("--cycle-seconds", help="Seconds of requests the worker rebuilds at once."),
    ] = 5.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated stream.")] = 0,
) -> None:
    """Rows/s the server's real-time worker handles on one core (validate again, feed, evaluate)."""
    from vigil.bench.realtime_wiring import format_feed_bench, measure_realtime_feed

    result = measure_realtime_feed(
        hours=hours,
        rate_per_s=rate,
        request_seconds=request_seconds,
        cycle_seconds=cycle_seconds,
        seed=seed,
    )
    typer.echo(format_feed_bench(result))
