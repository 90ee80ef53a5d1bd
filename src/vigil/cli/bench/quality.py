"""``vigil bench quality``: a labelled month with known changes through the pipeline, judged."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import echo_json
from vigil.cli.options import JsonOption


def quality(
    rows: Annotated[
        list[int] | None,
        typer.Option("--rows", min=24, help="Predictions a day (repeat for several levels)."),
    ] = None,
    seed: Annotated[
        list[int] | None, typer.Option("--seed", help="Random seed (repeat for several months).")
    ] = None,
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            help="What drift compares with: trailing (the defaults), first-week (the month's "
            "clean first week as a fixed date range) or training (a reference profile of "
            "another clean week).",
        ),
    ] = "trailing",
    segment_shift: Annotated[
        bool,
        typer.Option(
            "--segment-shift",
            help="Add num_local, moved +1 sd in region apac only (a fifth of the requests).",
        ),
    ] = False,
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="Profile segments by this tag, e.g. region (repeatable)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Per change: caught and delay; false alarms on unchanged column-days (and segment
    column-days); estimation MAE."""
    from vigil.bench.quality import format_results, result_json, run_quality_bench

    results = run_quality_bench(
        rows_per_day=rows or [1000, 6500],
        seeds=seed or [0],
        reference=reference,
        segment_shift=segment_shift,
        segments=segment or (),
    )
    if as_json:
        echo_json([result_json(r) for r in results])
        return
    typer.echo(format_results(results))
