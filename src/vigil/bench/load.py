"""A bounded load test of ``POST /v1/ingest`` against ``vigil serve`` in another process.

Three phases against one server (:mod:`.load_server`), driven open-loop (:mod:`.load_client`):

1. **Find capacity**: short steps at a doubling offered rate, then bisection, to the highest
   rate at which every request is accepted (no 429, no error), p99 latency stays under a
   bound and the client keeps to its schedule (else the client, not the server, is measured).
2. **Hold** ``hold_fraction`` (0.85) of that rate for the full duration: the sustained figure.
   A 5 s step that passes can still meet a burst it cannot absorb in a minute (measured: 16 of
   1,860 requests answered 429 when holding the full step rate for 60 s), so the hold runs a
   little below; if it still fails, that is reported as it is.
3. **Overload** at a multiple of it: the server must answer the surplus 429 with
   ``Retry-After``, keep accepting near its capacity, raise no other error and keep its
   memory bounded (the queue bounds the requests it holds).

Then the server is stopped with SIGINT and the rows are counted four ways that must agree:
acknowledged to the client, counted by the server (``/metrics``), read back from the spool by
the pipeline's Hive reader, and profiled (+ quarantined) into the store by the pipeline's own
:func:`vigil.pipeline.profile_paths`. A load test that loses rows measures nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson

from vigil.bench.load_client import PhaseResult, ProgressCallback, drive_ingest, ingest_clients
from vigil.bench.load_server import ServerExit, ServerProcess, server_process
from vigil.core import ConfigError
from vigil.ingest import HivePartitionedReader
from vigil.pipeline import profile_paths
from vigil.profile import ProfileSpec
from vigil.store import SqlStore

PhaseCallback = Callable[[str, float], None]
"""Called as each phase starts with ``(name, planned_seconds)``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSettings:
    """How hard and how long to push; defaults are the documented 60 s run."""

    duration_s: float = 60.0
    step_s: float = 5.0
    start_rows_per_s: float = 2_000.0
    max_rows_per_s: float = 2_000_000.0
    bisect_steps: int = 4
    max_p99_ms: float = 250.0
    max_late_ms: float = 50.0
    overload_factor: float = 3.0
    overload_s: float = 20.0
    hold_fraction: float = 0.85
    rows_per_request: int = 1_000
    clients: int = 16
    queue_size: int = 4

    def __post_init__(self) -> None:
        positive = {
            "duration_s": self.duration_s, "step_s": self.step_s,
            "start_rows_per_s": self.start_rows_per_s, "max_p99_ms": self.max_p99_ms,
            "max_late_ms": self.max_late_ms, "overload_s": self.overload_s,
        }  # fmt: skip
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be positive, got {value!r}")
        if self.max_rows_per_s < self.start_rows_per_s:
            raise ConfigError(
                f"max_rows_per_s ({self.max_rows_per_s}) is below start_rows_per_s "
                f"({self.start_rows_per_s})"
            )
        if not 0 < self.hold_fraction <= 1:
            raise ConfigError(f"hold_fraction must be in (0, 1], got {self.hold_fraction!r}")
        if self.overload_factor <= 1:
            raise ConfigError(f"overload_factor must be above 1, got {self.overload_factor!r}")
        counts = {
            "bisect_steps": self.bisect_steps, "rows_per_request": self.rows_per_request - 1,
            "clients": self.clients - 1, "queue_size": self.queue_size - 1,
        }  # fmt: skip
        for name, value in counts.items():
            if value < 0:
                raise ConfigError(f"{name} is too small: {getattr(self, name)!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class CapacityStep:
    """One step of the search: the offered rate, and why it failed (``None`` if it passed)."""

    rows_per_s: float
    failure: str | None
    result: PhaseResult

    @property
    def passed(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Accounting:
    """Accepted rows counted four ways; ``consistent`` means no row was lost or invented."""

    acknowledged: int
    """Sum of ``accepted`` in the 200 answers the client received."""
    server_counted: int
    """``vigil_ingest_rows_accepted_total`` read from ``/metrics`` before the stop."""
    spooled: int
    spool_quarantined: int
    profiled: int
    profile_quarantined: int
    stored_profile_rows: int

    @property
    def consistent(self) -> bool:
        spool = self.spooled + self.spool_quarantined
        pipeline = self.profiled + self.profile_quarantined
        return (
            self.acknowledged == self.server_counted == spool == pipeline
            and self.stored_profile_rows == self.profiled
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadReport:
    """Everything one :func:`run_load_test` measured."""

    settings: LoadSettings
    warmup: PhaseResult
    steps: tuple[CapacityStep, ...]
    capacity_rows_per_s: float | None
    hold: PhaseResult | None
    overload: PhaseResult
    server_throttled: int
    idle_rss_bytes: int | None
    accounting: Accounting
    server_exit: ServerExit
    load_average_before: tuple[float, float, float]
    load_average_after: tuple[float, float, float]
    cpu_count: int | None

    @property
    def non_throttle_errors(self) -> int:
        phases = [self.warmup, *(step.result for step in self.steps), self.hold, self.overload]
        return sum(sum(p.errors.values()) for p in phases if p is not None)


def step_failure(result: PhaseResult, settings: LoadSettings) -> str | None:
    """Why ``result`` does not count as "accepts everything", or ``None`` if it does."""
    if result.errors:
        return f"errors {dict(result.errors)}"
    if result.throttled:
        return f"{result.throttled} of {result.requests} requests answered 429"
    if result.ok == 0:
        return "no request was sent"
    if result.latency_p99_ms > settings.max_p99_ms:
        return f"p99 latency {result.latency_p99_ms:.0f} ms > {settings.max_p99_ms:.0f} ms"
    if result.late_p99_ms > settings.max_late_ms:
        return (
            f"the client fell {result.late_p99_ms:.0f} ms behind schedule (p99): "
            "the client, not the server, was the limit"
        )
    return None


def find_capacity(
    run_step: Callable[[float], PhaseResult], settings: LoadSettings
) -> tuple[float | None, tuple[CapacityStep, ...]]:
    """The highest passing rate: double from the start rate, then bisect ``bisect_steps`` times.

    If even the start rate fails, the rate is halved (up to ``bisect_steps`` times) to find a
    passing one first. Returns ``(None, steps)`` when no rate passed.
    """
    steps: list[CapacityStep] = []

    def attempt(rate: float) -> bool:
        result = run_step(rate)
        steps.append(
            CapacityStep(rows_per_s=rate, failure=step_failure(result, settings), result=result)
        )
        return steps[-1].passed

    good: float | None = None
    bad: float | None = None
    rate = settings.start_rows_per_s
    while rate <= settings.max_rows_per_s:
        if not attempt(rate):
            bad = rate
            break
        good, rate = rate, rate * 2
    if good is None:
        for _ in range(settings.bisect_steps):
            rate /= 2
            if attempt(rate):
                good = rate
                break
            bad = rate
    if good is None or bad is None:
        return good, tuple(steps)
    for _ in range(settings.bisect_steps):
        middle = (good + bad) / 2
        if attempt(middle):
            good = middle
        else:
            bad = middle
    return good, tuple(steps)


def run_load_test(
    folder: Path,
    *,
    settings: LoadSettings,
    now: datetime,
    token: str,
    environ: Mapping[str, str] | None = None,
    on_phase: PhaseCallback | None = None,
    on_progress: ProgressCallback | None = None,
) -> LoadReport:
    """Start ``vigil serve`` in ``folder``, run the three phases, stop it and count the rows.

    ``now`` dates the rows (the whole hour before it) and the pipeline's read; ``environ`` is
    the server process's environment (the CLI passes its own).
    """
    body = ingest_body(settings.rows_per_request, now=now)
    load_before = os.getloadavg()
    exits: list[ServerExit] = []
    with (
        server_process(
            folder, token=token, queue_size=settings.queue_size, environ=environ, exits=exits
        ) as server,
        ingest_clients(server.url, token=token, count=settings.clients) as clients,
    ):
        idle_rss = server.rss_bytes()

        def phase(name: str, rate: float | None, seconds: float) -> PhaseResult:
            if on_phase is not None:
                on_phase(name, seconds)
            return drive_ingest(
                clients, body=body, rows_per_request=settings.rows_per_request,
                rows_per_s=rate, seconds=seconds, name=name, rss=server.rss_bytes,
                server_cpu=server.cpu_seconds,
                on_progress=on_progress,
            )  # fmt: skip

        # Warm-up: the server's first requests pay for lazy imports and first connections.
        warmup = phase("warm-up", settings.start_rows_per_s, min(settings.step_s, 2.0))
        capacity, steps = find_capacity(
            lambda rate: phase(f"step {rate:,.0f} rows/s", rate, settings.step_s), settings
        )
        held = None if capacity is None else capacity * settings.hold_fraction
        hold = None if held is None else phase("hold", held, settings.duration_s)
        surplus = None if capacity is None else capacity * settings.overload_factor
        overload = phase("overload", surplus, settings.overload_s)
        server_totals = _server_totals(server)
    phases = [warmup, *(step.result for step in steps), overload]
    phases += [] if hold is None else [hold]
    accounting = count_rows(
        server,
        acknowledged=sum(p.rows_accepted for p in phases),
        server_counted=server_totals["vigil_ingest_rows_accepted_total"],
        now=now,
    )
    return LoadReport(
        settings=settings,
        warmup=warmup,
        steps=steps,
        capacity_rows_per_s=capacity,
        hold=hold,
        overload=overload,
        server_throttled=server_totals["vigil_ingest_throttled_total"],
        idle_rss_bytes=idle_rss,
        accounting=accounting,
        server_exit=exits[0],
        load_average_before=load_before,
        load_average_after=os.getloadavg(),
        cpu_count=os.cpu_count(),
    )


def ingest_body(rows: int, *, now: datetime, seed: int = 7) -> bytes:
    """``rows`` valid JSON lines, half of each of two models, spread over the hour before ``now``.

    Two models make two spool files per request, as a server shared by two services would
    write; the previous whole hour keeps every row in one profile window per model.
    """
    rng = np.random.default_rng(seed)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    lines = []
    for i in range(rows):
        record = {
            "model": ("ranker", "fraud")[i % 2],
            "version": "v1",
            "timestamp": (hour + timedelta(seconds=3600 * i / rows)).isoformat(),
            "features": {
                "age": float(rng.normal(40.0, 10.0)),
                "country": str(rng.choice(["DE", "FR", "US"])),
            },
            "outputs": {"score": float(rng.beta(2, 5))},
            "latency_ms": float(rng.gamma(4.0, 3.0)),
        }
        lines.append(orjson.dumps(record) + b"\n")
    return b"".join(lines)


def count_rows(
    server: ServerProcess, *, acknowledged: int, server_counted: int, now: datetime
) -> Accounting:
    """Read the stopped server's spool back and profile it into its store, counting rows."""
    spooled = spool_quarantined = 0
    for chunk in HivePartitionedReader(server.spool_dir, now=now).read():
        spooled += chunk.batch.num_rows
        spool_quarantined += len(chunk.quarantined)
    store = SqlStore(server.store_url)
    try:
        summary = profile_paths([server.spool_dir], store=store, spec=ProfileSpec(), now=now)
        stored = sum(record.rows for record in store.profiles.records())
    finally:
        store.close()
    return Accounting(
        acknowledged=acknowledged,
        server_counted=server_counted,
        spooled=spooled,
        spool_quarantined=spool_quarantined,
        profiled=summary.rows_profiled,
        profile_quarantined=summary.rows_quarantined,
        stored_profile_rows=stored,
    )


def _server_totals(server: ServerProcess) -> dict[str, int]:
    """The ingest counters of the server's ``/metrics`` (reads are open: no read token)."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).raise_for_status().text
    totals: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("vigil_ingest_") and name.endswith("_total"):
            totals[name] = int(float(value))
    return totals


def report_json(report: LoadReport) -> dict[str, object]:
    """The report as plain JSON values (NaN, e.g. a percentile of no requests, as ``null``)."""
    phases = [report.warmup, *(s.result for s in report.steps), report.hold, report.overload]
    derived = {
        id(phase): {
            "rows_offered": phase.rows_offered,
            "offered_rows_per_s": phase.offered_rows_per_s,
            "accepted_rows_per_s": phase.accepted_rows_per_s,
            "throttled_share": phase.throttled_share,
        }
        for phase in phases
        if phase is not None
    }

    def phase_json(phase: PhaseResult | None) -> object:
        return None if phase is None else {**asdict(phase), **derived[id(phase)]}

    numbers: dict[str, object] = {
        "settings": asdict(report.settings),
        "capacity_rows_per_s": report.capacity_rows_per_s,
        "warmup": phase_json(report.warmup),
        "steps": [
            {"rows_per_s": s.rows_per_s, "failure": s.failure, "result": phase_json(s.result)}
            for s in report.steps
        ],
        "hold": phase_json(report.hold),
        "overload": phase_json(report.overload),
        "server_throttled": report.server_throttled,
        "idle_rss_bytes": report.idle_rss_bytes,
        "accounting": {**asdict(report.accounting), "consistent": report.accounting.consistent},
        "non_throttle_errors": report.non_throttle_errors,
        "server_exit": asdict(report.server_exit),
        "load_average_before": list(report.load_average_before),
        "load_average_after": list(report.load_average_after),
        "cpu_count": report.cpu_count,
    }
    return _without_nan(numbers)  # type: ignore[return-value]


def _without_nan(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nan(item) for item in value]
    return value
