"""Measuring the ingest endpoint: rows per second and request latency over real HTTP.

Starts the app under uvicorn on 127.0.0.1 with a SQLite store and a spool in ``folder``, posts
prepared JSON-lines bodies from ``clients`` threads, then reads the spool back with the
pipeline's Hive reader to check that every accepted row is there (a benchmark that loses rows
measures nothing). A 429 is counted and retried after its ``Retry-After``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson

from vigil.core import ConfigError
from vigil.ingest import HivePartitionedReader
from vigil.lab.simulation.sample import sample_records
from vigil.server.app import create_app
from vigil.server.background import serve_in_background
from vigil.server.ingest import parse_body
from vigil.server.settings import ServerSettings

_TOKEN = "bench-token"


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestBench:
    requests: int
    rows_per_request: int
    clients: int
    seconds: float
    rows_accepted: int
    rows_spooled: int
    throttled: int
    latency_p50_ms: float
    latency_p99_ms: float
    validate_rows_per_s: float
    """Validation and grouping alone (no HTTP, no disk), for comparison."""

    @property
    def rows_per_s(self) -> float:
        return self.rows_accepted / self.seconds if self.seconds > 0 else float("nan")


def measure_ingest(
    folder: Path,
    *,
    now: datetime,
    requests: int = 200,
    rows_per_request: int = 500,
    clients: int = 4,
    queue_size: int = 4,
) -> IngestBench:
    if requests < 1 or rows_per_request < 1 or clients < 1:
        raise ConfigError(f"need positive counts, got {requests=} {rows_per_request=} {clients=}")
    # Live traffic: every row of a request in the current hour, two models -> two spool files.
    per_model = -(-rows_per_request // 2)
    records = sample_records(end=now, hours=1, rows_per_hour=per_model)[:rows_per_request]
    body = b"".join(orjson.dumps(record) + b"\n" for record in records)
    parse_body(body, "application/x-ndjson", source="bench", now=now)  # warm-up, not timed
    started = time.perf_counter()
    for _ in range(3):
        parse_body(body, "application/x-ndjson", source="bench", now=now)
    validate_rate = 3 * len(records) / (time.perf_counter() - started)

    settings = ServerSettings(
        store_url=f"sqlite:///{folder / 'bench.db'}",
        spool_dir=folder / "spool",
        token=_TOKEN,
        queue_size=queue_size,
        max_body_bytes=max(len(body) * 2, 1024),
        clock=lambda: now + timedelta(minutes=1),
    )
    latencies: list[float] = []
    accepted = [0]
    throttled = [0]
    lock = threading.Lock()
    with serve_in_background(create_app(settings)) as url:

        def client(count: int) -> None:
            headers = {"Authorization": f"Bearer {_TOKEN}", "Content-Type": "application/x-ndjson"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
                for _ in range(count):
                    while True:
                        begin = time.perf_counter()
                        response = http.post("/v1/ingest", content=body)
                        if response.status_code != 429:
                            break
                        with lock:
                            throttled[0] += 1
                        time.sleep(float(response.headers.get("retry-after", "1")))
                    response.raise_for_status()
                    with lock:
                        latencies.append(time.perf_counter() - begin)
                        accepted[0] += int(response.json()["accepted"])

        shares = [requests // clients + (i < requests % clients) for i in range(clients)]
        threads = [threading.Thread(target=client, args=(n,)) for n in shares if n]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
    spooled = sum(
        chunk.batch.num_rows for chunk in HivePartitionedReader(settings.spool_dir, now=None).read()
    )
    millis = np.array(latencies) * 1000
    return IngestBench(
        requests=requests,
        rows_per_request=len(records),
        clients=clients,
        seconds=seconds,
        rows_accepted=accepted[0],
        rows_spooled=spooled,
        throttled=throttled[0],
        latency_p50_ms=float(np.percentile(millis, 50)),
        latency_p99_ms=float(np.percentile(millis, 99)),
        validate_rows_per_s=validate_rate,
    )
