"""``vigil bench store``: how fast logs reach the store, and how fast the store reads and writes.

Everything is timed once, wall clock, in this process, against the store URL given (a fresh
SQLite file in a temporary folder by default; pass a PostgreSQL URL to measure that). The
bench writes models named ``bench-<i>``; point it at a scratch database.

1. ``profile_paths`` on a JSONL file of ``rows`` synthetic records (``models`` models,
   ``hours`` hours, 10 numeric and 2 categorical features, a score, a latency): the whole
   file -> profiles -> store path, and the same again (every profile replaced).
2. ``get_profiles`` of everything (query + decode) and ``rollup_store`` to days.
3. ``put_series`` of ``series`` x ``points`` points (insert, then the same points again, which
   replaces them) and ``get_series`` of one model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import numpy as np
import orjson

from vigil.core import SeriesKey
from vigil.pipeline import profile_paths, rollup_store
from vigil.profile import ProfileSpec
from vigil.stats.series import Series
from vigil.store import SqlStore

T = TypeVar("T")
START = datetime(2026, 1, 5, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreBenchResult:
    """Measured numbers; times in seconds, rates per second."""

    url: str
    rows: int
    file_mb: float
    profiles: int
    profile_bytes_mean: float
    profile_s: float
    profile_rows_per_s: float
    reprofile_s: float
    get_profiles_s: float
    rollup_s: float
    series_points: int
    put_series_s: float
    put_series_points_per_s: float
    replace_series_s: float
    get_series_s: float


def write_jsonl(path: Path, *, rows: int, models: int, hours: int, seed: int) -> None:
    """``rows`` synthetic prediction records spread over ``hours`` hours from :data:`START`."""
    rng = np.random.default_rng(seed)
    block = 50_000
    with path.open("wb") as out:
        for first in range(0, rows, block):
            n = min(block, rows - first)
            offsets = rng.integers(0, hours * 3_600_000_000, n)
            numbers = rng.normal(size=(n, 10)).round(4)
            countries = rng.choice(["DE", "FR", "US", "BR", "IN"], n)
            devices = rng.choice(["ios", "android", "web"], n)
            scores = rng.random(n).round(4)
            latencies = rng.lognormal(2.0, 0.5, n).round(2)
            model_ids = rng.integers(0, models, n)
            lines = []
            for i in range(n):
                moment = START + timedelta(microseconds=int(offsets[i]))
                features: dict[str, object] = {f"x{j}": numbers[i, j] for j in range(10)}
                features["country"] = countries[i]
                features["device"] = devices[i]
                record = {
                    "model": f"bench-{model_ids[i]}",
                    "version": "v1",
                    "timestamp": moment.isoformat(),
                    "request_id": f"r{first + i}",
                    "features": features,
                    "outputs": {"score": scores[i]},
                    "latency_ms": latencies[i],
                }
                lines.append(orjson.dumps(record, option=orjson.OPT_SERIALIZE_NUMPY))
            out.write(b"\n".join(lines) + b"\n")


def synthetic_series(*, series: int, points: int, seed: int) -> list[Series]:
    """``series`` hourly series of ``points`` points each, spread over a few models."""
    rng = np.random.default_rng(seed)
    stamps = np.datetime64("2026-01-05T00:00:00") + np.arange(points) * np.timedelta64(1, "h")
    return [
        Series(
            key=SeriesKey(
                model=f"bench-{i % 4}",
                version="v1",
                family="feature",
                column=f"x{i}",
                statistic="mean",
            ),
            timestamps=stamps.astype("datetime64[s]"),
            values=rng.normal(size=points),
            support=rng.integers(1, 1000, points).astype(np.float64),
        )
        for i in range(series)
    ]


def _timed(action: Callable[[], T]) -> tuple[T, float]:
    began = time.perf_counter()
    result = action()
    return result, time.perf_counter() - began


def run_store_bench(
    url: str,
    *,
    workdir: Path,
    rows: int = 200_000,
    models: int = 4,
    hours: int = 48,
    series: int = 100,
    points: int = 1_000,
    chunk_rows: int = 100_000,
    seed: int = 0,
) -> StoreBenchResult:
    """Run the three parts of the bench against the store at ``url``."""
    logs = workdir / "bench.jsonl"
    write_jsonl(logs, rows=rows, models=models, hours=hours, seed=seed)
    spec = ProfileSpec(window=timedelta(hours=1))
    now = datetime.now(UTC)
    store = SqlStore(url)
    try:

        def profile() -> object:
            return profile_paths([logs], store=store, spec=spec, now=now, chunk_rows=chunk_rows)

        _, profile_s = _timed(profile)
        _, reprofile_s = _timed(profile)
        stored = store.profiles.records(duration=timedelta(hours=1))
        _, decode_s = _timed(lambda: store.profiles.get(duration=timedelta(hours=1)))
        _, rollup_s = _timed(lambda: rollup_store(store, to=timedelta(days=1), now=now))
        many = synthetic_series(series=series, points=points, seed=seed)
        _, put_s = _timed(lambda: store.series.put(many))
        _, replace_s = _timed(lambda: store.series.put(many))
        _, read_s = _timed(lambda: store.series.get(model="bench-0"))
    finally:
        store.close()
    return StoreBenchResult(
        url=store.display_url,
        rows=rows,
        file_mb=logs.stat().st_size / 1e6,
        profiles=len(stored),
        profile_bytes_mean=float(np.mean([record.size_bytes for record in stored])),
        profile_s=profile_s,
        profile_rows_per_s=rows / profile_s,
        reprofile_s=reprofile_s,
        get_profiles_s=decode_s,
        rollup_s=rollup_s,
        series_points=series * points,
        put_series_s=put_s,
        put_series_points_per_s=series * points / put_s,
        replace_series_s=replace_s,
        get_series_s=read_s,
    )


def result_numbers(result: StoreBenchResult) -> dict[str, float | int | str]:
    numbers: dict[str, float | int | str] = asdict(result)
    return numbers
