"""``vigil bench stats``: health and drift series timed on synthetic profiles; KS against scipy."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import new_console


def stats(
    days: Annotated[int, typer.Option(min=2, help="Days of hourly profiles.")] = 8,
    features: Annotated[int, typer.Option(min=1, help="Numeric features per record.")] = 20,
    rows: Annotated[int, typer.Option(min=10, help="Rows per hourly window.")] = 2000,
    trials: Annotated[int, typer.Option(min=1, help="KS accuracy trials.")] = 20,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Time health and drift series on synthetic hourly profiles; check KS against scipy."""
    from vigil.bench.stats import format_result, run_stats_bench

    result = run_stats_bench(days=days, features=features, rows=rows, trials=trials, seed=seed)
    new_console().print(format_result(result))
