"""The load test's machinery against ``vigil serve`` in a separate process, with tiny durations.

With a write queue of one and more unpaced senders than it can take, the server must answer
the surplus 429 with Retry-After (never another error), and every row it acknowledged must be
in the spool, counted by its ``/metrics``, and profiled into the store by the pipeline.
"""

from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vigil.bench.load import (
    LoadSettings,
    count_rows,
    ingest_body,
    report_json,
    run_load_test,
)
from vigil.bench.load_client import drive_ingest, ingest_clients
from vigil.bench.load_server import ServerExit, server_process

NOW = datetime.now(UTC)
TOKEN = "load-test-token"
ROWS = 400


def _metrics_total(url: str, name: str) -> int:
    import httpx

    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{name} is not in /metrics")


@pytest.mark.slow  # starting `vigil serve` takes 3-10 s on the shared machine
def test_overload_gets_429_with_retry_after_and_every_accepted_row_is_stored(
    tmp_path: Path,
) -> None:
    exits: list[ServerExit] = []
    body = ingest_body(ROWS, now=NOW)
    with (
        server_process(
            tmp_path, token=TOKEN, queue_size=1, environ=dict(os.environ), exits=exits
        ) as server,
        ingest_clients(server.url, token=TOKEN, count=8) as clients,
    ):
        assert server.pid != os.getpid()
        assert Path(f"/proc/{server.pid}").exists() or os.name != "posix"
        result = drive_ingest(
            clients, body=body, rows_per_request=ROWS, rows_per_s=None, seconds=2.0,
            name="overload", rss=server.rss_bytes, server_cpu=server.cpu_seconds,
        )  # fmt: skip
        server_accepted = _metrics_total(server.url, "vigil_ingest_rows_accepted_total")
        server_throttled = _metrics_total(server.url, "vigil_ingest_throttled_total")

    assert result.errors == {}
    assert result.ok > 0 and result.throttled > 0
    assert result.throttled_with_retry_after == result.throttled
    assert result.rows_accepted == result.ok * ROWS
    # The server did the work in its own process: its CPU clock moved, and it held memory.
    assert result.server_cpu_s is not None and result.server_cpu_s > 0
    assert result.peak_rss_bytes is not None and result.peak_rss_bytes > 0
    assert server_throttled == result.throttled
    assert exits == [exits[0]] and exits[0].clean
    accounting = count_rows(
        server, acknowledged=result.rows_accepted, server_counted=server_accepted, now=NOW
    )
    assert accounting.consistent
    assert accounting.spooled == accounting.profiled == result.rows_accepted
    assert accounting.stored_profile_rows == result.rows_accepted
    assert accounting.spool_quarantined == accounting.profile_quarantined == 0


@pytest.mark.slow
def test_run_load_test_finds_a_capacity_holds_it_and_accounts_for_every_row(
    tmp_path: Path,
) -> None:
    settings = LoadSettings(
        duration_s=1.0, step_s=0.5, start_rows_per_s=1_000.0, max_rows_per_s=2_000.0,
        bisect_steps=0, max_p99_ms=2_000.0, max_late_ms=1_000.0, overload_factor=50.0,
        overload_s=1.0, rows_per_request=200, clients=6, queue_size=1,
    )  # fmt: skip
    phases: list[str] = []
    report = run_load_test(
        tmp_path, settings=settings, now=NOW, token=TOKEN, environ=dict(os.environ),
        on_phase=lambda name, _seconds: phases.append(name),
    )  # fmt: skip

    assert phases[0] == "warm-up" and phases[-2:] == ["hold", "overload"]
    assert report.capacity_rows_per_s is not None
    assert report.hold is not None and report.capacity_rows_per_s is not None
    assert report.hold.target_rows_per_s == pytest.approx(0.85 * report.capacity_rows_per_s)
    assert report.non_throttle_errors == 0
    # 50x a rate that one queue slot just kept up with cannot all fit through one slot.
    assert report.overload.throttled > 0
    assert report.overload.throttled_with_retry_after == report.overload.throttled
    every_phase = [report.warmup, *(s.result for s in report.steps), report.hold, report.overload]
    assert report.accounting.acknowledged == sum(p.rows_accepted for p in every_phase)
    assert report.accounting.consistent
    assert report.server_exit.clean
    assert report.server_throttled == sum(p.throttled for p in every_phase)
    numbers = report_json(report)
    assert numbers["accounting"] == {**numbers["accounting"], "consistent": True}  # type: ignore[dict-item]
    assert not any(isinstance(v, float) and math.isnan(v) for v in _leaves(numbers))


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]
