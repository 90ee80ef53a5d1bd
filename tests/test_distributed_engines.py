"""Distributed profiling (Spark, Dask, DuckDB through Fugue) equals the local engine.

The inputs are written here: a Hive-partitioned JSON-lines folder (a heavy model with 1,000x
the rows of a light one, over 30 hours, records that rely on their folder for ``model``, and
broken lines) and a Parquet file with its own broken rows. Each engine's stored profiles are
compared with :func:`vigil.pipeline.profile_paths`'s: counts exactly, moments within float
rounding, quantile and distinct sketches within their stated error. Spark runs in local[2]
with one session for the whole module (startup is slow and the machine is shared).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from vigil.core import ProfileKey
from vigil.pipeline import profile_paths
from vigil.profile import ColumnProfile, Profile, ProfileSpec
from vigil.store import MemoryStore

START = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, tzinfo=UTC)
HOURS = 30
HEAVY_ROWS = 3_000
LIGHT_ROWS = 3
SPEC = ProfileSpec()
# Engine internals (dask's groupby on pandas, fugue's pandas calls) warn about their own
# deprecations; Vigil's code is still held to warnings-as-errors by the other tests.
library_warnings = pytest.mark.filterwarnings("ignore::FutureWarning")


def _record(model: str, i: int, rows: int, rng: np.random.Generator) -> dict[str, Any]:
    moment = START + timedelta(seconds=HOURS * 3600 * i / rows)
    return {
        "version": "v1",
        "timestamp": moment.isoformat().replace("+00:00", "Z"),
        "request_id": f"{model}-{i}",
        "host": f"h{i % 3}",
        "features": {
            "x": float(rng.normal(3.0, 2.0)),
            "colour": str(rng.choice(["red", "green", "blue"])),
            "flag": bool(i % 4 == 0),
        },
        "outputs": {"score": float(rng.random())},
        "latency_ms": float(rng.exponential(20.0)),
        "tags": {"region": "eu" if i % 2 else "us"},
    }


def _write_inputs(root: Path) -> Path:
    rng = np.random.default_rng(7)
    for model, rows in (("heavy", HEAVY_ROWS), ("light", LIGHT_ROWS)):
        folder = root / f"model={model}" / "version=v1"
        folder.mkdir(parents=True)
        lines = []
        for i in range(rows):
            record = _record(model, i, rows, rng)
            if i % 2:  # half of the records name their model, the rest rely on the folder
                record["model"] = model
            lines.append(json.dumps(record))
        if model == "heavy":
            lines += [
                "{not json",
                json.dumps({**_record(model, 0, 1, rng), "latency_ms": -1.0}),
                json.dumps({**_record(model, 0, 1, rng), "model": "light"}),  # wrong folder
                "",
            ]
        (folder / "part-0.jsonl").write_text("\n".join(lines) + "\n")
    (root / "_SUCCESS").write_text("")
    records = [_record("pq", i, 200, rng) for i in range(200)]
    for record in records:
        record["timestamp"] = datetime.fromisoformat(record["timestamp"])
        record["model"] = "pq"
        record["features.depth"] = float(len(record["request_id"]))  # a flattened feature
    records[5]["latency_ms"] = -3.0
    records[9]["model"] = ""
    pq.write_table(pa.Table.from_pylist(records), root / "extra.parquet", row_group_size=64)
    return root


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_inputs(tmp_path_factory.mktemp("distributed") / "logs")


@pytest.fixture(scope="module")
def local_store(inputs: Path) -> MemoryStore:
    store = MemoryStore()
    profile_paths([inputs], store=store, spec=SPEC, now=NOW)
    return store


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark")
    from vigil.pipeline.distributed import spark_session

    saved = {name: os.environ.get(name) for name in ("PYSPARK_PYTHON", "SPARK_LOCAL_IP")}
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    # Small file splits, so the heavy model's file is read by several tasks whose partial
    # profiles must merge into the local engine's.
    session = spark_session(
        "local[2]",
        {"spark.sql.files.maxPartitionBytes": "262144", "spark.sql.shuffle.partitions": "2"},
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _profiles(store: MemoryStore, length: timedelta) -> dict[ProfileKey, Profile]:
    return {profile.key: profile for profile in store.profiles.get(duration=length)}


def assert_same_column(local: ColumnProfile, engine: ColumnProfile, where: str) -> None:
    for name in ("present", "nulls", "nans", "pos_inf", "neg_inf"):
        assert getattr(engine, name) == getattr(local, name), f"{where}: {name}"
    assert dict(engine.type_counts) == dict(local.type_counts), where
    assert engine.moments.count == local.moments.count, where
    if local.moments.count:
        scale = max(1.0, abs(local.moments.mean))
        assert engine.moments.mean == pytest.approx(local.moments.mean, rel=1e-9, abs=1e-12 * scale)
        assert engine.moments.variance == pytest.approx(local.moments.variance, rel=1e-9, abs=1e-9)
        assert (engine.moments.min, engine.moments.max) == (local.moments.min, local.moments.max)
    assert engine.quantiles.n == local.quantiles.n, where
    if local.quantiles.n:
        # Both sketches are within eps of the true ranks, so the engine's q-quantile lies
        # within 2 eps of rank q by the local sketch (ties: between its rank below and at it).
        tolerance = 2 * local.quantiles.normalized_rank_error + 1.0 / local.quantiles.n
        for q in (0.1, 0.5, 0.9, 0.99):
            value = engine.quantiles.quantile(q)
            below = local.quantiles.rank(float(np.nextafter(value, -np.inf)))
            at = local.quantiles.rank(value)
            assert below - tolerance <= q <= at + tolerance, f"{where}: q={q}"
    rse = local.distinct.relative_standard_error
    truth = local.distinct.estimate()
    assert engine.distinct.estimate() == pytest.approx(truth, rel=6 * rse, abs=1.0), where


def assert_same_profiles(local: MemoryStore, engine: MemoryStore, length: timedelta) -> None:
    expected = _profiles(local, length)
    actual = _profiles(engine, length)
    assert sorted(actual) == sorted(expected)
    for key, want in expected.items():
        got = actual[key]
        where = f"{key.model}@{key.version} {key.window}"
        assert got.rows == want.rows, where
        assert dict(got.events) == dict(want.events), where
        assert got.requests == want.requests, where
        assert (got.first_seen, got.last_seen) == (want.first_seen, want.last_seen), where
        assert sorted(got.features) == sorted(want.features), where
        for name in want.features:
            assert_same_column(want.features[name], got.features[name], f"{where} {name}")
        for name in want.outputs:
            assert_same_column(want.outputs[name], got.outputs[name], f"{where} {name}")
        assert_same_column(want.latency, got.latency, f"{where} latency")
        assert got.latency.histogram == want.latency.histogram, where
        assert sorted(got.host_latency) == sorted(want.host_latency), where
        for tag, items in want.tags.items():
            assert got.tags[tag].total == items.total, where
        rse = want.request_ids.relative_standard_error
        assert got.request_ids.estimate() == pytest.approx(
            want.request_ids.estimate(), rel=6 * rse, abs=1.0
        )


def _quarantine(store: MemoryStore, *, positions: bool) -> Counter[tuple[Any, ...]]:
    return Counter(
        (Path(row.source).name, row.reason, row.model, row.position if positions else None)
        for row in store.quarantine.get(limit=100_000)
    )


def _check_engine(engine: Any, inputs: Path, local_store: MemoryStore, *, positions: bool) -> None:
    from vigil.pipeline.distributed import profile_on_engine

    store = MemoryStore()
    summary = profile_on_engine(
        [inputs],
        engine=engine,
        store=store,
        spec=SPEC,
        now=NOW,
        chunk_rows=250,
        rollup_to=timedelta(days=1),
    )
    local_summary = profile_paths([inputs], store=MemoryStore(), spec=SPEC, now=NOW)
    assert summary.models == local_summary.models
    assert summary.rows_read == HEAVY_ROWS + LIGHT_ROWS + 3 + 200
    assert_same_profiles(local_store, store, SPEC.window)
    assert _quarantine(store, positions=positions) == _quarantine(local_store, positions=positions)
    days = _profiles(store, timedelta(days=1))
    hours = _profiles(store, SPEC.window)
    assert {key.window.start.date() for key in days} == {
        START.date(),
        (START + timedelta(1)).date(),
    }
    for model in ("heavy", "light", "pq"):
        assert sum(p.rows for k, p in days.items() if k.model == model) == sum(
            p.rows for k, p in hours.items() if k.model == model
        )


@pytest.mark.slow
@library_warnings
def test_spark_local_equals_local_engine(
    spark: Any, inputs: Path, local_store: MemoryStore
) -> None:
    # Spark splits files by bytes and does not know line numbers: positions are not compared.
    _check_engine(spark, inputs, local_store, positions=False)


@pytest.mark.slow
@library_warnings
@pytest.mark.parametrize("engine", ["dask", "duckdb"])
def test_file_engines_equal_local_engine(
    engine: str, inputs: Path, local_store: MemoryStore
) -> None:
    pytest.importorskip("dask.distributed" if engine == "dask" else "duckdb")
    _check_engine(engine, inputs, local_store, positions=True)


@pytest.mark.slow
@library_warnings
@pytest.mark.parametrize("engine", ["dask", "duckdb"])
def test_a_run_whose_every_row_is_quarantined_reports_them(engine: str, tmp_path: Path) -> None:
    """No profile at all is a result, not a crash: every row is in the quarantine, with its reason.

    (DuckDB stored the all-null profile column as integers, and the run failed on the cast.)
    """
    pytest.importorskip("dask.distributed" if engine == "dask" else "duckdb")
    from vigil.pipeline.distributed import profile_on_engine

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "bad.jsonl").write_text(
        '{"model": "m", "timestamp": "not-a-time", "features": {"a": 1}}\n'
        '{"model": "m", "features": {"a": 2}}\n'
        "not json\n"
    )
    store, local_store = MemoryStore(), MemoryStore()
    summary = profile_on_engine([logs], engine=engine, store=store, spec=SPEC, now=NOW)
    local = profile_paths([logs], store=local_store, spec=SPEC, now=NOW)
    assert summary.models == local.models
    assert (summary.rows_read, summary.rows_profiled, summary.rows_quarantined) == (3, 0, 3)
    assert summary.profiles_written == 0
    assert _quarantine(store, positions=True) == _quarantine(local_store, positions=True)
    assert sum(_quarantine(store, positions=True).values()) == 3


def test_a_task_holds_at_most_chunk_rows_of_a_skewed_model(
    inputs: Path, local_store: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The map step profiles a heavy partition in pieces and merges them; same result."""
    from vigil.pipeline import distributed_tasks

    seen: list[int] = []
    real = distributed_tasks.profile_batch

    def recording(batch: Any, spec: ProfileSpec) -> dict[ProfileKey, Profile]:
        seen.append(batch.num_rows)
        return real(batch, spec)

    monkeypatch.setattr(distributed_tasks, "profile_batch", recording)
    path = inputs / "model=heavy" / "version=v1" / "part-0.jsonl"
    texts = path.read_text().splitlines()
    lines = pa.table(
        {"value": texts, distributed_tasks.SOURCE_COLUMN: [f"file:{path}"] * len(texts)}
    )
    out = pa.concat_tables(
        distributed_tasks.profile_tables(
            lines.to_batches(max_chunksize=1000), spec=SPEC, now=NOW, chunk_rows=100
        )
    )
    assert max(seen) <= 100
    assert len(seen) >= HEAVY_ROWS // 100
    merged = distributed_tasks.merge_partials(out.filter(pc.equal(out["kind"], "profile")))
    profiles = [Profile.from_bytes(blob) for blob in merged.column("blob").to_pylist()]
    by_window = {p.key: p for p in profiles}
    expected = {k: p for k, p in _profiles(local_store, SPEC.window).items() if k.model == "heavy"}
    # merge_partials merges per key; every hour of the heavy model is there once.
    assert sorted(by_window) == sorted(expected)
    assert all(by_window[key].rows == expected[key].rows for key in expected)
    quarantined = out.filter(pc.equal(out["kind"], "quarantined"))
    reads = out.filter(pc.equal(out["kind"], "read"))
    assert sum(reads.column("rows").to_pylist()) == HEAVY_ROWS + 3
    assert quarantined.num_rows == 3
    assert sum(p.rows for p in profiles) == HEAVY_ROWS


def test_unknown_engine_is_a_config_error(inputs: Path) -> None:
    from vigil.core import ConfigError
    from vigil.pipeline.distributed import profile_on_engine

    with pytest.raises(ConfigError, match="unknown engine 'hadoop'"):
        profile_on_engine([inputs], engine="hadoop", store=MemoryStore(), spec=SPEC, now=NOW)
    with pytest.raises(ConfigError, match="rollup_to"):
        profile_on_engine(
            [inputs],
            engine="duckdb",
            store=MemoryStore(),
            spec=SPEC,
            now=NOW,
            rollup_to=timedelta(minutes=90),
        )


@pytest.mark.slow
@library_warnings
def test_cli_profile_on_duckdb_with_rollup(inputs: Path, tmp_path: Path) -> None:
    pytest.importorskip("duckdb")
    from typer.testing import CliRunner

    from vigil.cli.app import app
    from vigil.store import SqlStore

    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    result = CliRunner().invoke(
        app, ["profile", str(inputs), "--db", url, "--engine", "duckdb", "--rollup-to", "1d"]
    )
    assert result.exit_code == 0, result.output
    store = SqlStore(url)
    try:
        hours = store.profiles.get(model="heavy", duration=timedelta(hours=1))
        days = store.profiles.get(model="heavy", duration=timedelta(days=1))
    finally:
        store.close()
    assert sum(p.rows for p in hours) == HEAVY_ROWS
    assert sum(p.rows for p in days) == HEAVY_ROWS
    assert len(days) == 2  # 30 hours from 06:00 span two days


def test_cli_rollup_to_needs_an_engine(inputs: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.cli.app import app

    url = f"sqlite:///{tmp_path / 'vigil.db'}"
    result = CliRunner().invoke(app, ["profile", str(inputs), "--db", url, "--rollup-to", "1d"])
    assert result.exit_code == 1
    assert "--rollup-to needs --engine" in result.output


# Logs of another shape ([ingest.fields]): every engine maps them as the local readers do.
FIELDS = {
    "timestamp": "ts_ms",
    "timestamp_unit": "ms",
    "model": "service.name",
    "version": "service.release",
    "request_id": "trace_id",
    "events": {"feedback": "label"},
    "host": "node",
    "latency": "duration_us",
    "latency_unit": "us",
    "features": "request.inputs",
    "outputs": "response.scores",
    "tags": "meta",
}
FOREIGN_ROWS = 600


def _foreign(i: int, rng: np.random.Generator) -> dict[str, Any]:
    moment = START + timedelta(seconds=HOURS * 3600 * i / FOREIGN_ROWS)
    return {
        "ts_ms": int(moment.timestamp() * 1000),
        "service": {"name": f"m{i % 2}", "release": "v1"},
        "trace_id": f"t-{i}",
        "event": "completion",
        "node": f"h{i % 3}",
        "duration_us": int(rng.exponential(20_000.0)),
        "request": {"inputs": {"x": float(rng.normal(3.0, 2.0)), "colour": f"c{i % 4}"}},
        "response": {"scores": {"score": float(rng.random())}},
        "meta": {"region": "eu" if i % 2 else "us"},
    }


def _write_foreign(root: Path) -> Path:
    """One line per request in another shape (nested, renamed, ms times, us latencies), as JSON
    lines and as Parquet with struct columns, with rows the map does not fit."""
    rng = np.random.default_rng(11)
    rows = [_foreign(i, rng) for i in range(FOREIGN_ROWS)]
    unfit = [
        {**_foreign(0, rng), "service": "m0"},  # a str where the map expects an object
        {**_foreign(1, rng), "event": "retry"},  # an event the map does not know
        {**_foreign(2, rng), "ts_ms": None},  # no time
    ]
    feedback = {"ts_ms": rows[3]["ts_ms"], "service": {"name": "m1"}, "trace_id": "t-3", "label": 1}
    lines = [json.dumps(r) for r in (*rows[:400], *unfit, {**feedback, "event": "feedback"})]
    (root / "json").mkdir(parents=True)
    (root / "json" / "part-0.jsonl").write_text("\n".join(lines) + "\n")
    (root / "pq").mkdir()
    pq.write_table(pa.Table.from_pylist(rows[400:]), root / "pq" / "part-0.parquet")
    return root


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_foreign(tmp_path_factory.mktemp("foreign") / "logs")


@pytest.fixture(scope="module")
def foreign_local(foreign: Path) -> MemoryStore:
    store = MemoryStore()
    profile_paths([foreign], store=store, spec=SPEC, now=NOW, limits=_mapped_limits())
    return store


def _mapped_limits() -> Any:
    from vigil.ingest import FieldMap, IngestLimits

    return IngestLimits(fields=FieldMap.from_table(FIELDS))


def _reasons(store: MemoryStore) -> Counter[str]:
    return Counter(row.reason for row in store.quarantine.get(limit=100_000))


def test_the_local_readers_map_logs_of_another_shape(foreign_local: MemoryStore) -> None:
    """The reference the engines are held to: every request profiled, the unfit rows
    quarantined with reasons in the log's own names."""
    hours = _profiles(foreign_local, SPEC.window)
    assert sum(p.requests for p in hours.values()) == FOREIGN_ROWS
    assert {k.model for k in hours} == {"m0", "m1"}
    assert sum(p.rows for p in hours.values()) == FOREIGN_ROWS + 1  # and the label line
    reasons = _reasons(foreign_local)
    assert sum(reasons.values()) == 3
    assert any("'service' is a str, not an object" in r for r in reasons)
    assert any("event 'retry'" in r for r in reasons)


def test_engine_tasks_apply_the_field_map(foreign: Path, foreign_local: MemoryStore) -> None:
    """Step 1 as Spark feeds it (JSON lines as text, Parquet as struct columns) and as Dask and
    DuckDB do (a file each), with the map: the local readers' profiles and reasons; without
    it, nothing of that shape is read as a request."""
    from vigil.pipeline import distributed_tasks as tasks

    line_file = foreign / "json" / "part-0.jsonl"
    texts = line_file.read_text().splitlines()
    source = tasks.SOURCE_COLUMN
    as_text = pa.table({"value": texts, source: [f"file:{line_file}"] * len(texts)})
    pq_file = foreign / "pq" / "part-0.parquet"
    structs = pq.read_table(pq_file)
    as_columns = structs.append_column(source, pa.array([f"file:{pq_file}"] * structs.num_rows))
    files = pa.table({"path": [str(line_file), str(pq_file)], "root": [str(foreign)] * 2})

    def stored(outputs: list[pa.Table]) -> MemoryStore:
        out = pa.concat_tables(outputs)
        merged = tasks.merge_partials(out.filter(pc.equal(out["kind"], "profile")))
        store = MemoryStore()
        blobs = merged.column("blob").to_pylist()
        store.profiles.put((Profile.from_bytes(b) for b in blobs), now=NOW)
        store.quarantine.put(tasks.quarantined_rows(out), now=NOW)
        return store

    limits = _mapped_limits()
    common: dict[str, Any] = {"spec": SPEC, "now": NOW, "chunk_rows": 128}
    spark_like = stored([*tasks.profile_tables([as_text, as_columns], limits=limits, **common)])
    file_tasks = stored([*tasks.profile_files(files, limits=limits, **common)])
    for store in (spark_like, file_tasks):
        assert_same_profiles(foreign_local, store, SPEC.window)
        assert _reasons(store) == _reasons(foreign_local)
    unmapped = stored([*tasks.profile_tables([as_text, as_columns], **common)])
    assert _profiles(unmapped, SPEC.window) == {}
    assert sum(_reasons(unmapped).values()) == len(texts) + structs.num_rows


@pytest.mark.slow
@library_warnings
def test_spark_and_duckdb_apply_the_field_map(
    spark: Any, foreign: Path, foreign_local: MemoryStore
) -> None:
    from vigil.pipeline.distributed import profile_on_engine

    pytest.importorskip("duckdb")
    for engine in (spark, "duckdb"):
        store = MemoryStore()
        summary = profile_on_engine(
            [foreign], engine=engine, store=store, spec=SPEC, now=NOW, limits=_mapped_limits()
        )
        assert summary.rows_read == FOREIGN_ROWS + 4
        assert summary.rows_quarantined == 3
        assert_same_profiles(foreign_local, store, SPEC.window)
        assert _reasons(store) == _reasons(foreign_local)


@pytest.mark.slow
@library_warnings
@pytest.mark.parametrize("engine", ["local", "duckdb"])
def test_cli_profile_reads_the_field_map_of_its_config(
    foreign: Path, tmp_path: Path, engine: str
) -> None:
    """``vigil profile --config``: its ``[ingest.fields]`` on every engine; without the
    config, logs of that shape are quarantined whole."""
    pytest.importorskip("duckdb")
    from typer.testing import CliRunner

    from vigil.cli.app import app
    from vigil.store import SqlStore

    config = tmp_path / "vigil.toml"
    table = "".join(f"{k} = {json.dumps(v)}\n" for k, v in FIELDS.items() if k != "events")
    config.write_text(f'[ingest.fields]\n{table}events = {{ feedback = "label" }}\n')
    for name, extra in [("mapped", ["--config", str(config)]), ("plain", [])]:
        url = f"sqlite:///{tmp_path / name}.db"
        result = CliRunner().invoke(
            app, ["profile", str(foreign), "--db", url, "--engine", engine, *extra]
        )
        assert result.exit_code == 0, result.output
        store = SqlStore(url)
        try:
            requests = sum(p.requests for p in store.profiles.get(duration=SPEC.window))
        finally:
            store.close()
        assert requests == (FOREIGN_ROWS if name == "mapped" else 0)
