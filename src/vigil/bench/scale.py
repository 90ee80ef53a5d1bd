"""``vigil bench scale``: profiling rows/s locally and on Spark, and detection series/s.

The profiling half writes one synthetic Parquet data set (``models`` models, ``hours`` hours,
flattened feature columns, UTC timestamps) and profiles the same files twice: with the local
engine (:func:`vigil.pipeline.profile_paths`, one process) and with Spark through Fugue
(:func:`vigil.pipeline.distributed.profile_on_engine`, ``local[N]``), each into a fresh
in-memory store. Spark's session start and a small warm-up run are timed apart, because a
cluster pays them once per job, not per row. Both runs must account for the same rows in the
same profiles, or the bench fails instead of printing a speed.

The detection half fits and scores ``series`` series of ``points`` hourly points (a month) with
each named detector, as the pipeline does after profiling.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import ConfigError, SeriesKey, VigilError
from vigil.lab import make_bench_detector
from vigil.pipeline import ProfilingSummary, profile_paths
from vigil.profile import ProfileSpec
from vigil.stats import Series
from vigil.store import MemoryStore

START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = START + timedelta(days=60)
FILE_ROWS = 500_000
"""Rows per Parquet file: a folder of many files, as a day of logs is, so engines can split."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineTiming:
    """One profiling run over the whole data set."""

    engine: str
    rows: int
    wall_s: float
    profiles: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s


@dataclass(frozen=True, slots=True, kw_only=True)
class DetectionTiming:
    detector: str
    series: int
    points: int
    wall_s: float

    @property
    def series_per_s(self) -> float:
        return self.series / self.wall_s


@dataclass(frozen=True, slots=True, kw_only=True)
class ScaleResult:
    rows: int
    models: int
    files: int
    data_bytes: int
    cpus: int
    spark_master: str | None
    spark_startup_s: float | None
    engines: tuple[EngineTiming, ...]
    detection: tuple[DetectionTiming, ...]


def write_dataset(folder: Path, *, rows: int, models: int, hours: int, seed: int) -> list[Path]:
    """``rows`` records over ``hours`` hours; model ``m00`` has the most traffic (Zipf-like)."""
    if rows < 1 or models < 1 or hours < 1:
        raise ConfigError(f"need rows, models and hours >= 1, got {rows}, {models}, {hours}")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, models + 1)
    names = np.array([f"m{i:02d}" for i in range(models)])
    paths = []
    span_us = hours * 3_600_000_000
    start_us = int(START.timestamp() * 1_000_000)
    for index, first in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - first)
        stamps = start_us + np.sort(rng.integers(0, span_us, n))
        table = pa.table(
            {
                "model": names[rng.choice(models, n, p=weights / weights.sum())],
                "version": np.where(rng.random(n) < 0.9, "v2", "v1"),
                "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                "request_id": [f"r{first + i}" for i in range(n)],
                "host": np.array([f"h{i}" for i in range(8)])[rng.integers(0, 8, n)],
                "latency_ms": rng.lognormal(2.5, 0.6, n),
                **{f"features.x{j}": rng.normal(j, 1.0 + j, n) for j in range(4)},
                "features.country": np.array(["DE", "FR", "US", "BR", "IN"])[rng.integers(0, 5, n)],
                "outputs.score": rng.random(n),
            }
        )
        # Clustered by model and time, as a compacted log table is: a chunk then holds a few
        # (model, version, hour) groups instead of all of them.
        table = table.sort_by(
            [("model", "ascending"), ("version", "ascending"), ("timestamp", "ascending")]
        )
        path = folder / f"part-{index:05d}.parquet"
        pq.write_table(table, path, row_group_size=100_000)
        paths.append(path)
    return paths


def run_scale_bench(
    workdir: Path,
    *,
    rows: int,
    models: int,
    hours: int,
    series: int,
    points: int,
    detectors: Sequence[str],
    spark_master: str | None,
    seed: int = 0,
) -> ScaleResult:
    """Profile one generated data set on each engine, then time detection."""
    data = workdir / "logs"
    files = write_dataset(data, rows=rows, models=models, hours=hours, seed=seed)
    spec = ProfileSpec()
    engines = [_time("local", rows, lambda: _local(data, spec))]
    startup = None
    if spark_master is not None:
        from vigil.pipeline.distributed import profile_on_engine, spark_session

        began = time.perf_counter()
        session = spark_session(spark_master)
        session.sparkContext.setLogLevel("ERROR")
        warm = workdir / "warm"
        write_dataset(warm, rows=2_000, models=2, hours=2, seed=seed + 1)
        profile_on_engine([warm], engine=session, store=MemoryStore(), spec=spec, now=NOW)
        startup = time.perf_counter() - began

        def spark_run() -> ProfilingSummary:
            return profile_on_engine(
                [data], engine=session, store=MemoryStore(), spec=spec, now=NOW
            )

        try:
            engines.append(_time(f"spark {spark_master}", rows, spark_run))
        finally:
            session.stop()
    if len({(t.rows, t.profiles) for t in engines}) != 1:
        raise VigilError(f"engines disagree on the rows or profiles they produced: {engines}")
    return ScaleResult(
        rows=rows,
        models=models,
        files=len(files),
        data_bytes=sum(path.stat().st_size for path in files),
        cpus=os.cpu_count() or 1,
        spark_master=spark_master,
        spark_startup_s=startup,
        engines=tuple(engines),
        detection=tuple(time_detection(name, series=series, points=points) for name in detectors),
    )


def time_detection(name: str, *, series: int, points: int, seed: int = 0) -> DetectionTiming:
    """Fit on each series' first week and score all ``points`` of every series."""
    rng = np.random.default_rng(seed)
    hours = np.datetime64("2026-11-01T00:00:00", "s") + np.arange(points) * np.timedelta64(
        3600, "s"
    )
    daily = np.sin(2 * np.pi * np.arange(points) / 24)
    all_series = [
        Series(
            key=SeriesKey(
                model=f"m{i // 100}",
                version="v1",
                family="feature",
                column=f"c{i}",
                statistic="mean",
            ),
            timestamps=hours,
            values=10 + daily + rng.normal(0, 0.3, points),
        )
        for i in range(series)
    ]
    history = [one.slice(0, min(points, 168)) for one in all_series]
    began = time.perf_counter()
    make_bench_detector(name).fit(history).score(all_series)
    return DetectionTiming(
        detector=name, series=series, points=points, wall_s=time.perf_counter() - began
    )


def result_json(result: ScaleResult) -> dict[str, Any]:
    return {
        "rows": result.rows,
        "models": result.models,
        "files": result.files,
        "data_mb": round(result.data_bytes / 1e6, 1),
        "cpus": result.cpus,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "spark_master": result.spark_master,
        "spark_startup_and_warmup_s": _round(result.spark_startup_s),
        "profiling": [
            {
                "engine": t.engine,
                "wall_s": round(t.wall_s, 2),
                "rows_per_s": round(t.rows_per_s),
                "profiles": t.profiles,
            }
            for t in result.engines
        ],
        "detection": [
            {
                "detector": t.detector,
                "series": t.series,
                "points": t.points,
                "wall_s": round(t.wall_s, 2),
                "series_per_s": round(t.series_per_s, 1),
                "points_per_s": round(t.series_per_s * t.points),
            }
            for t in result.detection
        ],
    }


def _local(data: Path, spec: ProfileSpec) -> ProfilingSummary:
    return profile_paths([data], store=MemoryStore(), spec=spec, now=NOW)


def _time(engine: str, rows: int, run: Any) -> EngineTiming:
    began = time.perf_counter()
    summary: ProfilingSummary = run()
    wall = time.perf_counter() - began
    if summary.rows_read != rows:
        raise VigilError(f"{engine} read {summary.rows_read} rows of {rows}")
    return EngineTiming(engine=engine, rows=rows, wall_s=wall, profiles=summary.profiles_written)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
