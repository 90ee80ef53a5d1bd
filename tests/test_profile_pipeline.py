"""End to end through the CLI: files -> `vigil profile` -> the store -> `vigil rollup`/`profiles`.

Runs on SQLite and on a real PostgreSQL (the ``store_url`` fixture). The inputs are small
JSONL and Parquet files written here, with known valid and broken rows, so every count below is
derived from what the test wrote.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from vigil.cli.app import app
from vigil.store import SqlStore

START = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)  # three hours that straddle two days
HOURS = 3
BAD_LINES = ["{not json", json.dumps({"version": "v1", "timestamp": "2026-11-20T22:00:00Z"})]


def _record(model: str, i: int) -> dict[str, object]:
    moment = START + timedelta(minutes=7 * i)
    return {
        "model": model,
        "version": "v1" if i % 3 else "v2",
        "timestamp": moment.isoformat(),
        "request_id": f"{model}-{i}",
        "event": "prediction",
        "features": {"age": 20 + i % 50, "country": ["DE", "FR", "US"][i % 3]},
        "outputs": {"score": (i % 10) / 10},
        "latency_ms": 5.0 + i % 7,
    }


def _records(model: str, count: int) -> list[dict[str, object]]:
    records = [_record(model, i) for i in range(count)]
    assert all(
        START <= datetime.fromisoformat(str(r["timestamp"])) < START + timedelta(hours=HOURS)
        for r in records
    )
    return records


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[list[Path], Counter[str]]:
    """A JSONL file (two models, two broken lines) and a Parquet file (one model)."""
    jsonl = tmp_path / "logs.jsonl"
    rows = _records("ranker", 20) + _records("fraud", 9)
    lines = [json.dumps(row) for row in rows]
    lines[5:5] = BAD_LINES
    jsonl.write_text("\n".join(lines) + "\n")
    parquet = tmp_path / "more.parquet"
    pq.write_table(pa.Table.from_pylist(_records("churn", 12)), parquet)
    expected = Counter({"ranker": 20, "fraud": 9, "churn": 12})
    return [jsonl, parquet], expected


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _snapshot(url: str) -> list[tuple[object, ...]]:
    store = SqlStore(url)
    try:
        return [
            (record.key, record.fingerprint, record.rows) for record in store.profiles.records()
        ] + [tuple(count.__repr__() for count in store.quarantine.counts())]
    finally:
        store.close()


def test_profile_counts_rows_per_model_and_stores_profiles(
    store_url: str, inputs: tuple[list[Path], Counter[str]]
) -> None:
    paths, expected = inputs
    output = _invoke("profile", *map(str, paths), "--db", store_url, "--window", "1h")
    assert "ranker" in output and "quarantined" in output

    store = SqlStore(store_url)
    try:
        stored = store.profiles.get()
        per_model: Counter[str] = Counter()
        for profile in stored:
            per_model[profile.key.model] += profile.rows
            assert profile.key.window.duration == timedelta(hours=1)
        assert per_model == expected
        assert sum(count.rows for count in store.quarantine.counts()) == len(BAD_LINES)
        reasons = [row.reason for row in store.quarantine.get()]
        assert len(reasons) == len(BAD_LINES) and all(reasons)
    finally:
        store.close()


def test_rerunning_gives_the_same_store(
    store_url: str, inputs: tuple[list[Path], Counter[str]]
) -> None:
    paths, _ = inputs
    _invoke("profile", *map(str, paths), "--db", store_url)
    first = _snapshot(store_url)
    _invoke("profile", *map(str, paths), "--db", store_url)
    assert _snapshot(store_url) == first


def test_rollup_makes_daily_profiles_with_every_row(
    store_url: str, inputs: tuple[list[Path], Counter[str]]
) -> None:
    paths, _ = inputs
    _invoke("profile", *map(str, paths), "--db", store_url, "--window", "1h")
    _invoke("rollup", "--db", store_url, "--to", "1d")
    _invoke("rollup", "--db", store_url, "--to", "1d")  # twice: still no double count
    output = _invoke("rollup", "--db", store_url, "--since", "2026-11-21")
    # Only ranker reaches the second day (rows 18 and 19, at 00:06 and 00:13): versions v2, v1.
    assert "rolled 2 profiles up into 2 profiles" in output

    store = SqlStore(store_url)
    try:
        daily = store.profiles.get(duration=timedelta(days=1))
        hourly = store.profiles.get(duration=timedelta(hours=1))
    finally:
        store.close()
    assert {p.key.window.start.date() for p in daily} == {
        START.date(),
        START.date() + timedelta(days=1),
    }
    daily_rows = Counter[str]()
    for profile in daily:
        daily_rows[profile.key.model] += profile.rows
    hourly_rows = Counter[str]()
    for profile in hourly:
        hourly_rows[profile.key.model] += profile.rows
    assert daily_rows == hourly_rows


def test_profiles_lists_a_models_windows(
    store_url: str, inputs: tuple[list[Path], Counter[str]]
) -> None:
    paths, _ = inputs
    _invoke("profile", *map(str, paths), "--db", store_url)
    output = _invoke("profiles", "fraud", "--db", store_url)
    assert "v1" in output and "v2" in output and "2026-11-20 22:00" in output


def test_db_comes_from_the_flag_then_the_environment(
    tmp_path: Path, inputs: tuple[list[Path], Counter[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, _ = inputs
    from_env = f"sqlite:///{tmp_path}/env.db"
    from_flag = f"sqlite:///{tmp_path}/flag.db"
    monkeypatch.setenv("VIGIL_DB", from_env)
    _invoke("profile", *map(str, paths))
    _invoke("profile", *map(str, paths), "--db", from_flag)
    for url in (from_env, from_flag):
        store = SqlStore(url)
        assert store.profiles.models() == ["churn", "fraud", "ranker"]
        store.close()


def test_errors_exit_1_with_a_clear_message(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/vigil.db"
    missing = CliRunner().invoke(app, ["profile", str(tmp_path / "nope.jsonl"), "--db", db])
    assert missing.exit_code == 1
    assert "nope.jsonl" in missing.output
    assert str(tmp_path / "nope.jsonl") in missing.output  # one piece, however long
    bad_window = CliRunner().invoke(app, ["profile", str(tmp_path), "--window", "soon", "--db", db])
    assert bad_window.exit_code == 1 and "soon" in bad_window.output
    unknown = CliRunner().invoke(app, ["profiles", "ghost", "--db", db])
    assert unknown.exit_code == 1 and "ghost" in unknown.output
    bracketed = CliRunner().invoke(app, ["profiles", "[ghost]", "--db", db])
    assert bracketed.exit_code == 1 and "[ghost]" in bracketed.output  # text, not markup


def test_bench_store_prints_its_numbers(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/bench.db"
    args = ["bench", "store", "--db", db, "--rows", "300", "--hours", "3", "--models", "2"]
    output = _invoke(*args, "--series", "3", "--points", "5", "--json")
    numbers = json.loads(output)
    assert numbers["rows"] == 300 and numbers["series_points"] == 15
    assert 0 < numbers["profiles"] <= 2 * 3  # one per model and hour at most
    assert numbers["profile_rows_per_s"] > 0


def test_profile_segments_from_the_flag_add_up_and_a_rerun_keeps_them(
    store_url: str, inputs: tuple[list[Path], Counter[str]]
) -> None:
    paths, expected = inputs
    for _ in range(2):  # the second run replaces the first
        _invoke("profile", *map(str, paths), "--db", store_url, "--segment", "country")
        store = SqlStore(store_url)
        try:
            profiles = store.profiles.get()
        finally:
            store.close()
        assert sum(p.rows for p in profiles) == sum(expected.values())
        for profile in profiles:  # no row has a "country" tag: all in country=(none)
            assert {n: p.rows for n, p in profile.segments.items()} == {
                "country=(none)": profile.rows
            }
