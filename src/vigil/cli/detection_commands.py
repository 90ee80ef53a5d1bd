"""Commands for detection: ``vigil simulate series`` and ``vigil bench detect``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

FprsOption = Annotated[
    list[float] | None,
    typer.Option(
        "--fpr",
        help="Target false-alarm rate on the calibration prefixes (default 0.01); "
        "repeat it for one table per rate from a single scoring pass.",
    ),
]
CalibrationOption = Annotated[
    str,
    typer.Option(
        "--calibration",
        help="Threshold from every prefix step ('prefix') or only its unlabeled ones "
        "('normal-prefix'; prefix labels are never scored).",
    ),
]


def simulate_series(
    out: Annotated[Path, typer.Option("--out", help="Folder to write one CSV per series into.")],
    seed: Annotated[int, typer.Option("--seed", help="Seed: same seed, same files.")] = 0,
    count: Annotated[int, typer.Option("--count", help="Number of series.")] = 48,
) -> None:
    """Generate labeled model-health series (timestamp,value,label CSVs) with injected incidents."""
    from vigil.core import VigilError
    from vigil.lab.labeled import write_labeled_csvs
    from vigil.lab.simulation.series import simulate_series as simulate

    try:
        series = simulate(seed=seed, count=count)
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    written = write_labeled_csvs(series, out)
    events = sum(len(s.windows) for s in series)
    quiet = sum(1 for s in series if not s.windows)
    typer.echo(f"wrote {len(written)} series ({events} incidents, {quiet} without) to {out}")


def bench_detect(
    dataset: Annotated[
        str, typer.Option("--dataset", help="A NAB-layout or labeled-CSV folder, or 'simulated'.")
    ],
    detectors: Annotated[
        str | None, typer.Option("--detectors", help="Comma-separated names (default: all).")
    ] = None,
    fpr: FprsOption = None,
    tolerance: Annotated[
        int, typer.Option("--tolerance", help="Steps after an event that still detect it.")
    ] = 3,
    workers: Annotated[int, typer.Option("--workers", help="Processes scoring series.")] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
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
    from vigil.core import VigilError

    try:
        data, judged = run_bench(
            dataset,
            detectors,
            fprs=fpr or [0.01],
            tolerance=tolerance,
            workers=workers,
            calibration=calibration,
        )
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    if as_json:
        reports = [report_json(data, results, rate, calibration) for rate, results in judged]
        # One rate keeps the single-report shape; several print a list, one report per rate.
        typer.echo(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2))
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
