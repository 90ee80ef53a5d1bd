"""``vigil bench nab``: detectors under NAB's scoring rules with NAB's threshold optimiser."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import JsonOption


def nab(
    dataset: Annotated[
        Path, typer.Option("--dataset", help="A NAB-layout folder (data/, labels/).")
    ],
    detectors: Annotated[
        str | None, typer.Option("--detectors", help="Comma-separated names (default: all).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Processes scoring series.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """NAB scores (standard, low FP, low FN), threshold optimised per profile as NAB does."""
    from vigil.bench.nab import format_table, report_json, run_nab_bench

    data, results = run_nab_bench(dataset, detectors, workers=workers)
    if as_json:
        echo_json(report_json(data, results))
        return
    typer.echo(
        f"dataset {data.name}: {len(data.series)} series; NAB v1.1 rules, threshold optimised "
        "per profile on the whole corpus (NAB's rule); 'held out': optimised on the other "
        "families"
    )
    typer.echo(format_table(results))
    for result in results:
        if result.refused:
            typer.echo(
                f"{result.detector} refused {len(result.refused)} series (scored 0 there), "
                f"e.g. {result.refused[0]}"
            )
