"""``vigil serve``: the ingest endpoint, JSON API, metrics and dashboard under uvicorn.

The write token comes from ``--token`` or the ``VIGIL_TOKEN`` environment variable (read here,
the only layer that reads the environment); a read token (``--read-token`` /
``VIGIL_READ_TOKEN``) makes reads need a token too. Heavy imports happen inside the command.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.bench.load import LoadReport

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
    realtime: Annotated[
        bool,
        typer.Option(
            "--realtime/--no-realtime",
            help="Run the real-time monitors on the ingest stream (checkpointed in the store).",
        ),
    ] = True,
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
            realtime=realtime,
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
    from vigil.lab.simulation.sample import seed_sample
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


def bench_load(
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds to hold the capacity found.")
    ] = 60.0,
    step: Annotated[float, typer.Option("--step", help="Seconds per capacity-search step.")] = 5.0,
    start_rate: Annotated[
        float, typer.Option("--start-rate", help="First offered rate (rows/s) of the search.")
    ] = 2_000.0,
    max_p99_ms: Annotated[
        float, typer.Option("--max-p99-ms", help="A step passes only under this p99 latency.")
    ] = 250.0,
    overload_factor: Annotated[
        float, typer.Option("--overload-factor", help="Overload offers this times the capacity.")
    ] = 3.0,
    hold_fraction: Annotated[
        float, typer.Option("--hold-fraction", help="The hold offers this times the capacity.")
    ] = 0.85,
    overload_duration: Annotated[
        float, typer.Option("--overload-duration", help="Seconds of overload.")
    ] = 20.0,
    rows: Annotated[int, typer.Option("--rows", help="Rows per request.")] = 1_000,
    clients: Annotated[int, typer.Option("--clients", help="Client threads.")] = 16,
    queue_size: Annotated[int, typer.Option("--queue-size", help="Server write queue.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Load-test POST /v1/ingest on `vigil serve` in another process: capacity, overload, no loss.

    Exits 1 if accepted rows and stored rows differ or any answer other than 429 was an error.
    """
    import json
    import os
    import secrets
    import tempfile
    from datetime import UTC

    from rich.console import Console

    from vigil.bench.load import LoadSettings, report_json, run_load_test
    from vigil.core import VigilError

    try:
        settings = LoadSettings(
            duration_s=duration, step_s=step, start_rows_per_s=start_rate,
            max_p99_ms=max_p99_ms, overload_factor=overload_factor, hold_fraction=hold_fraction,
            overload_s=overload_duration, rows_per_request=rows, clients=clients,
            queue_size=queue_size,
        )  # fmt: skip
    except VigilError as err:
        raise typer.BadParameter(str(err)) from err
    console = Console(stderr=True)
    with (
        tempfile.TemporaryDirectory(prefix="vigil-bench-load-") as folder,
        _LoadProgress(console) as progress,
    ):
        report = run_load_test(
            Path(folder), settings=settings, now=datetime.now(UTC),
            token=secrets.token_urlsafe(24), environ=dict(os.environ),
            on_phase=progress.start_phase, on_progress=progress.advance,
        )  # fmt: skip
    numbers = report_json(report)
    if as_json:
        typer.echo(json.dumps(numbers, indent=2))
    else:
        out = Console()
        _print_load(out if out.is_terminal else Console(width=140), report)
    if not report.accounting.consistent or report.non_throttle_errors:
        raise typer.Exit(1)


class _LoadProgress:
    """One Rich bar, reset for each load phase; on stderr so ``--json`` output stays clean."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            TextColumn("{task.completed:>4.0f}/{task.total:.0f} s"),
            console=console,
        )
        self._task = self._progress.add_task("starting vigil serve", total=1.0)

    def __enter__(self) -> _LoadProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def start_phase(self, name: str, seconds: float) -> None:
        self._progress.reset(self._task, total=seconds, description=name)

    def advance(self, elapsed: float, total: float) -> None:
        self._progress.update(self._task, completed=elapsed, total=total)


def _print_load(console: Console, report: LoadReport) -> None:
    from rich import box
    from rich.table import Table

    from vigil.bench.load import step_failure

    table = Table(box=box.SIMPLE, title="POST /v1/ingest, open-loop, server in another process")
    for column in ("phase", "offered/s", "accepted/s", "429/requests", "errors", "p50/p99 ms",
                   "RSS MiB", "cores srv/cli", "verdict"):  # fmt: skip
        table.add_column(column, justify="left" if column in ("phase", "verdict") else "right")
    rows = [(report.warmup, "")]
    rows += [(step.result, _short(step.failure)) for step in report.steps]
    if report.hold is not None:
        rows.append((report.hold, _short(step_failure(report.hold, report.settings))))
    rows.append((report.overload, ""))
    for phase, verdict in rows:
        rss = "-" if phase.peak_rss_bytes is None else f"{phase.peak_rss_bytes / 2**20:.0f}"
        server_cores = (
            "-" if phase.server_cpu_s is None else f"{phase.server_cpu_s / phase.seconds:.2f}"
        )
        cores = f"{server_cores}/{phase.client_cpu_s / phase.seconds:.2f}"
        table.add_row(
            phase.name.replace(" rows/s", ""), f"{phase.offered_rows_per_s:,.0f}",
            f"{phase.accepted_rows_per_s:,.0f}", f"{phase.throttled}/{phase.requests}",
            str(sum(phase.errors.values())),
            f"{phase.latency_p50_ms:.0f}/{phase.latency_p99_ms:.0f}", rss, cores, verdict,
        )  # fmt: skip
    console.print(table)
    capacity = report.capacity_rows_per_s
    overload = report.overload
    account = report.accounting
    console.print(
        f"capacity (every request accepted, p99 <= {report.settings.max_p99_ms:.0f} ms): "
        + ("none found" if capacity is None else f"{capacity:,.0f} rows/s")
        + f"; {report.settings.rows_per_request} rows/request, queue {report.settings.queue_size}, "
        f"{report.settings.clients} client threads\n"
        f"overload: {overload.throttled:,} of {overload.requests:,} answered 429 "
        f"({overload.throttled_with_retry_after:,} with Retry-After), "
        f"{sum(overload.errors.values())} other errors {dict(overload.errors) or ''}\n"
        f"rows accepted (client) {account.acknowledged:,} | counted by server "
        f"{account.server_counted:,} | read from spool {account.spooled:,} "
        f"(+{account.spool_quarantined} quarantined) | profiled {account.profiled:,} "
        f"(+{account.profile_quarantined} quarantined) | in stored profiles "
        f"{account.stored_profile_rows:,}  "
        + ("[green]all equal[/]" if account.consistent else "[bold red]MISMATCH[/]")
        + f"\nserver stopped {'cleanly' if report.server_exit.clean else 'UNCLEANLY'} "
        f"(exit {report.server_exit.returncode}, {report.server_exit.stop_seconds:.1f} s); "
        f"load average before {_loads(report.load_average_before)}, "
        f"after {_loads(report.load_average_after)} on {report.cpu_count} CPUs"
    )


def _short(failure: str | None) -> str:
    """The verdict column: the full reasons are in ``--json``."""
    if failure is None:
        return "pass"
    for word, label in (
        ("errors", "errors"),
        ("429", "429s"),
        ("p99", "p99"),
        ("client", "client"),
    ):
        if word in failure:
            return label
    return "fail"


def _loads(values: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in values)
