"""``POST /v1/ingest`` against a real uvicorn server, SQLite store and spool folder.

Accepted rows must be durable (read back by the ingest Hive reader), rejected rows quarantined
in the store with their reasons and returned per row, and a full write queue must answer 429
with Retry-After, never drop: the SDK's HttpSink retries and every row arrives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from vigil.ingest import HivePartitionedReader
from vigil.sdk import HttpSink, Partition
from vigil.server import HiveSpool, ServerSettings, create_app, serve_in_background
from vigil.store import SqlStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOKEN = "test-write-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class GatedSpool:
    """A HiveSpool whose writes wait until ``release`` is set: holds the queue full on demand."""

    def __init__(self, root: Path) -> None:
        self.inner = HiveSpool(root)
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, groups: Mapping[Partition, Sequence[bytes]], *, key: str | None = None) -> int:
        self.entered.set()
        if not self.release.wait(timeout=20):
            raise TimeoutError("the test never released the spool")
        return self.inner.write(groups, key=key)


def _settings(tmp_path: Path, **overrides: object) -> ServerSettings:
    values: dict[str, object] = {
        "store_url": f"sqlite:///{tmp_path / 'vigil.db'}",
        "spool_dir": tmp_path / "spool",
        "token": TOKEN,
        "clock": lambda: NOW,
        "max_body_bytes": 64 * 1024,
    }
    values.update(overrides)
    return ServerSettings(**values)  # type: ignore[arg-type]


def _record(i: int, model: str = "ranker") -> dict[str, object]:
    return {
        "model": model,
        "version": "v1",
        "timestamp": f"2026-11-25T{10 + i % 2:02d}:{i % 60:02d}:00Z",
        "features": {"age": 20 + i},
        "outputs": {"score": 0.5},
    }


def _spooled_rows(spool: Path) -> list[int]:
    chunks = list(HivePartitionedReader(spool, now=NOW).read())
    assert not [q for c in chunks for q in c.quarantined]
    return sorted(int(v) for c in chunks for v in c.batch.features["age"].numbers)


def test_json_lines_and_arrays_are_durable_and_bad_rows_come_back_per_row(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    with serve_in_background(create_app(settings)) as url:
        lines = [orjson.dumps(_record(i)) for i in range(5)]
        lines.insert(2, b'{"model": "ranker", "timestamp": "yesterday"}')
        response = httpx.post(
            f"{url}/v1/ingest",
            content=b"\n".join(lines) + b"\n",
            headers={**AUTH, "Content-Type": "application/x-ndjson"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["accepted"] == 5
        assert [r["position"] for r in body["rejected"]] == [3]
        assert "timestamp" in body["rejected"][0]["reason"]

        array = [_record(i, model="fraud") for i in range(5, 8)] + [{"model": 7}]
        response = httpx.post(f"{url}/v1/ingest", json=array, headers=AUTH)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 3
        assert [r["position"] for r in response.json()["rejected"]] == [3]

        metrics = httpx.get(f"{url}/metrics").text
        assert "vigil_ingest_rows_accepted_total 8.0" in metrics
        assert "vigil_ingest_rows_rejected_total 2.0" in metrics

    # Every accepted row is in the spool, readable by the pipeline's reader, nothing else.
    assert _spooled_rows(settings.spool_dir) == [20, 21, 22, 23, 24, 25, 26, 27]
    store = SqlStore(settings.store_url)
    try:
        quarantined = store.quarantine.get()
    finally:
        store.close()
    assert len(quarantined) == 2
    assert {q.model for q in quarantined} == {"ranker", None}
    assert all(q.source.startswith("http:/v1/ingest#") and q.reason for q in quarantined)


def test_missing_or_wrong_token_is_401_and_writes_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with serve_in_background(create_app(settings)) as url:
        body = orjson.dumps([_record(1)])
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
            response = httpx.post(f"{url}/v1/ingest", content=body, headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
    assert not list(settings.spool_dir.rglob("*.jsonl"))


def test_oversized_bodies_are_413_with_or_without_content_length(tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_body_bytes=4096)
    big = b"\n".join(orjson.dumps(_record(i)) for i in range(100))
    assert len(big) > 4096

    def chunked() -> Iterator[bytes]:
        for offset in range(0, len(big), 1000):
            yield big[offset : offset + 1000]

    with serve_in_background(create_app(settings)) as url:
        declared = httpx.post(f"{url}/v1/ingest", content=big, headers=AUTH)
        assert declared.status_code == 413
        streamed = httpx.post(f"{url}/v1/ingest", content=chunked(), headers=AUTH)
        assert streamed.status_code == 413
        assert "4096" in streamed.json()["detail"]
        small = httpx.post(
            f"{url}/v1/ingest", content=big[:2000].rpartition(b"\n")[0], headers=AUTH
        )
        assert small.status_code == 200
    assert len(_spooled_rows(settings.spool_dir)) == small.json()["accepted"] > 0


def test_a_full_queue_answers_429_with_retry_after_and_the_retry_succeeds(tmp_path: Path) -> None:
    settings = _settings(tmp_path, queue_size=1, retry_after_s=2)
    spool = GatedSpool(settings.spool_dir)
    with serve_in_background(create_app(settings, spool=spool)) as url:
        first: list[httpx.Response] = []
        holder = threading.Thread(
            target=lambda: first.append(
                httpx.post(f"{url}/v1/ingest", json=[_record(1)], headers=AUTH, timeout=30)
            )
        )
        holder.start()
        assert spool.entered.wait(timeout=20)
        refused = httpx.post(f"{url}/v1/ingest", json=[_record(2)], headers=AUTH)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        spool.release.set()
        holder.join(timeout=20)
        assert first[0].status_code == 200
        retried = httpx.post(f"{url}/v1/ingest", json=[_record(2)], headers=AUTH)
        assert retried.status_code == 200
        assert "vigil_ingest_throttled_total 1.0" in httpx.get(f"{url}/metrics").text
    assert _spooled_rows(settings.spool_dir) == [21, 22]


def test_the_sdk_http_sink_waits_out_a_429_and_delivers(tmp_path: Path) -> None:
    settings = _settings(tmp_path, queue_size=1)
    spool = GatedSpool(settings.spool_dir)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        spool.release.set()  # the queue drains while the SDK waits
        time.sleep(0.3)

    with serve_in_background(create_app(settings, spool=spool)) as url:
        holder = threading.Thread(
            target=lambda: httpx.post(f"{url}/v1/ingest", json=[_record(0)], headers=AUTH)
        )
        holder.start()
        assert spool.entered.wait(timeout=20)
        sink = HttpSink(url, token=TOKEN, sleep=sleep, max_retries=5)
        sink.write([orjson.dumps(_record(i)) for i in range(1, 4)])
        holder.join(timeout=20)
    assert waits and waits[0] == settings.retry_after_s
    assert _spooled_rows(settings.spool_dir) == [20, 21, 22, 23]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_a_body_that_is_not_json_at_all_is_400_or_quarantined(
    tmp_path: Path, content_type: str
) -> None:
    settings = _settings(tmp_path)
    with serve_in_background(create_app(settings)) as url:
        response = httpx.post(
            f"{url}/v1/ingest",
            content=b"\xff\xfe garbage",
            headers={**AUTH, "Content-Type": content_type},
        )
    if content_type == "application/json":
        assert response.status_code == 400
        assert "JSON" in response.json()["detail"]
    else:
        # A JSON-lines body is judged line by line: the bad line is quarantined, with a reason.
        assert response.status_code == 200
        assert response.json()["accepted"] == 0
        assert "UTF-8" in response.json()["rejected"][0]["reason"]
