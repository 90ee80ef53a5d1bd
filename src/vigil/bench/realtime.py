"""``vigil bench realtime``: events per second each real-time monitor processes on one core.

A seeded simulated stream (diurnal Poisson traffic over 50 hosts, paired canary and challenger
scores, delayed outcomes) is cut into batches first, so building it is not timed. Each monitor
then gets only the batches it consumes, with ``alerts(now)`` after every batch as the ingest
server would call it, and is timed with ``time.process_time`` (CPU time of this process: other
users of a shared machine do not inflate it). The run also reports the rate model's
one-hour-ahead forecast error on the same kind of traffic (Dunning reports under 10%).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime import (
    ArrivalMonitor,
    DelayedFeedbackMonitor,
    Events,
    LatencyMonitor,
    Monitor,
    PairedScoreMonitor,
    ScoreDistributionMonitor,
    epoch_seconds,
    one_hour_ahead_errors,
    utc_datetime,
)
from vigil.lab.simulation.realtime import TrafficSpec, simulate_stream, time_steps

ROLES = {"champion": "ranker", "canary": "ranker-canary", "challenger": "ranker-challenger"}
COMPLETIONS = {EventKind.COMPLETION}


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitorThroughput:
    """One monitor's measured throughput."""

    monitor: str
    events: int
    cpu_seconds: float
    events_per_s: float
    alerts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RealtimeBenchResult:
    """Measured numbers of one ``vigil bench realtime`` run."""

    simulated_days: float
    requests: int
    batch_seconds: float
    monitors: tuple[MonitorThroughput, ...]
    rate_model_mean_error: float
    rate_model_p90_error: float
    naive_mean_error: float
    real_series: str | None = None
    real_mean_error: float | None = None
    real_median_error: float | None = None
    real_anomalous_mean_error: float | None = None


def _monitors() -> list[tuple[Callable[[], Monitor], Callable[[Events], bool]]]:
    def champion(kinds: set[EventKind]) -> Callable[[Events], bool]:
        return lambda events: events.model == "ranker" and events.kind in kinds

    return [
        (lambda: ArrivalMonitor("ranker"), champion({EventKind.ARRIVAL, EventKind.COMPLETION})),
        (lambda: LatencyMonitor("ranker"), champion(COMPLETIONS)),
        (lambda: ScoreDistributionMonitor("ranker"), champion(COMPLETIONS)),
        (lambda: PairedScoreMonitor(ROLES), lambda events: events.kind in COMPLETIONS),
        (
            lambda: DelayedFeedbackMonitor("ranker"),
            champion({EventKind.COMPLETION, EventKind.LABEL}),
        ),
    ]


def run_realtime_bench(
    *,
    days: float = 1.0,
    rate_per_s: float = 10.0,
    batch: timedelta = timedelta(seconds=10),
    seed: int = 0,
    forecast_days: float = 10.0,
    rps_csv: Path | None = None,
) -> RealtimeBenchResult:
    """Time every monitor over ``days`` of traffic at ``rate_per_s`` in batches of ``batch``."""
    if days <= 0 or rate_per_s <= 0 or batch <= timedelta(0):
        raise ConfigError(
            f"bench needs positive days, rate and batch; got {days!r}, {rate_per_s!r}, {batch!r}"
        )
    spec = TrafficSpec(duration=timedelta(days=days), mean_rate_per_s=rate_per_s)
    stream = simulate_stream(spec, seed=seed)
    steps = [
        (utc_datetime(end_s), stream.events(start_s, end_s))
        for start_s, end_s in time_steps(spec.start, spec.start + spec.duration, batch)
    ]
    measured = []
    for make, consumes in _monitors():
        monitor = make()
        fed = [(now, [events for events in batches if consumes(events)]) for now, batches in steps]
        count = sum(len(events) for _, batches in fed for events in batches)
        alerts = 0
        started = time.process_time()
        for now, batches in fed:
            for events in batches:
                monitor.update(events)
            alerts += len(monitor.alerts(now))
        seconds = time.process_time() - started
        measured.append(
            MonitorThroughput(
                monitor=monitor.name,
                events=count,
                cpu_seconds=seconds,
                events_per_s=count / seconds if seconds > 0 else float("inf"),
                alerts=alerts,
            )
        )
    simulated: dict[str, Any] = dict(_forecast_errors(seed, forecast_days))
    real: dict[str, Any] = {} if rps_csv is None else real_rate_errors(rps_csv)
    return RealtimeBenchResult(
        simulated_days=days,
        requests=len(stream),
        batch_seconds=batch.total_seconds(),
        monitors=tuple(measured),
        **simulated,
        **real,
    )


def _forecast_errors(seed: int, days: float) -> dict[str, float]:
    """One-hour-ahead error of the rate model over ``days`` (>= 5) simulated days at 1 request/s,
    after four days of training; the naive previous-hour forecast for comparison."""
    if days < 5:
        raise ConfigError(f"the forecast check needs >= 5 simulated days, got {days!r}")
    spec = TrafficSpec(duration=timedelta(days=days), mean_rate_per_s=1.0)
    arrivals = simulate_stream(spec, seed=seed + 1).arrival_s
    counts = np.bincount(((arrivals - epoch_seconds(spec.start)) // 3600).astype(np.int64))
    errors = one_hour_ahead_errors(counts, train_hours=96)
    naive = np.abs(counts[96:] - counts[95:-1]) / np.maximum(counts[96:], 1)
    return {
        "rate_model_mean_error": float(errors.mean()),
        "rate_model_p90_error": float(np.quantile(errors, 0.9)),
        "naive_mean_error": float(naive.mean()),
    }


def real_rate_errors(path: Path) -> dict[str, float | str]:
    """The rate model's one-hour-ahead error on a real hourly request-rate CSV
    (``TimeStamp,Value,Label`` as in the Microsoft cloud-monitoring data): trained on the first
    two weeks, then walked forward with a refit every 6 h; labelled hours reported apart."""
    import pandas as pd  # only this optional part of the bench reads a file

    frame = pd.read_csv(path)
    if list(frame.columns[:3]) != ["TimeStamp", "Value", "Label"]:
        raise ConfigError(f"{path} needs columns TimeStamp,Value,Label, has {list(frame.columns)}")
    counts = frame["Value"].to_numpy(dtype=np.float64) * 3600.0
    train = 14 * 24
    errors = one_hour_ahead_errors(counts, train_hours=train)
    labels = frame["Label"].to_numpy()[train:] == 1
    return {
        "real_series": str(path),
        "real_mean_error": float(errors[~labels].mean()),
        "real_median_error": float(np.median(errors[~labels])),
        "real_anomalous_mean_error": float(errors[labels].mean()) if labels.any() else float("nan"),
    }


def result_json(result: RealtimeBenchResult) -> dict[str, object]:
    return asdict(result)


def format_result(result: RealtimeBenchResult) -> str:
    lines = [
        f"{result.requests:,} requests over {result.simulated_days:g} simulated days, "
        f"batches of {result.batch_seconds:g} s, one core (process CPU time)",
    ]
    for row in result.monitors:
        lines.append(
            f"  {row.monitor:<9} {row.events_per_s:>12,.0f} events/s  "
            f"({row.events:,} events in {row.cpu_seconds:.2f} s CPU, {row.alerts} alerts)"
        )
    lines.append(
        f"rate model one-hour-ahead error: mean {result.rate_model_mean_error:.1%}, "
        f"p90 {result.rate_model_p90_error:.1%} "
        f"(previous-hour forecast: {result.naive_mean_error:.1%})"
    )
    if result.real_series is not None:
        lines.append(
            f"on {result.real_series}: mean {result.real_mean_error:.1%}, median "
            f"{result.real_median_error:.1%} on normal hours; "
            f"{result.real_anomalous_mean_error:.1%} on labelled anomalous hours"
        )
    return "\n".join(lines)
