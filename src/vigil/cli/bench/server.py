"""``vigil bench server``: POST /v1/ingest measured in-process: rows/s, latency, nothing lost."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def server(
    requests: Annotated[int, typer.Option("--requests", help="Ingest requests to send.")] = 200,
    rows: Annotated[int, typer.Option("--rows", help="Rows per request.")] = 500,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent client threads.")] = 4,
    queue_size: Annotated[int, typer.Option("--queue-size", help="Server write queue.")] = 4,
) -> None:
    """Measure POST /v1/ingest: rows/s, latency, and that every accepted row is spooled."""
    from vigil.bench.server_ingest import measure_ingest

    with tempfile.TemporaryDirectory(prefix="vigil-bench-server-") as folder:
        result = measure_ingest(
            Path(folder),
            now=datetime.now(UTC),
            requests=requests,
            rows_per_request=rows,
            clients=clients,
            queue_size=queue_size,
        )
    typer.echo(
        f"ingest over HTTP: {result.requests} requests x {result.rows_per_request} rows, "
        f"{result.clients} clients, queue {queue_size}\n"
        f"  {result.rows_per_s:,.0f} rows/s "
        f"({result.rows_accepted:,} rows in {result.seconds:.2f} s)\n"
        f"  latency per request: p50 {result.latency_p50_ms:.1f} ms, "
        f"p99 {result.latency_p99_ms:.1f} ms\n"
        f"  429 answers retried: {result.throttled}\n"
        f"  rows read back from the spool: {result.rows_spooled:,} "
        f"({'all' if result.rows_spooled == result.rows_accepted else 'MISMATCH'})\n"
        f"  validation alone (no HTTP, no disk): {result.validate_rows_per_s:,.0f} rows/s"
    )
