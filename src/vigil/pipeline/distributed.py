"""Profiling on a distributed engine (Spark, Dask, DuckDB) through Fugue, as one pass.

The engine runs the plain functions of :mod:`vigil.pipeline.distributed_tasks`:

1. **map** (no shuffle) over the engine's own partitions of the raw rows: each task profiles its
   rows ``chunk_rows`` at a time and emits one partial profile per ``(model, version, window)``
   it saw, its quarantined rows and its read counts;
2. **merge**, keyed by ``(model, version, window)``: ``reduce(merge)`` of the partials, hash-
   partitioned ("coarse": many keys per call). Only serialized profiles (kilobytes) are
   shuffled, never raw rows;
3. **rollup** (optional), keyed by ``(model, version, long window)``: hours into days.

Only the merged profiles and the quarantined rows come back to the driver, to be stored exactly
as :func:`vigil.pipeline.profile_paths` stores them (same replace-not-merge rules).

Skew: a model with 1,000x the traffic of another is spread over as many tasks as its files
have splits (Spark splits files by bytes), and every task holds at most ``chunk_rows`` raw rows
at a time; the heavy model only adds partial profiles to step 2, which merges them.

Spark reads Parquet and JSON-lines files itself (``spark.read.parquet`` / ``spark.read.text``,
recursively, with each row's file from ``_metadata.file_path``, whose ``model=…/version=…``
folders fill and check those fields as the local reader does). Dask and DuckDB have no reader
that keeps Vigil's rules (mixed-type features, per-row reasons), so for them the map step runs
over the list of files and each worker reads its files with Vigil's own readers.

Fugue, PySpark and Dask are imported only inside this module's functions.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from vigil.core import ConfigError, MissingExtraError, VigilError, format_duration
from vigil.ingest import DEFAULT_LIMITS, IngestLimits
from vigil.pipeline.distributed_tasks import (
    DOT,
    KEY_COLUMNS,
    PARENT_COLUMNS,
    PARTIAL_FUGUE_SCHEMA,
    PROFILE,
    READ,
    SOURCE_COLUMN,
    TEXT_COLUMN,
    local_path,
    merge_partials,
    profile_files,
    profile_tables,
    quarantined_rows,
    rollup_partials,
)
from vigil.pipeline.profiling import (
    TOP_REASONS,
    ModelCounts,
    ProfilingSummary,
    reason_kind,
    store_quarantined,
)
from vigil.profile import Profile, ProfileSpec
from vigil.store import Store

logger = logging.getLogger(__name__)

ENGINES = ("local", "duckdb", "dask", "spark")
"""``local`` is :func:`vigil.pipeline.profile_paths` (no Fugue); the others run through Fugue."""
SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
"""What :func:`spark_session` sets unless ``conf`` says otherwise. Step 2 shuffles only
partial profiles (a few per model-hour), so Spark's default of 200 shuffle partitions is mostly
empty tasks; raise it on a cluster with many cores."""
_PARQUET = (".parquet", ".pq")
_JSON_LINES = (".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")


def profile_on_engine(
    paths: Sequence[str | Path],
    *,
    engine: Any,
    store: Store,
    spec: ProfileSpec,
    now: datetime,
    chunk_rows: int = 100_000,
    rollup_to: timedelta | None = None,
    limits: IngestLimits = DEFAULT_LIMITS,
) -> ProfilingSummary:
    """Profile ``paths`` on ``engine`` and store the profiles and quarantined rows.

    ``engine`` is ``"spark"``, ``"dask"`` or ``"duckdb"``, or an engine object Fugue accepts (a
    ``SparkSession``, a Dask ``Client``, a Fugue ``ExecutionEngine``). With ``rollup_to`` (e.g.
    one day) the engine also rolls the windows up and both levels are stored. Returns the same
    summary as the local path; rows read = profiled + quarantined is checked, per source read.
    ``limits`` are ``[ingest]``'s, the field map of logs of another shape included: every task
    applies them as the local readers do.
    """
    fa = _fugue_api()

    if not paths:
        raise ConfigError("no input paths given; name at least one file or folder")
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be >= 1, got {chunk_rows!r}")
    if rollup_to is not None and (rollup_to <= spec.window or rollup_to % spec.window):
        raise ConfigError(
            f"rollup_to={format_duration(rollup_to)} must be a multiple of the window "
            f"{format_duration(spec.window)} and longer than it"
        )
    sources = tuple(str(path) for path in paths)
    with _engine_object(engine) as engine_object, fa.engine_context(engine_object) as fugue_engine:
        partials = _map_step(fugue_engine, sources, spec, now, chunk_rows, rollup_to, limits)
        partials = fa.persist(partials)
        outcome = fa.as_arrow(_of_kind(partials, PROFILE, keep=False))
        merged = fa.transform(
            _of_kind(partials, PROFILE, keep=True),
            _merge_step(rollup_to),
            schema=PARTIAL_FUGUE_SCHEMA,
            partition={"by": KEY_COLUMNS, "algo": "coarse"},
        )
        levels = [fa.persist(merged) if rollup_to is not None else merged]
        if rollup_to is not None:
            levels.append(
                fa.transform(
                    levels[0],
                    _rollup_step(rollup_to),
                    schema=PARTIAL_FUGUE_SCHEMA,
                    partition={"by": PARENT_COLUMNS, "algo": "coarse"},
                )
            )
        profiles = [
            Profile.from_bytes(blob)
            for level in levels
            for blob in fa.as_arrow(fa.select_columns(level, ["blob"])).column("blob").to_pylist()
        ]
        if _is_spark(fugue_engine):  # a long-lived session should not keep this run's cache
            for frame in (partials, levels[0]):
                fa.get_native_as_df(frame).unpersist()
    return _store(outcome, profiles, store=store, spec=spec, now=now, sources=sources)


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """A ``SparkSession``; ``master`` is ``local[2]``, ``spark://host:7077``, ``yarn``...

    With ``master=None`` the master comes from ``spark-submit`` (or ``local[*]`` without it).
    A ``local`` master also gets this interpreter for its Python workers and the loopback
    address for the driver, so a laptop run needs no environment variables. ``conf`` entries
    override :data:`SPARK_DEFAULTS`.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise MissingExtraError("pyspark", "spark") from err
    settings = dict(SPARK_DEFAULTS)
    builder = SparkSession.builder.appName("vigil-profile")
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            settings.update(
                {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
            )
    for name, value in {**settings, **(conf or {})}.items():
        builder = builder.config(name, value)
    session = builder.getOrCreate()
    if master is not None and master.startswith("local"):
        # PySpark takes the workers' interpreter from PYSPARK_PYTHON only; set on the
        # context instead, so local workers run this interpreter (and see Vigil).
        session.sparkContext.pythonExec = sys.executable
    return session


def _fugue_api() -> Any:
    """``fugue.api``, typed ``Any``: its functions take and return any engine's frames."""
    try:
        return importlib.import_module("fugue.api")
    except ImportError as err:
        raise MissingExtraError("fugue", "spark") from err


def dask_client(address: str | None = None, *, processes: bool = False) -> Any:
    """A Dask ``Client``: of the scheduler at ``address``, else of a cluster in this process.

    The in-process default uses threads (``processes=False``): no worker processes to spawn
    on a shared machine. Close it when done (``with dask_client(...) as client``).
    """
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise MissingExtraError("dask", "spark") from err
    if address is not None:
        return Client(address)  # type: ignore[no-untyped-call]
    return Client(processes=processes, dashboard_address=None)  # type: ignore[no-untyped-call]


@contextmanager
def _engine_object(engine: Any) -> Iterator[Any]:
    """``engine`` as Fugue takes it; an engine made here from a name is closed here."""
    if not isinstance(engine, str):
        yield engine
        return
    if engine not in ENGINES or engine == "local":
        names = ", ".join(name for name in ENGINES if name != "local")
        raise ConfigError(f"unknown engine {engine!r}; use one of {names}")
    if engine == "spark":
        yield spark_session()  # getOrCreate: the session outlives the call, as Spark expects
    elif engine == "dask":
        with dask_client() as client:
            yield client
    else:
        try:
            import duckdb  # noqa: F401
        except ImportError as err:
            raise MissingExtraError("duckdb", "spark") from err
        yield engine


def _is_spark(fugue_engine: Any) -> bool:
    return type(fugue_engine).__module__.startswith("fugue_spark")


def _map_step(
    fugue_engine: Any,
    sources: Sequence[str],
    spec: ProfileSpec,
    now: datetime,
    chunk_rows: int,
    rollup_to: timedelta | None,
    limits: IngestLimits,
) -> Any:
    fa = _fugue_api()

    if _is_spark(fugue_engine):
        frames = _spark_frames(fugue_engine.spark_session, sources)

        def profile_rows(tables: Iterable[pa.Table]) -> Iterable[pa.Table]:
            yield from profile_tables(
                tables,
                spec=spec,
                now=now,
                chunk_rows=chunk_rows,
                rollup_to=rollup_to,
                limits=limits,
            )

        outputs = [
            fa.transform(frame, profile_rows, schema=PARTIAL_FUGUE_SCHEMA) for frame in frames
        ]
        result = outputs[0]
        for other in outputs[1:]:
            result = fa.union(result, other, distinct=False)
        return result

    tasks = _file_tasks(sources)

    def read_and_profile(table: pa.Table) -> Iterable[pa.Table]:
        yield from profile_files(
            table, spec=spec, now=now, chunk_rows=chunk_rows, rollup_to=rollup_to, limits=limits
        )

    return fa.transform(
        tasks,
        read_and_profile,
        schema=PARTIAL_FUGUE_SCHEMA,
        partition={
            "num": max(1, min(tasks.num_rows, 4 * fa.get_current_parallelism())),
            "algo": "even",
        },
    )


def _merge_step(rollup_to: timedelta | None) -> Any:
    def merge(table: pa.Table) -> pa.Table:
        return merge_partials(table, rollup_to=rollup_to)

    return merge


def _rollup_step(to: timedelta) -> Any:
    def roll(table: pa.Table) -> pa.Table:
        return rollup_partials(table, to=to)

    return roll


def _of_kind(frame: Any, kind: str, *, keep: bool) -> Any:
    """The rows of ``frame`` whose ``kind`` is (or, with ``keep=False``, is not) ``kind``.

    A map step rather than ``fugue.api.filter``, which needs a SQL layer on some engines.
    """
    fa = _fugue_api()

    def select(table: pa.Table) -> pa.Table:
        same = pc.equal(table.column("kind"), kind)
        return table.filter(same if keep else pc.invert(same))

    return fa.transform(frame, select, schema=PARTIAL_FUGUE_SCHEMA)


def _spark_frames(session: Any, sources: Sequence[str]) -> list[Any]:
    """Spark's own readers over ``sources``: one frame for Parquet, one for JSON lines.

    ``recursiveFileLookup`` reads nested folders without Spark's partition discovery, so a
    record's ``model`` column is never silently replaced by its folder's: Vigil compares the
    two itself (from each row's file path) and quarantines disagreements.
    """
    from pyspark.sql import functions as sf

    frames = []
    parquet, json_lines = _split_by_format(sources)
    if parquet:
        reader = session.read.option("recursiveFileLookup", "true").option("mergeSchema", "true")
        frame = reader.option("pathGlobFilter", "*.{parquet,pq}").parquet(*parquet)
        if "timestamp" in frame.columns and frame.schema["timestamp"].dataType.typeName() == (
            "timestamp"
        ):
            # An instant (UTC-adjusted in the file): as epoch seconds, which Vigil reads as
            # UTC, instead of the zone-less arrow timestamps Spark would hand the workers.
            seconds = sf.unix_micros(sf.col("timestamp")) / sf.lit(1_000_000.0)
            frame = frame.withColumn("timestamp", seconds)
        dotted = {name: name.replace(".", DOT) for name in frame.columns if "." in name}
        if dotted:
            frame = frame.withColumnsRenamed(dotted)
        frames.append(frame.withColumn(SOURCE_COLUMN, sf.col("_metadata.file_path")))
    if json_lines:
        reader = session.read.option("recursiveFileLookup", "true")
        frame = reader.option("pathGlobFilter", "*.{jsonl,jsonl.gz,ndjson,ndjson.gz}").text(
            *json_lines
        )
        frames.append(
            frame.select(sf.col(TEXT_COLUMN), sf.col("_metadata.file_path").alias(SOURCE_COLUMN))
        )
    return frames


def _split_by_format(sources: Sequence[str]) -> tuple[list[str], list[str]]:
    """Which sources hold Parquet and which JSON lines (a folder may hold both)."""
    parquet: list[str] = []
    json_lines: list[str] = []
    for source in sources:
        path = Path(local_path(source))
        if "://" in source and not source.startswith("file:"):
            (json_lines if source.lower().endswith(_JSON_LINES) else parquet).append(source)
            continue
        files = [path] if path.is_file() else list(_log_files(path))
        if any(file.name.lower().endswith(_PARQUET) for file in files):
            parquet.append(os.fspath(path))
        if any(file.name.lower().endswith(_JSON_LINES) for file in files):
            json_lines.append(os.fspath(path))
    return parquet, json_lines


def _file_tasks(sources: Sequence[str]) -> pa.Table:
    """One row per log file: its path and the folder it was found under (for Hive values)."""
    paths: list[str] = []
    roots: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_file():
            paths.append(os.fspath(path))
            roots.append("")
            continue
        for file in _log_files(path):
            paths.append(os.fspath(file))
            roots.append(os.fspath(path))
    return pa.table({"path": paths, "root": roots})


def _log_files(root: Path) -> Iterable[Path]:
    if not root.is_dir():
        raise ConfigError(
            f"{os.fspath(root)!r} does not exist"
            if not root.exists()
            else f"{os.fspath(root)!r} is neither a log file nor a folder"
        )
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(name for name in dirs if not name.startswith((".", "_")))
        for name in sorted(files):
            if not name.startswith((".", "_")) and name.lower().endswith(_PARQUET + _JSON_LINES):
                yield Path(folder) / name


def _store(
    outcome: pa.Table,
    profiles: Sequence[Profile],
    *,
    store: Store,
    spec: ProfileSpec,
    now: datetime,
    sources: tuple[str, ...],
) -> ProfilingSummary:
    quarantined = quarantined_rows(outcome)
    reads = outcome.filter(pc.equal(outcome.column("kind"), READ))
    read_sources = sorted(set(reads.column("source").to_pylist()))
    rows_read = int(pc.sum(reads.column("rows")).as_py() or 0)
    store.quarantine.delete(read_sources)
    store_quarantined(store, quarantined, window=spec.window, now=now)
    written = store.profiles.put(profiles, now=now)
    rows_profiled: Counter[str] = Counter()
    for profile in profiles:
        if profile.key.window.duration == spec.window:
            rows_profiled[profile.key.model] += profile.rows
    rows_quarantined = Counter(row.model or "" for row in quarantined)
    reasons: dict[str, Counter[str]] = {}
    for row in quarantined:
        reasons.setdefault(row.model or "", Counter())[reason_kind(row.reason)] += 1
    models = tuple(
        sorted(
            ModelCounts(
                model=model,
                rows_read=rows_profiled[model] + rows_quarantined[model],
                rows_profiled=rows_profiled[model],
                rows_quarantined=rows_quarantined[model],
                reasons=tuple(reasons.get(model, Counter()).most_common(TOP_REASONS)),
            )
            for model in set(rows_profiled) | set(rows_quarantined)
        )
    )
    summary = ProfilingSummary(sources=sources, models=models, profiles_written=written)
    if summary.rows_read != rows_read:
        raise VigilError(
            f"the engine read {rows_read} rows but accounted for {summary.rows_read} "
            f"({summary.rows_profiled} profiled + {summary.rows_quarantined} quarantined)"
        )
    for counts in models:
        logger.info(
            "profiled on engine model=%s window=%s rows_read=%d rows_profiled=%d "
            "rows_quarantined=%d",
            counts.model,
            format_duration(spec.window),
            counts.rows_read,
            counts.rows_profiled,
            counts.rows_quarantined,
        )
    return summary
