"""``vigil bench deep``: the deep detector (given weights) judged like ``vigil bench detect``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import CalibrationOption


def deep(
    dataset: Annotated[str, typer.Option("--dataset", help="Data set folder or 'simulated'.")],
    weights: Annotated[
        Path | None, typer.Option("--weights", help="Weights file (default: shipped).")
    ] = None,
    fpr: Annotated[float, typer.Option("--fpr")] = 0.01,
    tolerance: Annotated[int, typer.Option("--tolerance")] = 3,
    classifier: Annotated[bool, typer.Option("--classifier/--no-classifier")] = True,
    filters: Annotated[bool, typer.Option("--filters/--no-filters")] = True,
    routine: Annotated[
        bool,
        typer.Option(
            "--routine/--no-routine",
            help="Keep the decision's test that an excursion is beyond the series' routine.",
        ),
    ] = True,
    alert_only: Annotated[
        bool,
        typer.Option(
            "--alert-only/--fpr-scores",
            help="Score 0 off the decision's alerts (default) or the protocol's scores.",
        ),
    ] = True,
    name: Annotated[str, typer.Option("--name", help="Row name in the table.")] = "deep",
    wide: Annotated[bool, typer.Option("--wide")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    calibration: CalibrationOption = "prefix",
) -> None:
    """Score the deep detector (given weights) like ``vigil bench detect`` scores baselines."""
    from vigil.bench.deep import run_deep_bench
    from vigil.bench.detection import CALIBRATIONS, format_table

    run = run_deep_bench(
        dataset,
        weights=weights,
        fpr=fpr,
        tolerance=tolerance,
        classifier=classifier,
        filters=filters,
        routine=routine,
        alert_only=alert_only,
        name=name,
        calibration=calibration,
    )
    data, provenance = run.dataset, run.model.provenance
    if as_json:
        echo_json({"dataset": data.name, "weights": provenance, "result": run.result.to_json()})
        return
    typer.echo(f"dataset {data.name}: {len(data.series)} series; weights: {provenance}")
    typer.echo(f"calibration: {CALIBRATIONS[calibration]}; fpr={fpr}, tolerance={tolerance} steps")
    typer.echo(format_table([run.result], wide=wide))
