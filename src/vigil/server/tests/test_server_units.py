"""Unit tests of the server's pieces: body parsing, spool files, metrics text, token checks."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from starlette.requests import Request

from vigil.core import SchemaError
from vigil.ingest import HivePartitionedReader
from vigil.pipeline.gauges import ModelGauges, VersionGauges
from vigil.report import Light
from vigil.server import HiveSpool, ServerCounters, metrics_registry, parse_body, render_metrics
from vigil.server.auth import COOKIE, Guard, Role, same_origin, session_value
from vigil.server.views import ModelSummary

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _record(model: str = "ranker", hour: int = 10, **extra: object) -> dict[str, object]:
    return {
        "model": model,
        "version": "v1",
        "timestamp": f"2026-11-25T{hour:02d}:15:00Z",
        "features": {"age": 31},
        **extra,
    }


def test_json_lines_positions_are_line_numbers_and_blank_lines_are_not_rows() -> None:
    lines = [
        orjson.dumps(_record()),
        b"",
        b"{not json",
        orjson.dumps({"version": "v1", "timestamp": "2026-11-25T10:00:00Z"}),
        orjson.dumps(_record(hour=11)),
    ]
    parsed = parse_body(b"\n".join(lines) + b"\n", "application/x-ndjson", source="t", now=NOW)
    assert parsed.rows == 4
    assert parsed.accepted == 2
    assert [row.position for row in parsed.quarantined] == [3, 4]
    assert "invalid JSON" in parsed.quarantined[0].reason
    assert "model" in parsed.quarantined[1].reason
    # Accepted lines are kept byte for byte, each in the hour folder of its own timestamp.
    assert parsed.groups == {
        ("ranker", "v1", "2026-11-25", "10"): [lines[0]],
        ("ranker", "v1", "2026-11-25", "11"): [lines[4]],
    }


def test_json_array_positions_are_indices_and_one_object_is_one_row() -> None:
    body = orjson.dumps([_record(), {"model": "ranker"}, _record(model="fraud")])
    parsed = parse_body(body, "application/json; charset=utf-8", source="t", now=NOW)
    assert (parsed.rows, parsed.accepted) == (3, 2)
    assert [row.position for row in parsed.quarantined] == [1]
    assert set(parsed.groups) == {
        ("ranker", "v1", "2026-11-25", "10"),
        ("fraud", "v1", "2026-11-25", "10"),
    }
    single = parse_body(orjson.dumps(_record()), "application/json", source="t", now=NOW)
    assert (single.rows, single.accepted) == (1, 1)


@pytest.mark.parametrize("body", [b"[1, 2", b'"text"', b"42"])
def test_a_json_body_that_is_not_records_is_an_error_naming_the_fix(body: bytes) -> None:
    with pytest.raises(SchemaError, match="JSON"):
        parse_body(body, "application/json", source="t", now=NOW)


def test_timestamps_too_far_ahead_of_now_are_rejected() -> None:
    parsed = parse_body(
        orjson.dumps([_record(), {**_record(), "timestamp": "2026-12-30T00:00:00Z"}]),
        "application/json",
        source="t",
        now=NOW,
    )
    assert parsed.accepted == 1
    assert [row.position for row in parsed.quarantined] == [1]


def test_hive_spool_files_are_complete_and_read_back_by_the_ingest_reader(tmp_path: Path) -> None:
    spool = HiveSpool(tmp_path)
    lines = [orjson.dumps(_record(model="a/b", hour=h)) for h in (9, 9, 10)]
    groups = {
        ("a/b", "v1", "2026-11-25", "09"): lines[:2],
        ("a/b", "v1", "2026-11-25", "10"): lines[2:],
    }
    assert spool.write(groups) == 3
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 2
    assert all(f.startswith("model=a%2Fb/version=v1/date=2026-11-25/hour=") for f in files)
    assert all(f.endswith(".jsonl") for f in files)  # no .tmp left behind
    chunks = list(HivePartitionedReader(tmp_path, now=NOW).read())
    assert sum(c.batch.num_rows for c in chunks) == 3
    assert not [q for c in chunks for q in c.quarantined]


def test_metrics_text_escapes_label_values_and_counts() -> None:
    counters = ServerCounters()
    counters.count_request("POST", "/v1/ingest", 200)
    counters.count_request("POST", "/v1/ingest", 200)
    counters.count_ingest(accepted=5, rejected=2, body_bytes=100)
    counters.count_throttled()
    hostile = 'a"b\\c\nd'
    version = VersionGauges(
        model=hostile, version="v1", window_start=NOW, rows=12.5, open_incidents={"traffic": 3}
    )
    summary = ModelSummary(
        model=hostile, status=Light.RED, lights={}, open_incidents=3, incidents=3,
        last_window_at=NOW, last_window_rows=12.5,
    )  # fmt: skip
    registry = metrics_registry(
        counters,
        read_gauges=lambda: [ModelGauges(model=hostile, versions=(version,))],
        read_summaries=lambda: [summary],
    )
    text = render_metrics(registry).decode()
    assert 'vigil_http_requests_total{method="POST",route="/v1/ingest",status="200"} 2.0' in text
    assert "vigil_ingest_rows_accepted_total 5.0" in text
    assert "vigil_ingest_rows_rejected_total 2.0" in text
    assert "vigil_ingest_throttled_total 1.0" in text
    escaped = 'model="a\\"b\\\\c\\nd"'
    assert f'vigil_model_open_incidents{{kind="traffic",{escaped},version="v1"}} 3.0' in text
    assert f'vigil_model_rows{{{escaped},version="v1"}} 12.5' in text
    assert f"vigil_model_health{{{escaped}}} 2.0" in text
    assert "\nvigil_model_requests{" not in text  # NaN: absent, not "NaN"
    # Every sample line is "name{labels} value" on one line: the newline did not split it.
    for line in text.splitlines():
        if not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            assert name and float(value) >= 0


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw})


def test_guard_roles_from_bearer_tokens_and_session_cookies() -> None:
    guard = Guard(token="write-secret", read_token="read-secret")
    assert guard.bearer_role(_request({"Authorization": "Bearer write-secret"})) is Role.WRITE
    assert guard.bearer_role(_request({"Authorization": "bearer read-secret"})) is Role.READ
    assert guard.bearer_role(_request({"Authorization": "Bearer write-secreT"})) is Role.NONE
    assert guard.bearer_role(_request({"Authorization": "Basic write-secret"})) is Role.NONE
    assert guard.bearer_role(_request({})) is Role.NONE
    cookie = {"Cookie": f"{COOKIE}={session_value('read-secret')}"}
    assert guard.cookie_role(_request(cookie)) is Role.READ
    assert guard.can_read(_request(cookie))
    assert not guard.can_read(_request({"Cookie": f"{COOKIE}=read-secret"}))
    assert Guard(token="w", read_token=None).can_read(_request({}))
    # The cookie proves the token without containing it.
    assert "write-secret" not in session_value("write-secret")


def test_same_origin_refuses_foreign_origins() -> None:
    assert same_origin(_request({"Host": "127.0.0.1:8000"}))
    assert same_origin(_request({"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"}))
    assert not same_origin(_request({"Host": "127.0.0.1:8000", "Origin": "http://evil.test"}))
    assert not same_origin(_request({"Host": "127.0.0.1:8000", "Origin": "null"}))


def test_spool_fsyncs_before_returning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(descriptor: int) -> None:
        synced.append(descriptor)
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    HiveSpool(tmp_path).write({("m", "", "2026-11-25", "10"): [b'{"model":"m"}']})
    # The file itself, then its folder (plus the folders that were created).
    assert len(synced) >= 2


def test_other_routes_refuse_large_bodies_declared_or_streamed(tmp_path: Path) -> None:
    import httpx

    from vigil.server import ServerSettings, create_app, serve_in_background
    from vigil.store import MemoryStore

    settings = ServerSettings(store_url="unused", spool_dir=tmp_path, token="t0ken")
    big = b"x" * (256 * 1024)

    def streamed() -> Iterator[bytes]:
        for offset in range(0, len(big), 8192):
            yield big[offset : offset + 8192]

    with serve_in_background(create_app(settings, store=MemoryStore())) as url:
        auth = {"Authorization": "Bearer t0ken", "Content-Type": "application/json"}
        assert httpx.post(f"{url}/v1/silences", content=big, headers=auth).status_code == 413
        assert httpx.post(f"{url}/v1/silences", content=streamed(), headers=auth).status_code == 413
        assert httpx.post(f"{url}/login", content=streamed()).status_code == 413
        metrics = httpx.get(f"{url}/metrics").text
        refused = [
            line
            for line in metrics.splitlines()
            if line.startswith("vigil_http_requests_total{") and 'status="413"}' in line
        ]
        assert sum(float(line.rpartition(" ")[2]) for line in refused) == 3
        small = httpx.post(f"{url}/v1/silences", json={"reason": "r", "duration_hours": 1},
                           headers=auth)  # fmt: skip
        assert small.status_code == 201


def test_drift_colours_account_for_the_rows_behind_each_value() -> None:
    import math

    import numpy as np

    from vigil.core import SeriesKey
    from vigil.server.pages import KS_C_001, KS_C_05, drift_heat, drift_level
    from vigil.stats import Series

    moderate, large = KS_C_05 * math.sqrt(2 / 40), KS_C_001 * math.sqrt(2 / 40)
    assert drift_level("ks", 0.99 * moderate, 40) == 0
    assert drift_level("ks", 1.01 * moderate, 40) == 1
    assert drift_level("ks", 1.01 * large, 40) == 2
    assert drift_level("ks", 1.01 * large, 4000) == 2
    assert drift_level("ks", 0.1, 4000) == 2  # small distance, many rows: significant
    assert drift_level("ks", 0.1, 40) == 0  # same distance on 40 rows: noise
    assert drift_level("psi", 0.3, math.nan) == 2
    assert drift_level("ks", math.nan, 40) == -1

    def series(column: str, statistic: str) -> Series:
        stamps = np.array(["2026-11-25T00", "2026-11-25T01"], dtype="datetime64[s]")
        key = SeriesKey(model="m", version="", family="drift", column=column, statistic=statistic)
        return Series(key=key, timestamps=stamps, values=np.array([0.05, 0.9]),
                      support=np.array([100.0, 100.0]))  # fmt: skip

    heat = drift_heat([series("age", "psi"), series("age", "ks"), series("city", "linf")])
    assert heat is not None
    assert [name for name, _ in heat.rows] == ["age · ks", "city · linf"]
    assert [[cell.level for cell in cells] for _, cells in heat.rows] == [[0, 2], [0, 2]]


def test_model_page_draws_raised_anomalies_even_outside_incidents(tmp_path: Path) -> None:
    import httpx
    import numpy as np

    from vigil.core import SeriesKey
    from vigil.detect import Anomaly
    from vigil.server import ServerSettings, create_app, serve_in_background
    from vigil.stats import Series
    from vigil.store import MemoryStore

    store = MemoryStore()
    key = SeriesKey(model="m", version="v", family="feature", column="age", statistic="mean")
    stamps = np.arange("2026-11-25T00", "2026-11-25T10", dtype="datetime64[h]").astype(
        "datetime64[s]"
    )
    values = np.full(len(stamps), 40.0)
    values[-1] = 90.0
    store.series.put([Series(key=key, timestamps=stamps, values=values)])
    spike = Anomaly(key=key, timestamp=datetime(2026, 11, 25, 9, tzinfo=UTC), value=90.0,
                    expected=40.0, lower=35.0, upper=45.0, score=10.0, severity=5.0,
                    detector="mad")  # fmt: skip
    settings = ServerSettings(store_url="unused", spool_dir=tmp_path, token="t", clock=lambda: NOW)
    with serve_in_background(create_app(settings, store=store)) as url:
        assert httpx.get(f"{url}/models/m").text.count('class="anomaly"') == 0
        store.anomalies.replace([spike], start=NOW.replace(hour=0), end=NOW)
        html = httpx.get(f"{url}/models/m").text
    assert html.count('class="anomaly"') == 1
    assert "expected 40, band 35 … 45; mad" in html


def test_the_model_page_shows_realised_beside_estimated_performance_only_with_labels() -> None:
    import numpy as np

    from vigil.core import Family, SeriesKey
    from vigil.server.pages import model_page
    from vigil.stats import Series
    from vigil.store import MemoryStore

    stamps = np.arange("2026-11-25T00", "2026-11-25T10", dtype="datetime64[h]").astype(
        "datetime64[s]"
    )

    def series(family: str, column: str, statistic: str) -> Series:
        key = SeriesKey(model="m", version="v", family=family, column=column, statistic=statistic)
        return Series(key=key, timestamps=stamps, values=np.full(len(stamps), 0.76))

    store = MemoryStore()
    store.series.put([series(Family.FEATURE.value, "age", "mean")])
    page = model_page(store, "m", now=NOW, hours=24, version=None, show_all=False)
    assert [f.name for f in page.families] == ["feature", "output", "auxiliary"]
    store.series.put(
        [
            series(Family.PERFORMANCE.value, "score", statistic)
            for statistic in ("accuracy_1d", "estimated_accuracy_1d", "log_loss")
        ]
    )
    page = model_page(store, "m", now=NOW, hours=24, version=None, show_all=False)
    performance = page.families[-1]
    assert performance.name == "performance" and performance.hidden == 1  # log_loss: ?all=1
    assert [c.key.statistic for c in performance.charts] == [
        "accuracy_1d",
        "estimated_accuracy_1d",
    ]
