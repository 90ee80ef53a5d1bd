"""``vigil bench deepar``: DeepAR trained once across a data set's prefixes, then judged."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import CalibrationOption, FprsOption, JsonOption


def deepar(
    dataset: Annotated[
        str, typer.Option("--dataset", help="A NAB-layout or labeled-CSV folder, or 'simulated'.")
    ],
    fpr: FprsOption = None,
    tolerance: Annotated[
        int, typer.Option("--tolerance", help="Steps after an event that still detect it.")
    ] = 3,
    epochs: Annotated[int, typer.Option("--epochs", help="Training epochs.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Training and sampling seed.")] = 0,
    as_json: JsonOption = False,
    calibration: CalibrationOption = "prefix",
) -> None:
    """DeepAR trained once on all series' prefixes: Precision | Recall | F1 | NAB | Time."""
    from vigil.bench.detection import CALIBRATIONS, format_table, report_json
    from vigil.bench.global_detection import run_global_bench
    from vigil.lab.forecasting import DeepARDetector

    detector = DeepARDetector(epochs=epochs, seed=seed)
    data, judged = run_global_bench(
        dataset,
        detector,
        "deepar (global)",
        fprs=fpr or [0.01],
        tolerance=tolerance,
        calibration=calibration,
    )
    if as_json:
        reports = [report_json(data, [result], rate, calibration) for rate, result in judged]
        echo_json(reports[0] if len(reports) == 1 else reports)
        return
    rows = sum(len(s.series) for s in data.series)
    events = judged[0][1].tally.events
    typer.echo(f"dataset {data.name}: {len(data.series)} series, {rows} rows, {events} events")
    for rate, result in judged:
        typer.echo(
            f"\ncalibration: {CALIBRATIONS[calibration]} (one DeepAR fit on all prefixes); "
            f"fpr={rate}"
        )
        typer.echo(format_table([result]))
