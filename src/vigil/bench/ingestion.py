"""``vigil bench ingest``: how many log rows per second Vigil's readers validate and convert.

A synthetic log (one model; per row 10 features of mixed kinds, a score and a ranked list of 3,
a latency, 2 tags and a request id: about 500 bytes of JSON) is written once as JSON lines and
as Parquet, with ``bad_fraction`` of the rows broken in one of several ways, then read end to
end by :func:`vigil.ingest.open_reader`. Each timing is the median of ``repeats`` reads in this
process and reports wall-clock and CPU seconds: on a shared machine CPU time is the steadier of
the two.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import ConfigError
from vigil.ingest import open_reader

NOW = datetime(2026, 11, 25, tzinfo=UTC)
_START = datetime(2026, 11, 20, tzinfo=UTC)
_BREAKAGES = (
    lambda row: row.pop("model"),
    lambda row: row.update(timestamp="2026-11-20T10:00:00"),
    lambda row: row["features"].update(geo={"lat": 1.0}),
    lambda row: row.update(latency_ms=-1.0),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadTiming:
    """One format's result: rows read, how many were quarantined, and median times."""

    format: str
    rows: int
    quarantined: int
    file_bytes: int
    wall_s: float
    cpu_s: float

    @property
    def rows_per_s_wall(self) -> float:
        return self.rows / self.wall_s

    @property
    def rows_per_s_cpu(self) -> float:
        return self.rows / self.cpu_s


def synthetic_rows(rows: int, *, seed: int, bad_fraction: float) -> list[dict[str, Any]]:
    """``rows`` log records, ``bad_fraction`` of them broken (deterministic for a seed)."""
    if rows < 1 or not 0.0 <= bad_fraction <= 1.0:
        raise ConfigError(f"need rows >= 1 and 0 <= bad_fraction <= 1, got {rows}, {bad_fraction}")
    rng = random.Random(seed)
    records = []
    for i in range(rows):
        row: dict[str, Any] = {
            "model": "ranker",
            "version": "v3",
            "timestamp": (_START + timedelta(milliseconds=250 * i)).isoformat(),
            "request_id": f"req-{i:09d}",
            "host": f"h-{i % 17}",
            "features": {
                "age": rng.randint(18, 90),
                "income": rng.lognormvariate(10, 1),
                "country": rng.choice(("DE", "FR", "US", "BR", "IN")),
                "is_new": rng.random() < 0.3,
                "geo_id": None if rng.random() < 0.1 else rng.randint(0, 999),
                **{f"f{j}": rng.gauss(0, 1) for j in range(5)},
            },
            "outputs": {"score": rng.random(), "ranked": sorted(rng.random() for _ in range(3))},
            "latency_ms": rng.expovariate(0.1),
            "tags": {"region": "eu-west", "segment": rng.choice(("mobile", "web"))},
        }
        if rng.random() < bad_fraction:
            rng.choice(_BREAKAGES)(row)
        records.append(row)
    return records


def write_jsonl(records: list[dict[str, Any]], path: Path) -> None:
    with path.open("wb") as out:
        out.writelines(orjson.dumps(row) + b"\n" for row in records)


def write_parquet(records: list[dict[str, Any]], path: Path) -> None:
    """The same rows as Parquet with a typed UTC timestamp column.

    A typed column cannot hold a zone-less timestamp, so rows broken that way are moved 30 days
    into the future instead: still quarantined, so both files hold the same number of bad rows.
    """
    late = NOW + timedelta(days=30)
    typed = []
    for row in records:
        moment = datetime.fromisoformat(row["timestamp"])
        typed.append({**row, "timestamp": moment if moment.tzinfo else late})
    pq.write_table(pa.Table.from_pylist(typed), path)


def time_read(path: Path, *, chunk_rows: int, repeats: int, fmt: str) -> ReadTiming:
    walls, cpus = [], []
    rows = quarantined = 0
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        rows = quarantined = 0
        for chunk in open_reader(path, now=NOW, chunk_rows=chunk_rows).read():
            rows += chunk.rows_read
            quarantined += len(chunk.quarantined)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return ReadTiming(
        format=fmt,
        rows=rows,
        quarantined=quarantined,
        file_bytes=path.stat().st_size,
        wall_s=statistics.median(walls),
        cpu_s=statistics.median(cpus),
    )


def run_ingest_bench(
    rows: int, *, chunk_rows: int, seed: int, repeats: int, bad_fraction: float
) -> list[ReadTiming]:
    """Time JSON lines and Parquet reads of the same synthetic log."""
    records = synthetic_rows(rows, seed=seed, bad_fraction=bad_fraction)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-ingest-") as folder:
        jsonl, parquet = Path(folder) / "log.jsonl", Path(folder) / "log.parquet"
        write_jsonl(records, jsonl)
        write_parquet(records, parquet)
        del records
        # Warm-up: the first arrow conversion in a process imports pandas (about a second).
        list(open_reader(parquet, now=NOW, chunk_rows=chunk_rows).read())
        return [
            time_read(jsonl, chunk_rows=chunk_rows, repeats=repeats, fmt="jsonl"),
            time_read(parquet, chunk_rows=chunk_rows, repeats=repeats, fmt="parquet"),
        ]
