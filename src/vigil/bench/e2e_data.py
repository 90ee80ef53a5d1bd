"""The log folders ``vigil bench e2e`` times: the same records as Parquet and as JSON lines.

Each record carries what a served model logs: model, version, a UTC timestamp, a request id, a
host, a latency, 20 numeric features of four shapes, 5 categorical features of 50 values (Zipf),
and a score. Folders are Hive-partitioned (``model=…/version=v1/date=…/part-0.parquet``), one
file per model and day, as ``vigil run`` reads them. Rows are spread evenly over the hours, so
a data set is described by how many models, hours and rows per model-hour it has: the large
windows set has thousands of rows per window, the small windows set the demo's ~200.

The data ends at ``end`` (the bench passes the current hour), so ``vigil run --once`` finds every
window complete and due. Generation is vectorized numpy and deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from vigil.core import ConfigError

NUMERIC_FEATURES = 20
CATEGORICAL_FEATURES = 5
CATEGORIES = 50
HOUR_US = 3_600_000_000
_CATEGORY_NAMES = np.array([f"cat_{j:02d}" for j in range(CATEGORIES)], dtype=object)


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSet:
    """One generated data set, written twice: as Parquet and as JSON lines."""

    name: str
    parquet: Path
    jsonl: Path
    rows: int
    models: int
    hours: int
    rows_per_window: int

    @property
    def windows(self) -> int:
        """Model-hours, which is profiles written (one version per model)."""
        return self.models * self.hours

    def files(self, fmt: str) -> list[Path]:
        root = self.parquet if fmt == "parquet" else self.jsonl
        return sorted(path for path in root.rglob("*") if path.is_file())

    def folder_bytes(self, fmt: str) -> int:
        return sum(path.stat().st_size for path in self.files(fmt))


def write_data_set(
    root: Path,
    *,
    name: str,
    models: int,
    hours: int,
    rows_per_window: int,
    end: datetime,
    seed: int = 0,
) -> DataSet:
    """Write ``models`` x ``hours`` x ``rows_per_window`` records ending at ``end``."""
    if models < 1 or hours < 1 or rows_per_window < 1:
        raise ConfigError(
            f"a data set needs models, hours and rows per window >= 1, got {models}, {hours}, "
            f"{rows_per_window}"
        )
    rng = np.random.default_rng(seed)
    start = end - timedelta(hours=hours)
    start_us = int(start.timestamp() * 1_000_000)
    for model in range(models):
        for day_first in range(0, hours, 24):
            day_hours = min(24, hours - day_first)
            table = _table(
                rng,
                model=f"model-{model:02d}",
                first_us=start_us + day_first * HOUR_US,
                hours=day_hours,
                rows_per_window=rows_per_window,
            )
            day = (start + timedelta(hours=day_first)).date().isoformat()
            partition = Path(f"model=model-{model:02d}") / "version=v1" / f"date={day}"
            (root / "parquet" / partition).mkdir(parents=True, exist_ok=True)
            (root / "jsonl" / partition).mkdir(parents=True, exist_ok=True)
            pq.write_table(table, root / "parquet" / partition / "part-0.parquet")
            _write_jsonl(table, root / "jsonl" / partition / "part-0.jsonl")
    return DataSet(
        name=name,
        parquet=root / "parquet",
        jsonl=root / "jsonl",
        rows=models * hours * rows_per_window,
        models=models,
        hours=hours,
        rows_per_window=rows_per_window,
    )


def _table(
    rng: np.random.Generator, *, model: str, first_us: int, hours: int, rows_per_window: int
) -> pa.Table:
    rows = hours * rows_per_window
    offsets = np.sort(rng.integers(0, HOUR_US, size=rows).reshape(hours, rows_per_window), axis=1)
    stamps = (first_us + offsets + (np.arange(hours) * HOUR_US)[:, None]).ravel()
    columns: dict[str, pa.Array] = {
        "model": pa.array(np.full(rows, model, dtype=object), pa.string()),
        "version": pa.array(np.full(rows, "v1", dtype=object), pa.string()),
        "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        "request_id": pa.array(
            np.char.add(f"{model}-", np.arange(rows).astype(str)).astype(object), pa.string()
        ),
        "host": pa.array(
            np.array([f"host-{i}" for i in range(8)], dtype=object)[rng.integers(0, 8, rows)],
            pa.string(),
        ),
        "latency_ms": pa.array(np.round(rng.lognormal(2.5, 0.8, rows), 3)),
    }
    shapes = (
        lambda: rng.normal(0.0, 1.0, rows),
        lambda: rng.lognormal(3.0, 1.0, rows),
        lambda: rng.integers(0, 100, rows).astype(np.float64),
        lambda: rng.exponential(5.0, rows),
    )
    for i in range(NUMERIC_FEATURES):
        columns[f"features.num_{i}"] = pa.array(shapes[i % len(shapes)]())
    for i in range(CATEGORICAL_FEATURES):
        columns[f"features.cat_{i}"] = pa.array(
            _CATEGORY_NAMES[rng.zipf(1.5, rows) % CATEGORIES], pa.string()
        )
    columns["outputs.score"] = pa.array(rng.beta(2.0, 5.0, rows))
    return pa.table(columns)


def _write_jsonl(table: pa.Table, path: Path) -> None:
    """The table as nested JSON records, timestamps as ISO strings with a ``Z``."""
    stamps = table.column("timestamp").cast(pa.int64()).to_numpy().astype("datetime64[us]")
    texts = np.char.add(np.datetime_as_string(stamps, unit="us"), "Z").tolist()
    plain = {name: table.column(name).to_pylist() for name in ("model", "version", "request_id")}
    host = table.column("host").to_pylist()
    latency = table.column("latency_ms").to_pylist()
    groups: dict[str, list[tuple[str, list[object]]]] = {"features": [], "outputs": []}
    for name in table.column_names:
        group, _, member = name.partition(".")
        if group in groups:
            groups[group].append((member, table.column(name).to_pylist()))
    with path.open("wb") as out:
        for row in range(table.num_rows):
            record = {
                "model": plain["model"][row],
                "version": plain["version"][row],
                "timestamp": texts[row],
                "request_id": plain["request_id"][row],
                "host": host[row],
                "latency_ms": latency[row],
                "features": {member: values[row] for member, values in groups["features"]},
                "outputs": {member: values[row] for member, values in groups["outputs"]},
            }
            out.write(orjson.dumps(record) + b"\n")
