"""``vigil bench profile``: how fast and how well Vigil profiles, against whylogs and a floor.

One synthetic frame (N rows x 20 numeric features, 5 categorical features of 50 values, a score
and a latency; one model, version and hour, so one profile) is profiled, each timing the median
of ``repeats`` runs in this process:

- Vigil from the DataFrame, as a user calls it (:func:`vigil.profile_frame`): the conversion to
  Vigil's columns counts, as whylogs' own conversion counts in its time;
- Vigil's :func:`vigil.profile.profile_batch` on a ready ``RecordBatch`` (the sketches alone);
- whylogs' ``why.log(pandas=frame)`` on the same frame (skipped if not installed);
- a *floor*: the same statistics by one straight pass of numpy and DataSketches calls, with no
  framework around them (whole-array KLL updates, numpy moments, categoricals counted by arrow's
  ``value_counts`` and fed with weights, the same numpy HLL). ``np.unique`` over string objects,
  the obvious alternative, is several times slower and would flatter Vigil.

Timings are interleaved round-robin and reported both as wall time and as CPU time of this
process (the ``*_cpu_*`` keys), with the machine's load average: on a shared machine the CPU
figures are the ones that compare code with code. Sizes are compared like for like: whylogs'
default quantile sketch (``kll_k_large`` = 1024) is four times Vigil's, so whylogs is also run
with Vigil's ``k`` (the same stated rank error), and both are given raw and compressed as
Vigil stores its profiles (:func:`vigil.profile.envelope.compress`); the worst rank error each
reaches on this frame is measured, not assumed.
It also reports the time to deserialize and merge 24 hourly profiles.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from datasketches import frequent_strings_sketch, kll_doubles_sketch

from vigil.core import ConfigError, EventKind, ValueKind
from vigil.ingest import META_SCHEMA, Column, RecordBatch
from vigil.profile import DistinctSketch, LogHistogram, Profile, ProfileSpec, profile_batch, rollup
from vigil.profile.envelope import compress, payload_of

NUMERIC_FEATURES = 20
CATEGORICAL_FEATURES = 5
CATEGORIES = 50
START = datetime(2026, 11, 20, tzinfo=UTC)
QUANTILE_GRID = np.round(np.linspace(0.01, 0.99, 99), 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileBenchResult:
    rows: int
    vigil_rows_per_s: float
    """From the DataFrame (:func:`vigil.profile_frame`), conversion included."""
    vigil_batch_rows_per_s: float
    """From a ready ``RecordBatch``: the sketches without the conversion."""
    whylogs_rows_per_s: float | None
    numpy_floor_rows_per_s: float
    profile_bytes: int
    """Vigil's profile as stored (compressed by :func:`~vigil.profile.envelope.compress`)."""
    profile_raw_bytes: int
    whylogs_profile_bytes: int | None
    """whylogs' serialized profile at its defaults (KLL k = 1024), raw as it writes it."""
    whylogs_profile_compressed_bytes: int | None
    whylogs_equal_k_bytes: int | None
    """whylogs with Vigil's KLL ``k`` (the same stated rank error), raw."""
    whylogs_equal_k_compressed_bytes: int | None
    max_rank_error: float
    whylogs_max_rank_error: float | None
    whylogs_equal_k_max_rank_error: float | None
    latency_max_relative_error: float
    merge_24_hourly_ms: float
    vigil_rows_per_cpu_s: float
    vigil_batch_rows_per_cpu_s: float
    whylogs_rows_per_cpu_s: float | None
    numpy_floor_rows_per_cpu_s: float
    merge_24_hourly_cpu_ms: float
    load_average: float
    """Mean of the 1-minute load average before and after: above the core count, wall times
    measure the neighbours as much as the code."""


def synthetic_frame(rows: int, seed: int) -> pd.DataFrame:
    """The benchmark frame: varied numeric shapes, 50-value categoricals, a score, a latency."""
    rng = np.random.default_rng(seed)
    columns: dict[str, npt.ArrayLike] = {}
    shapes: list[Callable[[], npt.NDArray[np.float64]]] = [
        lambda: rng.normal(0.0, 1.0, rows),
        lambda: rng.lognormal(3.0, 1.0, rows),
        lambda: rng.integers(0, 100, rows).astype(np.float64),
        lambda: rng.exponential(5.0, rows),
    ]
    for i in range(NUMERIC_FEATURES):
        columns[f"num_{i}"] = shapes[i % len(shapes)]()
    labels = np.array([f"cat_{j:02d}" for j in range(CATEGORIES)], dtype=object)
    for i in range(CATEGORICAL_FEATURES):
        columns[f"cat_{i}"] = labels[rng.zipf(1.5, rows) % CATEGORIES]
    columns["score"] = rng.beta(2.0, 5.0, rows)
    columns["latency_ms"] = np.round(rng.lognormal(2.5, 0.8, rows), 3)
    return pd.DataFrame(columns)


def frame_to_batch(frame: pd.DataFrame, seed: int, start: datetime, span: timedelta) -> RecordBatch:
    rows = len(frame)
    rng = np.random.default_rng(seed + 1)
    start_us = int(start.timestamp() * 1_000_000)
    span_us = int(span.total_seconds() * 1_000_000)
    meta = pa.table(
        {
            "model": pa.array(np.full(rows, "ranker", dtype=object), pa.string()),
            "version": pa.array(np.full(rows, "v1", dtype=object), pa.string()),
            "timestamp": pa.array(
                np.sort(start_us + rng.integers(0, span_us, rows)), pa.timestamp("us", tz="UTC")
            ),
            "request_id": pa.nulls(rows, pa.string()),
            "host": pa.array(
                np.array([f"h-{i}" for i in range(8)], dtype=object)[rng.integers(0, 8, rows)],
                pa.string(),
            ),
            "event": pa.array(np.full(rows, EventKind.PREDICTION.value, dtype=object), pa.string()),
            "latency_ms": pa.array(frame["latency_ms"].to_numpy(), pa.float64()),
            "label": pa.nulls(rows, pa.float64()),
        },
        schema=META_SCHEMA,
    )
    features: dict[str, Column] = {}
    for name in frame.columns:
        if name.startswith("num_"):
            features[name] = Column.from_numbers(frame[name].to_numpy())
        elif name.startswith("cat_"):
            features[name] = Column(
                kinds=np.full(rows, ValueKind.STRING, dtype=np.int8),
                numbers=np.full(rows, np.nan),
                texts=pa.array(frame[name].to_numpy(), pa.string()),
            )
    return RecordBatch(
        meta=meta,
        features=features,
        outputs={"score": Column.from_numbers(frame["score"].to_numpy())},
    )


def numpy_floor(batch: RecordBatch, spec: ProfileSpec) -> list[object]:
    """The same statistics with no framework: the speed Vigil's own overhead is measured from."""
    results: list[object] = []
    numeric = [c.numbers for c in batch.features.values() if c.texts.null_count == len(c)]
    numeric += [c.numbers for c in batch.outputs.values()]
    latency = (
        batch.meta.column("latency_ms")
        .combine_chunks()
        .to_numpy(zero_copy_only=False, writable=True)
    )
    for values in [*numeric, latency]:
        finite_mask = np.isfinite(values)
        finite = values if finite_mask.all() else values[finite_mask]
        sketch = kll_doubles_sketch(spec.kll_k)
        sketch.update(np.ascontiguousarray(finite))
        mean = finite.mean()
        deviations = finite - mean
        m2 = np.square(deviations, out=deviations).sum()
        results += [sketch, mean, m2, finite.min(), finite.max()]
        results.append(DistinctSketch.empty(spec.hll_lg_k).update(finite))
    results.append(LogHistogram.empty(spec.latency_bucket_ratio).update(latency))
    for column in batch.features.values():
        if column.texts.null_count == len(column):
            continue
        counted = pc.value_counts(column.texts)
        items = counted.field("values").to_pylist()
        counts = counted.field("counts").to_pylist()
        frequent = frequent_strings_sketch(spec.frequent_lg_max)
        for item, count in zip(items, counts, strict=True):
            if item is not None:
                frequent.update(item, count)
        results += [frequent, DistinctSketch.empty(spec.hll_lg_k).update(counted.field("values"))]
    return results


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    wall_s: float
    cpu_s: float


def _time_interleaved(actions: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timing]:
    """Median wall and CPU seconds of each action, run round-robin.

    Round-robin keeps a change in the machine's load from landing on one contender only; CPU
    time (this process, all threads) is reported too because on a shared machine wall time
    mostly measures the neighbours.
    """
    wall: dict[str, list[float]] = {name: [] for name in actions}
    cpu: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            wall_start, cpu_start = time.perf_counter(), time.process_time()
            action()
            wall[name].append(time.perf_counter() - wall_start)
            cpu[name].append(time.process_time() - cpu_start)
    return {
        name: Timing(wall_s=statistics.median(wall[name]), cpu_s=statistics.median(cpu[name]))
        for name in actions
    }


def max_rank_error(profile: Profile, batch: RecordBatch) -> float:
    """Worst |rank(estimate) - q| over every numeric column and q in 0.01..0.99."""
    columns = {**profile.features, **{f"out:{k}": v for k, v in profile.outputs.items()}}
    sources = {**batch.features, **{f"out:{k}": v for k, v in batch.outputs.items()}}
    pairs = [(columns[name].quantiles, sources[name].numbers) for name in columns]
    latency = batch.meta.column("latency_ms").drop_null().to_numpy()
    pairs.append((profile.latency.quantiles, latency))
    return max(
        (
            _rank_error(sketch.quantiles(QUANTILE_GRID), values)
            for sketch, values in pairs
            if sketch.n
        ),
        default=0.0,
    )


def _latency_relative_error(profile: Profile, batch: RecordBatch) -> float:
    latency = batch.meta.column("latency_ms").drop_null().to_numpy()
    histogram = profile.latency.histogram
    if histogram is None or latency.size == 0:
        return math.nan
    exact = np.quantile(latency, QUANTILE_GRID, method="lower")
    estimates = np.array([histogram.quantile(float(q)) for q in QUANTILE_GRID])
    return float(np.max(np.abs(estimates - exact) / exact))


def run_profile_bench(
    rows: int = 1_000_000, *, seed: int = 0, repeats: int = 3, with_whylogs: bool = True
) -> ProfileBenchResult:
    """Run every measurement; ``with_whylogs=False`` skips the (slow to import) comparison."""
    from vigil.pipeline.frames import profile_frame

    if rows < 100 or repeats < 1:
        raise ConfigError(f"bench needs rows >= 100 and repeats >= 1, got {rows!r}, {repeats!r}")
    spec = ProfileSpec()
    load_before = os.getloadavg()[0]
    frame = synthetic_frame(rows, seed)
    batch = frame_to_batch(frame, seed, START, timedelta(minutes=59))
    actions: dict[str, Callable[[], object]] = {
        "vigil": lambda: profile_frame(
            frame, model="ranker", outputs=["score"], timestamp=START, spec=spec, now=START
        ),
        "batch": lambda: profile_batch(batch, spec),
        "floor": lambda: numpy_floor(batch, spec),
    }
    whylogs = _WhylogsSizes.measure(frame, spec) if with_whylogs else None
    if whylogs is not None:
        import whylogs as why

        actions["whylogs"] = lambda: why.log(pandas=frame)
    timings = _time_interleaved(actions, repeats)
    (profile,) = profile_batch(batch, spec).values()

    day = frame_to_batch(frame, seed, START, timedelta(days=1))
    hourly = [p.to_bytes() for p in profile_batch(day, spec).values()]
    merge = _time_interleaved(
        {"merge": lambda: rollup([Profile.from_bytes(d) for d in hourly], timedelta(days=1))},
        repeats,
    )["merge"]
    stored = profile.to_bytes()
    timed = timings.get("whylogs")
    return ProfileBenchResult(
        rows=rows,
        vigil_rows_per_s=rows / timings["vigil"].wall_s,
        vigil_batch_rows_per_s=rows / timings["batch"].wall_s,
        whylogs_rows_per_s=None if timed is None else rows / timed.wall_s,
        numpy_floor_rows_per_s=rows / timings["floor"].wall_s,
        profile_bytes=len(stored),
        profile_raw_bytes=len(payload_of(stored)),
        whylogs_profile_bytes=None if whylogs is None else whylogs.default_bytes,
        whylogs_profile_compressed_bytes=None
        if whylogs is None
        else whylogs.default_compressed_bytes,
        whylogs_equal_k_bytes=None if whylogs is None else whylogs.equal_k_bytes,
        whylogs_equal_k_compressed_bytes=None
        if whylogs is None
        else whylogs.equal_k_compressed_bytes,
        max_rank_error=max_rank_error(profile, batch),
        whylogs_max_rank_error=None if whylogs is None else whylogs.default_rank_error,
        whylogs_equal_k_max_rank_error=None if whylogs is None else whylogs.equal_k_rank_error,
        latency_max_relative_error=_latency_relative_error(profile, batch),
        merge_24_hourly_ms=merge.wall_s * 1000.0,
        vigil_rows_per_cpu_s=rows / timings["vigil"].cpu_s,
        vigil_batch_rows_per_cpu_s=rows / timings["batch"].cpu_s,
        whylogs_rows_per_cpu_s=None if timed is None else rows / timed.cpu_s,
        numpy_floor_rows_per_cpu_s=rows / timings["floor"].cpu_s,
        merge_24_hourly_cpu_ms=merge.cpu_s * 1000.0,
        load_average=(load_before + os.getloadavg()[0]) / 2,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _WhylogsSizes:
    """whylogs' profile of the frame at its defaults and at Vigil's KLL ``k``: bytes, raw and
    compressed like Vigil's, and the worst rank error of its quantiles on the frame."""

    default_bytes: int
    default_compressed_bytes: int
    default_rank_error: float
    equal_k_bytes: int
    equal_k_compressed_bytes: int
    equal_k_rank_error: float

    @classmethod
    def measure(cls, frame: pd.DataFrame, spec: ProfileSpec) -> _WhylogsSizes | None:
        try:
            import whylogs as why  # optional and heavy: imported only here
            from whylogs.core.metrics.metrics import MetricConfig
            from whylogs.core.schema import DatasetSchema
        except ImportError:
            return None
        same_k = DatasetSchema(default_configs=MetricConfig(kll_k=spec.kll_k, large_kll_k=False))
        found: list[tuple[int, int, float]] = []
        for schema in (None, same_k):
            view = (
                why.log(pandas=frame) if schema is None else why.log(pandas=frame, schema=schema)
            ).view()
            data = view.serialize()
            found.append((len(data), len(compress(data)), _whylogs_rank_error(view, frame)))
        (default, default_compressed, default_error), (equal, equal_compressed, equal_error) = found
        return cls(
            default_bytes=default,
            default_compressed_bytes=default_compressed,
            default_rank_error=default_error,
            equal_k_bytes=equal,
            equal_k_compressed_bytes=equal_compressed,
            equal_k_rank_error=equal_error,
        )


def _whylogs_rank_error(view: Any, frame: pd.DataFrame) -> float:
    """Worst |rank(estimate) - q| of whylogs' quantiles over the frame's numeric columns."""
    worst = 0.0
    for name in frame.columns:
        if not name.startswith(("num_", "score", "latency")):
            continue
        sketch = view.get_column(name).get_metric("distribution").kll.value
        estimates = np.asarray(sketch.get_quantiles(QUANTILE_GRID.tolist()), dtype=np.float64)
        worst = max(worst, _rank_error(estimates, frame[name].to_numpy(dtype=np.float64)))
    return worst


def _rank_error(estimates: npt.NDArray[np.float64], values: npt.NDArray[np.float64]) -> float:
    """Worst distance of each estimate's rank from its target level in ``QUANTILE_GRID``; a tied
    value spans ranks ``[left, right]``, and the error is the distance to that interval."""
    finite = np.sort(values[np.isfinite(values)])
    if finite.size == 0:
        return 0.0
    left = np.searchsorted(finite, estimates, side="left") / finite.size
    right = np.searchsorted(finite, estimates, side="right") / finite.size
    error = np.maximum(np.maximum(left - QUANTILE_GRID, QUANTILE_GRID - right), 0.0)
    return float(error.max())


def result_json(result: ProfileBenchResult) -> dict[str, float | int | None]:
    return asdict(result)
