"""``vigil serve``: the ingest endpoint, JSON API, metrics and dashboard under uvicorn.

The write token comes from ``--token`` or the ``VIGIL_TOKEN`` environment variable (read here,
the only layer that reads the environment); a read token (``--read-token`` /
``VIGIL_READ_TOKEN``) makes reads need a token too. Heavy imports happen inside the command.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

DEFAULT_DB = "sqlite:///vigil.db"


def serve(
    db: Annotated[
        str, typer.Option("--db", envvar="VIGIL_DB", help="Store URL (SQLite or PostgreSQL).")
    ] = DEFAULT_DB,
    spool: Annotated[
        Path, typer.Option("--spool", help="Folder where accepted rows are spooled (Hive layout).")
    ] = Path("vigil-spool"),
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="VIGIL_TOKEN", help="Write token (ingest, feedback)."),
    ] = None,
    read_token: Annotated[
        str | None,
        typer.Option(
            "--read-token", envvar="VIGIL_READ_TOKEN", help="Token for reads; open if unset."
        ),
    ] = None,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", help="Largest ingest body accepted (MiB).")
    ] = 16.0,
    queue_size: Annotated[
        int, typer.Option("--queue-size", help="Ingest requests handled at once; more get 429.")
    ] = 4,
    sample: Annotated[
        bool, typer.Option("--sample", help="Seed a small sample data set into the store first.")
    ] = False,
) -> None:
    """Serve the ingest endpoint, the JSON API, /metrics and the dashboard."""
    import uvicorn

    from vigil.core import VigilError
    from vigil.server import ServerSettings, create_app

    if not token:
        raise typer.BadParameter(
            "a write token is required: --token or VIGIL_TOKEN", param_hint="--token"
        )
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = ServerSettings(
            store_url=db,
            spool_dir=spool,
            token=token,
            read_token=read_token or None,
            max_body_bytes=int(max_body_mb * 1024 * 1024),
            queue_size=queue_size,
        )
        if sample:
            _seed_sample(db, settings.clock())
        application = create_app(settings)
    except VigilError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"Vigil dashboard on http://{host}:{port}/ (store {db}, spool {spool})")
    uvicorn.run(application, host=host, port=port, log_level="info")


def _seed_sample(db: str, now: datetime) -> None:
    from vigil.server.sample import seed_sample
    from vigil.store import SqlStore

    store = SqlStore(db)
    try:
        incidents = seed_sample(store, now=now)
    finally:
        store.close()
    typer.echo(f"seeded the sample data set: 2 models, {len(incidents)} incidents")


def bench_server(
    requests: Annotated[int, typer.Option("--requests", help="Ingest requests to send.")] = 200,
    rows: Annotated[int, typer.Option("--rows", help="Rows per request.")] = 500,
    clients: Annotated[int, typer.Option("--clients", help="Concurrent client threads.")] = 4,
    queue_size: Annotated[int, typer.Option("--queue-size", help="Server write queue.")] = 4,
) -> None:
    """Measure POST /v1/ingest: rows/s, latency, and that every accepted row is spooled."""
    import tempfile
    from datetime import UTC

    from vigil.server.loadtest import measure_ingest

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
