"""``vigil bench sdk``: what ``Logger.log`` costs the serving thread, and what the sink sustains."""

from __future__ import annotations

from typing import Annotated

import typer

from vigil.cli.console import echo_json


def sdk(
    calls: Annotated[int, typer.Option("--calls", help="Logger.log calls to time.")] = 100_000,
    batch: Annotated[int, typer.Option("--batch", help="Calls per timer reading.")] = 100,
    sink_records: Annotated[
        int, typer.Option("--sink-records", help="Records written through JsonLinesSink.")
    ] = 20_000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Per-call overhead of Logger.log (median, p99) and JsonLinesSink throughput."""
    from vigil.bench.sdk import format_result, result_json, run_sdk_bench

    result = run_sdk_bench(calls=calls, batch_calls=batch, sink_records=sink_records)
    if as_json:
        echo_json(result_json(result))
    else:
        typer.echo(format_result(result))
