"""Synthetic record batches with every kind of value, for tests and benchmarks of profiling.

Real readers are another stage's business; the profile stage still needs batches that exercise
every branch (absent, null, NaN, inf, strings, bools, hosts, events), reproducibly from a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from vigil.core import EventKind, ValueKind
from vigil.ingest import META_SCHEMA, Column, RecordBatch


def mixed_column(rng: np.random.Generator, rows: int) -> Column:
    """A column whose rows are absent, null, numbers (some NaN/inf), strings or bools."""
    kinds = rng.choice(
        np.array(
            [ValueKind.ABSENT, ValueKind.NULL, ValueKind.NUMBER, ValueKind.STRING, ValueKind.BOOL],
            dtype=np.int8,
        ),
        size=rows,
        p=[0.1, 0.1, 0.5, 0.2, 0.1],
    )
    numbers = np.full(rows, np.nan)
    is_number = kinds == ValueKind.NUMBER
    numbers[is_number] = rng.choice(
        [1.5, -2.0, 3.25, np.nan, np.inf, -np.inf, 7.0], size=int(is_number.sum())
    )
    is_bool = kinds == ValueKind.BOOL
    flags = rng.random(rows) < 0.5
    numbers[is_bool] = flags[is_bool].astype(np.float64)
    words = np.array(["red", "green", "blue", "true"], dtype=object)[rng.integers(0, 4, rows)]
    words[is_bool] = np.where(flags[is_bool], "true", "false")
    has_text = (kinds == ValueKind.STRING) | is_bool
    texts = pa.array(words.tolist(), pa.string(), mask=~has_text)
    return Column(kinds=kinds, numbers=numbers, texts=texts)


def synthetic_batch(
    seed: int,
    rows: int,
    *,
    start: datetime,
    span: timedelta,
    models: Sequence[str] = ("ranker",),
    versions: Sequence[str] = ("v1",),
    hosts: int = 3,
) -> RecordBatch:
    """``rows`` records spread uniformly over ``[start, start + span)``."""
    rng = np.random.default_rng(seed)
    start_us = int(start.timestamp() * 1_000_000)
    span_us = int(span.total_seconds() * 1_000_000)
    events = rng.choice([kind.value for kind in EventKind], size=rows, p=[0.6, 0.15, 0.15, 0.1])
    latency = np.round(rng.lognormal(2.0, 1.0, rows), 3)
    latency[rng.random(rows) < 0.05] = 0.0
    has_latency = (events == EventKind.PREDICTION.value) | (events == EventKind.COMPLETION.value)
    request_ids = np.array([f"req-{i}" for i in rng.integers(0, max(rows, 1), rows)], dtype=object)
    meta = pa.table(
        {
            "model": pa.array(rng.choice(list(models), rows).tolist(), pa.string()),
            "version": pa.array(rng.choice(list(versions), rows).tolist(), pa.string()),
            "timestamp": pa.array(
                start_us + rng.integers(0, span_us, rows), pa.timestamp("us", tz="UTC")
            ),
            "request_id": pa.array(request_ids.tolist(), pa.string(), mask=rng.random(rows) < 0.05),
            "host": pa.array(
                [
                    f"h-{i}" if i < hosts else None
                    for i in rng.integers(0, hosts + 1, rows).tolist()
                ],
                pa.string(),
            ),
            "event": pa.array(events.tolist(), pa.string()),
            "latency_ms": pa.array(latency, pa.float64(), mask=~has_latency),
            "label": pa.array(
                rng.integers(0, 2, rows).astype(np.float64),
                pa.float64(),
                mask=events != EventKind.LABEL.value,
            ),
        },
        schema=META_SCHEMA,
    )
    normal = rng.normal(10.0, 3.0, rows)
    normal[rng.random(rows) < 0.02] = np.nan
    return RecordBatch(
        meta=meta,
        features={
            "age": Column.from_numbers(normal),
            "country": Column(
                kinds=np.full(rows, ValueKind.STRING, dtype=np.int8),
                numbers=np.full(rows, np.nan),
                texts=pa.array(rng.choice(["DE", "FR", "US", "JP"], rows).tolist(), pa.string()),
            ),
            "mixed": mixed_column(rng, rows),
        },
        outputs={"score": Column.from_numbers(rng.random(rows))},
        tags={
            "region": pa.array(
                rng.choice(["eu", "us"], rows).tolist(), pa.string(), mask=rng.random(rows) < 0.1
            )
        },
    )


def prediction_meta(
    rows: int,
    *,
    start: datetime,
    span: timedelta,
    model: str = "ranker",
    version: str = "v1",
) -> pa.Table:
    """The metadata of ``rows`` prediction records evenly spaced over ``[start, start + span)``,
    without request ids, hosts, latencies or labels: for tests about features and outputs."""
    start_us = int(start.timestamp() * 1_000_000)
    step_us = int(span.total_seconds() * 1_000_000) // max(rows, 1)
    return pa.table(
        {
            "model": pa.array([model] * rows, pa.string()),
            "version": pa.array([version] * rows, pa.string()),
            "timestamp": pa.array(
                start_us + np.arange(rows) * step_us, pa.timestamp("us", tz="UTC")
            ),
            "request_id": pa.nulls(rows, pa.string()),
            "host": pa.nulls(rows, pa.string()),
            "event": pa.array([EventKind.PREDICTION.value] * rows, pa.string()),
            "latency_ms": pa.nulls(rows, pa.float64()),
            "label": pa.nulls(rows, pa.float64()),
        },
        schema=META_SCHEMA,
    )
