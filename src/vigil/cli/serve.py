"""``vigil serve``: the ingest endpoint, JSON API, metrics and dashboard under uvicorn.

The write token comes from ``--token`` or the ``VIGIL_TOKEN`` environment variable (read here,
the only layer that reads the environment); a read token (``--read-token`` /
``VIGIL_READ_TOKEN``) makes reads need a token too. Heavy imports happen inside the command.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import log_server_lines
from vigil.cli.options import (
    DEFAULT_DB,
    ConfigOption,
    DbOption,
    ReadTokenOption,
    TokenOption,
    channel_secrets,
)

if TYPE_CHECKING:
    from vigil.server import LivePipeline, ServerSettings


def serve(
    db: DbOption = DEFAULT_DB,
    spool: Annotated[
        Path, typer.Option("--spool", help="Folder where accepted rows are spooled (Hive layout).")
    ] = Path("vigil-spool"),
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    token: TokenOption = None,
    read_token: ReadTokenOption = None,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", help="Largest ingest body accepted (MiB).")
    ] = 16.0,
    queue_size: Annotated[
        int, typer.Option("--queue-size", help="Ingest requests handled at once; more get 429.")
    ] = 4,
    sample: Annotated[
        bool, typer.Option("--sample", help="Seed a small sample data set into the store first.")
    ] = False,
    realtime: Annotated[
        bool,
        typer.Option(
            "--realtime/--no-realtime",
            help="Run the real-time monitors on the ingest stream (checkpointed in the store).",
        ),
    ] = True,
    run: Annotated[
        bool,
        typer.Option(
            "--run",
            help="Also run the pipeline on what is ingested, a cycle as each window closes "
            "(no separate vigil run).",
        ),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Serve the ingest endpoint, the JSON API, /metrics and the dashboard.

    ``--config`` gives the rows' limits (``[ingest]``) and the bounds on clients
    (``[server]``), besides the pipeline's settings for ``--run``."""
    import uvicorn

    from vigil.core import parse_duration
    from vigil.pipeline.config import load_config
    from vigil.server import ServerSettings, create_app, uvicorn_options

    if not token:
        raise typer.BadParameter(
            "a write token is required: --token or VIGIL_TOKEN", param_hint="--token"
        )
    log_server_lines()
    bounds = load_config(config)
    settings = ServerSettings(
        store_url=db,
        spool_dir=spool,
        token=token,
        read_token=read_token or None,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        queue_size=queue_size,
        realtime=realtime,
        limits=bounds.ingest_limits(),
        header_timeout_s=parse_duration(bounds.server.header_timeout).total_seconds(),
        body_timeout_s=parse_duration(bounds.server.body_timeout).total_seconds(),
        max_uploads_per_client=bounds.server.max_uploads_per_client,
        max_models_per_request=bounds.server.max_models_per_request,
    )
    if sample:
        from vigil.lab.simulation.sample import seed_sample
        from vigil.store import SqlStore

        with closing(SqlStore(db)) as store:
            incidents = seed_sample(store, now=settings.clock())
        typer.echo(f"seeded the sample data set: 2 models, {len(incidents)} incidents")
    live = _live_pipeline(db, spool, config, settings) if run else None
    application = create_app(settings, live=live)
    typer.echo(f"Vigil dashboard on http://{host}:{port}/ (store {db}, spool {spool})")
    if live is not None:
        typer.echo(
            f"running the pipeline on the spool: next window closes at "
            f"{live.next_window_closes():%Y-%m-%d %H:%M} UTC"
        )
    uvicorn.run(application, host=host, port=port, log_level="info", **uvicorn_options(application))


def _live_pipeline(
    db: str, spool: Path, config: Path | None, settings: ServerSettings
) -> LivePipeline:
    """``vigil run``'s configuration on this server's store and spool."""
    from vigil.pipeline.config import load_config
    from vigil.server import LivePipeline

    loaded = load_config(config)
    loaded = loaded.model_copy(update={"store": loaded.store.model_copy(update={"url": db})})
    return LivePipeline(
        config=loaded,
        spool_dir=spool,
        clock=settings.clock,
        channels=loaded.build_channels(channel_secrets(loaded)),
    )
