"""``vigil bench realtime-feed``: what the server's real-time worker costs per accepted row.

A seeded simulated stream (arrivals, completions with score and latency, delayed outcomes of
one model) is cut into JSON-lines request bodies of ``request_seconds`` each, as the SDK would
send them; building them is not timed. Then, timed with ``time.process_time`` (CPU of this
process, so other users of a shared machine inflate it little):

- building record batches from the lines (``rebuild_batch``, one per cycle of queued requests):
  the server's worker no longer does this (the endpoint hands over its validated batch), so it
  is shown for comparison and left out of "worker in all";
- feeding the monitor hub (``events_from_batch`` + every monitor's ``update``);
- an evaluation (``alerts(now)`` of every monitor) once per simulated minute.

The request path's own share is one list and one ``deque.append`` per request.

The worker keeps up with ingest when its rows/s exceed the server's ingest rows/s
(``vigil bench server``); when it does not, the queue fills and rows are skipped (counted).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

from vigil.core import ConfigError, EventKind
from vigil.detect.realtime import Events, utc_datetime
from vigil.ingest import RecordBatch
from vigil.lab.simulation.realtime import TrafficSpec, simulate_stream
from vigil.pipeline.realtime import MonitorHub, rebuild_batch
from vigil.store import MemoryStore

START = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedBench:
    rows: int
    requests: int
    cycles: int
    validate_rows_per_s: float
    monitor_rows_per_s: float
    evaluations: int
    evaluate_ms_each: float
    worker_rows_per_s: float
    alerts: int


def _lines(batch: Events, version: str) -> list[bytes]:
    lines = []
    for i in range(len(batch)):
        row: dict[str, object] = {
            "model": batch.model,
            "version": version,
            "timestamp": float(batch.timestamp_s[i]),
            "event": batch.kind.value,
        }
        if batch.request_id is not None:
            row["request_id"] = str(batch.request_id[i])
        if "host" in batch.tags:
            row["host"] = str(batch.tags["host"][i])
        if batch.kind is EventKind.COMPLETION and batch.score is not None:
            row["outputs"] = {"score": float(batch.score[i])}
            if batch.latency_ms is not None:
                row["latency_ms"] = float(batch.latency_ms[i])
        if batch.kind is EventKind.LABEL:
            row["label"] = 1
        lines.append(orjson.dumps(row))
    return lines


def measure_realtime_feed(
    *,
    hours: float = 1.0,
    rate_per_s: float = 10.0,
    request_seconds: float = 5.0,
    cycle_seconds: float = 5.0,
    seed: int = 0,
) -> FeedBench:
    """``cycle_seconds``: the requests of that many seconds are rebuilt and fed together, as
    the worker does with everything queued since its last cycle (more when it falls behind)."""
    if min(hours, rate_per_s, request_seconds, cycle_seconds) <= 0:
        raise ConfigError(
            f"need positive values, got {hours=} {rate_per_s=} {request_seconds=} {cycle_seconds=}"
        )
    spec = TrafficSpec(start=START, duration=timedelta(hours=hours), mean_rate_per_s=rate_per_s)
    stream = simulate_stream(spec, seed=seed)
    bodies: list[tuple[float, list[bytes]]] = []
    moment, end = START.timestamp(), (START + spec.duration).timestamp()
    while moment < end:
        upto = min(moment + request_seconds, end)
        lines = [
            line
            for batch in stream.events(moment, upto)
            if batch.model == spec.model
            for line in _lines(batch, spec.version)
        ]
        bodies.append((upto, lines))
        moment = upto
    rows = sum(len(lines) for _, lines in bodies)

    hub = MonitorHub(MemoryStore())
    per_cycle = max(1, round(cycle_seconds / request_seconds))
    cycles = [
        (bodies[min(i + per_cycle, len(bodies)) - 1][0], bodies[i : i + per_cycle])
        for i in range(0, len(bodies), per_cycle)
    ]
    started = time.process_time()
    batches: list[tuple[float, RecordBatch]] = [
        (upto, rebuild_batch([line for _, lines in group for line in lines]))
        for upto, group in cycles
    ]
    validate_s = time.process_time() - started

    feed_s = evaluate_s = 0.0
    evaluations = alerts = 0
    next_minute = START.timestamp() + 60.0
    for upto, batch in batches:
        started = time.process_time()
        hub.feed(batch)
        feed_s += time.process_time() - started
        if upto >= next_minute:
            started = time.process_time()
            alerts += len(hub.evaluate(utc_datetime(upto)))
            evaluate_s += time.process_time() - started
            evaluations += 1
            next_minute += 60.0
    return FeedBench(
        rows=rows,
        requests=len(bodies),
        cycles=len(cycles),
        validate_rows_per_s=rows / max(validate_s, 1e-9),
        monitor_rows_per_s=rows / max(feed_s, 1e-9),
        evaluations=evaluations,
        evaluate_ms_each=evaluate_s / max(evaluations, 1) * 1e3,
        worker_rows_per_s=rows / max(feed_s + evaluate_s, 1e-9),
        alerts=alerts,
    )


def format_feed_bench(result: FeedBench) -> str:
    return "\n".join(
        [
            f"  {result.rows:,} rows in {result.requests:,} requests, {result.cycles:,} cycles",
            f"  rebuild batches (for comparison; not the worker's job): "
            f"{result.validate_rows_per_s:,.0f} rows/s",
            f"  feed the monitors: {result.monitor_rows_per_s:,.0f} rows/s",
            f"  evaluate: {result.evaluate_ms_each:.2f} ms per evaluation "
            f"({result.evaluations} evaluations, {result.alerts} alerts)",
            f"  worker in all: {result.worker_rows_per_s:,.0f} rows/s on one core",
        ]
    )
