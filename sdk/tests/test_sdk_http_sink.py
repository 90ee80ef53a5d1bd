"""HttpSink against a real HTTP server on 127.0.0.1: body, token, retries and Retry-After."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vigil_sdk import ConfigError, HttpSink, Logger, SinkError, retry_after_s


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class IngestServer:
    """Answers each POST with the next scripted (status, headers) and records what it got."""

    url: str
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


@pytest.fixture
def server() -> Iterator[IngestServer]:
    state = IngestServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            status, headers = state.script.pop(0) if state.script else (202, {})
            payload = b'{"detail":"scripted"}'
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    yield state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


class RecordedSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


LINES = [b'{"model":"m","timestamp":"2026-11-20T12:00:00Z"}\n', b'{"model":"m","timestamp":0}']


def test_posts_json_lines_with_the_bearer_token(server: IngestServer) -> None:
    sink = HttpSink(server.url, token="s3cret", sleep=RecordedSleep())
    sink.write(LINES)
    sink.write([])  # heartbeat: nothing sent
    (request,) = server.received
    assert request.path == "/v1/ingest"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["Content-Type"] == "application/x-ndjson"
    assert request.body == LINES[0] + LINES[1] + b"\n"


def test_429_waits_as_told_then_succeeds(server: IngestServer) -> None:
    server.script = [(429, {"Retry-After": "3"}), (429, {}), (202, {})]
    sleep = RecordedSleep()
    sink = HttpSink(server.url, sleep=sleep, backoff_s=0.25, max_backoff_s=30)
    sink.write(LINES)
    assert len(server.received) == 3
    assert all(r.body == server.received[0].body for r in server.received)
    # Retry-After honoured first, then exponential backoff for attempt 1 (0.25 * 2**1)
    assert sleep.delays == [3.0, 0.5]
    assert sink.retries == 2


def test_retry_after_is_capped(server: IngestServer) -> None:
    server.script = [(503, {"Retry-After": "86400"})]
    sleep = RecordedSleep()
    HttpSink(server.url, sleep=sleep, max_backoff_s=7.5).write(LINES)
    assert sleep.delays == [7.5]


def test_client_errors_fail_at_once(server: IngestServer) -> None:
    server.script = [(401, {})]
    sleep = RecordedSleep()
    with pytest.raises(SinkError, match="HTTP 401"):
        HttpSink(server.url, token="wrong", sleep=sleep).write(LINES)
    assert sleep.delays == []
    assert len(server.received) == 1


def test_server_errors_are_retried_then_reported(server: IngestServer) -> None:
    server.script = [(500, {})] * 3
    sleep = RecordedSleep()
    with pytest.raises(SinkError, match=r"after 3 attempts: HTTP 500"):
        HttpSink(server.url, max_retries=2, backoff_s=1, sleep=sleep).write(LINES)
    assert sleep.delays == [1, 2]


def test_unreachable_endpoint_is_a_sink_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = HttpSink(f"http://127.0.0.1:{port}", max_retries=1, sleep=RecordedSleep())
    with pytest.raises(SinkError, match="after 2 attempts"):
        sink.write(LINES)


def test_logger_over_http_end_to_end(server: IngestServer) -> None:
    server.script = [(429, {"Retry-After": "1"})]
    sleep = RecordedSleep()
    sink = HttpSink(server.url, token="t", sleep=sleep)
    with Logger("ranker", "v3", sink=sink, close_at_exit=False) as logger:
        ids = [logger.log({"i": i}, {"score": i / 10}) for i in range(25)]
    assert logger.stats().delivered == 25
    assert sleep.delays == [1.0]
    delivered = [json.loads(line) for line in server.received[-1].body.splitlines()]
    assert [record["request_id"] for record in delivered] == ids
    assert {record["model"] for record in delivered} == {"ranker"}


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    headers = Message()
    assert retry_after_s(headers, now=now.timestamp()) is None
    headers["Retry-After"] = " 12 "
    assert retry_after_s(headers, now=now.timestamp()) == 12.0
    headers.replace_header("Retry-After", format_datetime(now.replace(minute=1), usegmt=True))
    assert retry_after_s(headers, now=now.timestamp()) == 60.0
    headers.replace_header("Retry-After", "soon")
    assert retry_after_s(headers, now=now.timestamp()) is None


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"url": "ftp://x"}, "ftp://x"),
        ({"url": "http://x", "timeout_s": 0}, "0"),
        ({"url": "http://x", "max_retries": -2}, "-2"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ConfigError, match=quoted):
        HttpSink(**kwargs)  # type: ignore[arg-type]
