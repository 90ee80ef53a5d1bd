"""Commands for the logging SDK: ``vigil bench sdk``."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def bench_sdk(
    calls: Annotated[int, typer.Option("--calls", help="Logger.log calls to time.")] = 100_000,
    batch: Annotated[int, typer.Option("--batch", help="Calls per timer reading.")] = 100,
    sink_records: Annotated[
        int, typer.Option("--sink-records", help="Records written through JsonLinesSink.")
    ] = 20_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Per-call overhead of Logger.log (median, p99) and JsonLinesSink throughput."""
    from vigil.bench.sdk import format_result, result_json, run_sdk_bench
    from vigil.core import VigilError

    try:
        result = run_sdk_bench(calls=calls, batch_calls=batch, sink_records=sink_records)
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    if as_json:
        typer.echo(json.dumps(result_json(result), indent=2))
    else:
        typer.echo(format_result(result))
