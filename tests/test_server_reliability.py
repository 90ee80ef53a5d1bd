"""The ingest server against the reliability attack of issue 19: all or nothing per request,
idempotent retries, bounded inputs and connections, errors that carry no server paths or SQL,
and no 500 for a bad request. Real uvicorn servers on loopback, a SQLite store and a spool."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from vigil.core import StoreError
from vigil.ingest import HivePartitionedReader
from vigil.server import ServerSettings, create_app, serve_in_background
from vigil.store import MemoryStore, SqlStore
from vigil.store.memory.quarantine import MemoryQuarantine

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOKEN = "reliability-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _settings(tmp_path: Path, **overrides: object) -> ServerSettings:
    values: dict[str, object] = {
        "store_url": f"sqlite:///{tmp_path / 'vigil.db'}",
        "spool_dir": tmp_path / "spool",
        "token": TOKEN,
        "clock": lambda: NOW,
        "realtime": False,
    }
    values.update(overrides)
    return ServerSettings(**values)  # type: ignore[arg-type]


def _line(model: str, i: int = 0) -> bytes:
    return orjson.dumps(
        {"model": model, "timestamp": f"2026-11-25T10:{i:02d}:00Z", "features": {"age": i}}
    )


def _spooled(spool: Path) -> list[tuple[str, int]]:
    if not spool.exists():
        return []
    chunks = list(HivePartitionedReader(spool, now=NOW).read())
    return sorted(
        (model, int(age))
        for chunk in chunks
        for model, age in zip(
            chunk.batch.meta.column("model").to_pylist(),
            chunk.batch.features["age"].numbers if "age" in chunk.batch.features else [],
            strict=True,
        )
    )


def _quarantined(url: str) -> int:
    store = SqlStore(url)
    try:
        return len(store.quarantine.get())
    finally:
        store.close()


def test_a_request_that_cannot_be_stored_leaves_no_row_and_a_retry_keeps_one_copy(
    tmp_path: Path,
) -> None:
    """One good row of model a, one of model b whose folder cannot be made, one bad row: 503
    and nothing anywhere (the good row of a used to stay, and each retry added a copy)."""
    settings = _settings(tmp_path)
    settings.spool_dir.mkdir()
    blocker = settings.spool_dir / "model=b"
    blocker.write_text("a file where model b's folder must go")
    body = b"\n".join([_line("a", 1), _line("b", 2), b'{"model": "a", "timestamp": "bad"}'])
    headers = {**AUTH, "Idempotency-Key": "request-1"}
    with serve_in_background(create_app(settings)) as url:
        refused = httpx.post(f"{url}/v1/ingest", content=body, headers=headers)
        assert refused.status_code == 503, refused.text
        assert _spooled(settings.spool_dir) == [] and _quarantined(settings.store_url) == 0
        assert not list(settings.spool_dir.rglob("*.tmp"))
        blocker.unlink()
        for _ in range(3):  # the retry after the 503, then two whose answers were "lost"
            kept = httpx.post(f"{url}/v1/ingest", content=body, headers=headers)
            assert kept.status_code == 200, kept.text
            assert kept.json()["accepted"] == 2
        metrics = httpx.get(f"{url}/metrics").text
    assert _spooled(settings.spool_dir) == [("a", 1), ("b", 2)]
    assert _quarantined(settings.store_url) == 1
    assert "vigil_ingest_rows_accepted_total 2" in metrics


def test_without_a_key_each_request_is_new_and_bad_keys_are_400(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with serve_in_background(create_app(settings)) as url:
        for _ in range(2):
            assert httpx.post(f"{url}/v1/ingest", content=_line("a"), headers=AUTH).is_success
        for key in ("", "x" * 129, "a b", "ключ"):
            bad = httpx.post(
                f"{url}/v1/ingest",
                content=_line("a"),
                headers={**AUTH, "Idempotency-Key": key.encode()},
            )
            assert bad.status_code == 400 and "Idempotency-Key" in bad.text
    assert _spooled(settings.spool_dir) == [("a", 0), ("a", 0)]


def test_the_sdk_sends_one_key_per_batch_and_its_retries_do_not_duplicate(
    tmp_path: Path,
) -> None:
    from vigil.sdk import HttpSink

    settings = _settings(tmp_path)
    settings.spool_dir.mkdir()
    (settings.spool_dir / "model=b").write_text("in the way until the sink's first retry")
    slept: list[float] = []

    def clear_the_way(seconds: float) -> None:
        slept.append(seconds)
        (settings.spool_dir / "model=b").unlink(missing_ok=True)

    with serve_in_background(create_app(settings)) as url:
        sink = HttpSink(url, token=TOKEN, backoff_s=0.0, sleep=clear_the_way)
        sink.write([_line("a", 1), _line("b", 2)])
    assert len(slept) == 1 and sink.retries == 1
    assert _spooled(settings.spool_dir) == [("a", 1), ("b", 2)]


class _BrokenQuarantine(MemoryQuarantine):
    def put(self, *args: object, **kwargs: object) -> int:
        raise StoreError(
            "store sqlite:////srv/vigil/secret.db: (sqlite3.OperationalError) disk I/O error "
            "[SQL: INSERT INTO quarantine (source, reason) VALUES (?, ?)]"
        )


def test_errors_sent_to_clients_carry_no_server_paths_or_sql(tmp_path: Path) -> None:
    store = MemoryStore()
    store.quarantine = _BrokenQuarantine()
    settings = _settings(tmp_path, spool_dir=tmp_path / "private-spool-dir")
    body = b"\n".join([_line("a"), b"{not json"])
    with serve_in_background(create_app(settings, store=store)) as url:
        answer = httpx.post(f"{url}/v1/ingest", content=body, headers=AUTH)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
        (settings.spool_dir / "model=a").write_text("a file in the way")
        spool_failure = httpx.post(f"{url}/v1/ingest", content=_line("a"), headers=AUTH)
        assert spool_failure.status_code == 503
    for response in (answer, spool_failure):
        detail = response.json()["detail"]
        assert "nothing was accepted" in detail and "error " in detail
        for secret in ("/srv", "secret.db", "INSERT", "SQL", "sqlite", str(tmp_path), "spool"):
            assert secret not in detail


def test_too_many_models_in_one_request_is_400_and_stores_nothing(tmp_path: Path) -> None:
    settings = _settings(tmp_path, max_models_per_request=3)
    with serve_in_background(create_app(settings)) as url:
        at_limit = b"\n".join(_line(f"m{i}", i) for i in range(3))
        over = b"\n".join(_line(f"n{i}", i) for i in range(4))
        assert httpx.post(f"{url}/v1/ingest", content=at_limit, headers=AUTH).is_success
        refused = httpx.post(f"{url}/v1/ingest", content=over, headers=AUTH)
    assert refused.status_code == 400 and "4 models" in refused.json()["detail"]
    assert [model for model, _ in _spooled(settings.spool_dir)] == ["m0", "m1", "m2"]


def _slow_upload(url: str, source: str) -> socket.socket:
    """A client at ``source`` that sends its head and 10 of 10,000 body bytes, then stalls."""
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), source_address=(source, 0))
    head = (
        f"POST /v1/ingest HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/x-ndjson\r\nContent-Length: 10000\r\n\r\n"
    )
    connection.sendall(head.encode() + b'{"model":"')
    return connection


@pytest.fixture
def slow_server(tmp_path: Path) -> Iterator[tuple[str, ServerSettings]]:
    settings = _settings(
        tmp_path, queue_size=1, max_uploads_per_client=2, body_timeout_s=3.0, header_timeout_s=1.0
    )
    with serve_in_background(create_app(settings)) as url:
        yield url, settings


def test_slow_uploads_hold_no_queue_slot_and_each_client_has_its_own_limit(
    slow_server: tuple[str, ServerSettings],
) -> None:
    """Four slow clients used to take every queue slot: everyone else got 429 for 40 s."""
    url, _ = slow_server
    slow = [_slow_upload(url, "127.0.0.2") for _ in range(2)]
    try:
        time.sleep(0.3)
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as same:
            third = same.post(f"{url}/v1/ingest", content=_line("x"), headers=AUTH)
        assert third.status_code == 429, third.text  # that client's own limit
        started = time.monotonic()
        others = httpx.post(f"{url}/v1/ingest", content=_line("a"), headers=AUTH)
        assert others.status_code == 200, others.text  # the queue (of 1) is free
        assert time.monotonic() - started < 2.0
        for connection in slow:  # the stalled bodies are answered 408 after body_timeout_s
            connection.settimeout(10)
            assert b" 408 " in connection.recv(4096).split(b"\r\n")[0] + b" "
    finally:
        for connection in slow:
            connection.close()


def test_a_half_sent_request_head_is_closed_after_the_header_timeout(
    slow_server: tuple[str, ServerSettings],
) -> None:
    url, settings = slow_server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(b"POST /v1/ingest HTTP/1.1\r\nHost: x\r\nContent-Le")  # no token
        connection.settimeout(settings.header_timeout_s + 5)
        started = time.monotonic()
        assert connection.recv(4096) == b""  # closed by the server, not by our timeout
        assert time.monotonic() - started < settings.header_timeout_s + 2


def test_bad_requests_that_were_500_are_4xx(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with serve_in_background(create_app(settings, store=MemoryStore())) as url:
        login = httpx.post(f"{url}/login", data={"token": TOKEN}, follow_redirects=False)
        cookies = login.cookies
        same_site = {"Origin": url}
        nan_hours = httpx.get(f"{url}/models/ranker?hours=nan")
        form = httpx.post(
            f"{url}/silences",
            data={"hours": "soon", "reason": "r"},
            headers=same_site,
            cookies=cookies,
            follow_redirects=False,
        )
        overflow = httpx.post(
            f"{url}/v1/silences",
            json={"starts": "9999-12-31T23:00:00Z", "duration_hours": 5, "reason": "r"},
            headers=AUTH,
        )
    assert nan_hours.status_code == 422
    assert form.status_code == 303 and "number%20of%20hours" in form.headers["location"]
    assert overflow.status_code == 422 and "9999" in overflow.json()["detail"]
