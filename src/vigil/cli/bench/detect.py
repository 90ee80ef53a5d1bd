"""``vigil bench detect``: detectors scored on a labeled data set, a table per false-alarm rate."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import CalibrationOption, FprsOption, JsonOption


def detect(
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            help="A NAB-layout or labeled-CSV folder, 'simulated', or a family of series "
            "computed from raw rows with its seed: service:N, business:N, marketplace:N, "
            "payments:N.",
        ),
    ],
    detectors: Annotated[
        str | None, typer.Option("--detectors", help="Comma-separated names (default: all).")
    ] = None,
    fpr: FprsOption = None,
    tolerance: Annotated[
        int, typer.Option("--tolerance", help="Steps after an event that still detect it.")
    ] = 3,
    workers: Annotated[int, typer.Option("--workers", help="Processes scoring series.")] = 2,
    as_json: JsonOption = False,
    wide: Annotated[
        bool, typer.Option("--wide", help="Add point-wise, NAB-profile columns.")
    ] = False,
    calibration: CalibrationOption = "prefix",
) -> None:
    """Score detectors on a labeled data set: Algorithm | Precision | Recall | F1 | NAB | Time."""
    from vigil.bench.detection import (
        CALIBRATIONS,
        format_kinds_table,
        format_table,
        report_json,
        run_bench,
    )

    data, judged = run_bench(
        dataset,
        detectors,
        fprs=fpr or [0.01],
        tolerance=tolerance,
        workers=workers,
        calibration=calibration,
    )
    if as_json:
        reports = [report_json(data, results, rate, calibration) for rate, results in judged]
        # One rate keeps the single-report shape; several print a list, one report per rate.
        echo_json(reports[0] if len(reports) == 1 else reports)
        return
    rows = sum(len(s.series) for s in data.series)
    events = judged[0][1][0].tally.events if judged[0][1] else 0
    typer.echo(f"dataset {data.name}: {len(data.series)} series, {rows} rows, {events} events")
    for rate, results in judged:
        typer.echo(
            f"\ncalibration: {CALIBRATIONS[calibration]}; fpr={rate}, tolerance={tolerance} steps"
        )
        typer.echo(format_table(results, wide=wide))
        for result in results:
            if result.refused:
                typer.echo(
                    f"{result.detector} refused {len(result.refused)} series "
                    f"(scored as no alarm), e.g. {result.refused[0]}"
                )
        kinds = format_kinds_table(results)
        if wide and kinds:
            typer.echo("\nevents detected per incident kind:")
            typer.echo(kinds)
