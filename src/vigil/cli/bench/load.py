"""``vigil bench load``: load-test ``vigil serve`` in another process: capacity, overload, loss."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from vigil.cli.console import PhaseProgress, echo_json, new_console
from vigil.cli.options import JsonOption

if TYPE_CHECKING:
    from rich.console import Console

    from vigil.bench.load import LoadReport


def load(
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
    as_json: JsonOption = False,
) -> None:
    """Load-test POST /v1/ingest on `vigil serve` in another process: capacity, overload, no loss.

    Exits 1 if accepted rows and stored rows differ or any answer other than 429 was an error.
    """
    import os
    import secrets

    from vigil.bench.load import LoadSettings, report_json, run_load_test

    settings = LoadSettings(
        duration_s=duration, step_s=step, start_rows_per_s=start_rate,
        max_p99_ms=max_p99_ms, overload_factor=overload_factor, hold_fraction=hold_fraction,
        overload_s=overload_duration, rows_per_request=rows, clients=clients,
        queue_size=queue_size,
    )  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="vigil-bench-load-") as folder,
        PhaseProgress("starting vigil serve") as progress,
    ):
        report = run_load_test(
            Path(folder), settings=settings, now=datetime.now(UTC),
            token=secrets.token_urlsafe(24), environ=dict(os.environ),
            on_phase=progress.start_phase, on_progress=progress.advance,
        )  # fmt: skip
    if as_json:
        echo_json(report_json(report))
    else:
        from rich.console import Console

        out = new_console()
        _print_load(out if out.is_terminal else Console(width=140), report)
    if not report.accounting.consistent or report.non_throttle_errors:
        raise typer.Exit(1)


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
