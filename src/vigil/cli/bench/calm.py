"""``vigil bench calm``: logs where nothing happens; every incident raised is a false alarm."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vigil.cli.console import echo_json, new_console


def calm(
    seed: Annotated[list[int], typer.Option("--seed", help="Seed of the logs (repeat it).")],
    days: Annotated[int, typer.Option(min=8, help="Days of logs (the first 7 warm up).")] = 14,
    models: Annotated[int, typer.Option(min=1, help="Models per seed.")] = 3,
    out: Annotated[
        Path | None, typer.Option("--out", help="Keep logs and store here (default: a temp dir).")
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(help="Detector of the watch ([detect] detector; default: the default one)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Generate calm logs for each seed (shapes drawn per seed: heavy tails, rare flags, sparse
    features, an hour-of-day feature, 15 to 2,500 requests an hour), replay them through one
    cycle, and list every incident raised: all are false alarms."""
    from vigil.bench.calm import calm_json, run_calm_check
    from vigil.pipeline.config import parse_config

    config = parse_config({"detect": {"detector": detector}} if detector else {})
    console = new_console(stderr=as_json)
    results = []
    for one in seed:
        with tempfile.TemporaryDirectory() as scratch:
            folder = (out / f"seed-{one}") if out is not None else Path(scratch)
            with console.status(f"seed {one}") as status:
                check = run_calm_check(
                    folder,
                    seed=one,
                    days=days,
                    models=models,
                    config=config,
                    progress=status.update,
                )
            result = calm_json(check)
        results.append(result)
        if not as_json:
            console.print(
                f"seed {one}, {result['detector']}: {result['false_incidents']} false incidents "
                f"in {result['watched_model_weeks']} watched model-weeks "
                f"({result['rows']:,} rows, {result['seconds']} s)"
            )
            for incident in result["incidents"]:  # type: ignore[attr-defined]
                console.print(
                    f"  {incident['model']} {incident['kind']}: {incident['summary']}",
                    markup=False,
                )
    if as_json:
        echo_json(results)
