"""No silent loss: a server that is down or hanging, a folder that cannot be written.

Each test replays a finding of issue 21 against real sockets on 127.0.0.1: the logger either
keeps every record (spilled to disk, sent once the server answers) or counts what it lost, says
why, warns with the count, and returns it from ``flush()``/``close()``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vigil_sdk import FlushReport, HttpSink, JsonLinesSink, Logger, Losses


class Receiver:
    """A real ingest endpoint on loopback that keeps the request ids it received."""

    def __init__(self, port: int = 0) -> None:
        self.request_ids: list[str] = []
        received = self.request_ids

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.extend(json.loads(line)["request_id"] for line in body.splitlines())
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output clean."""

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,))
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


class HangingServer:
    """Accepts connections, reads nothing and never answers, like a server stuck on a lock."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                self.connections.append(self._listener.accept()[0])
            except OSError:  # closed
                return

    def stop(self) -> None:
        self._listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def warnings_of(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


def test_server_down_spills_every_record_and_a_later_logger_sends_them(tmp_path: Path) -> None:
    """Was: half the calls dropped once the buffer filled; close() threw 10,000 away uncounted."""
    port = closed_port()
    sink = HttpSink(f"http://127.0.0.1:{port}", backoff_s=0.01, max_retries=2)
    logger = Logger(
        "ranker", "v3", sink=sink, spill_dir=tmp_path, flush_interval_s=0.05, close_at_exit=False
    )
    ids = []
    for _chunk in range(3):  # three buffers' worth, from a producer the disk keeps up with
        ids += [logger.log({"i": i}) for i in range(10_000)]
        assert wait_until(lambda: logger.stats().pending < 1_000)
    report = logger.close(timeout_s=10)
    assert report == FlushReport(delivered=0, spilled=30_000, lost=Losses(), pending=0)
    assert report  # nothing lost: spilled records are on disk

    receiver = Receiver(port)  # the server is back
    try:
        later = Logger("ranker", "v3", sink=HttpSink(receiver.url), spill_dir=tmp_path,
                       flush_interval_s=0.05, close_at_exit=False)  # fmt: skip
        assert wait_until(lambda: later.stats().replayed == 30_000)
        ids.append(later.log({"i": "after"}))
        assert later.close(timeout_s=10) == FlushReport(
            delivered=1, spilled=0, lost=Losses(), pending=0
        )
    finally:
        receiver.stop()
    assert receiver.request_ids == ids  # every record once, in the order logged
    assert list(tmp_path.rglob("*.jsonl*")) == []


def test_server_down_without_a_spill_every_record_is_counted_and_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = HttpSink(f"http://127.0.0.1:{closed_port()}", backoff_s=0.01, max_retries=1)
    logger = Logger("ranker", "v3", sink=sink, flush_interval_s=0.05, close_at_exit=False)
    for i in range(10_000):
        logger.log({"i": i})
    report = logger.close(timeout_s=10)
    assert report == FlushReport(delivered=0, spilled=0, lost=Losses(sink_failed=10_000), pending=0)
    assert "lost 10000 records since the last flush or close (sink_failed=10000)" in warnings_of(
        caplog
    )


def test_close_gives_up_on_a_stuck_sink_and_counts_what_it_leaves(
    hanging: HangingServer, caplog: pytest.LogCaptureFixture
) -> None:
    sink = HttpSink(hanging.url, timeout_s=5.0, max_retries=0)
    logger = Logger("ranker", "v3", sink=sink, flush_interval_s=60, close_at_exit=False)
    for i in range(10_000):
        logger.log({"i": i})
    assert wait_until(lambda: len(hanging.connections) == 1)  # the sink holds one batch
    report = logger.close(timeout_s=0.2)
    assert not report
    assert (report.lost, report.pending) == (Losses(unsent_at_close=9_000), 1_000)
    warned = warnings_of(caplog)
    assert "lost 9000 records since the last flush or close (unsent_at_close=9000)" in warned
    assert "1000 records are still being written" in warned


def test_server_hanging_spills_then_delivers_everything(
    hanging: HangingServer, tmp_path: Path
) -> None:
    """Was: 5,500 records lost with no warning while the server hung."""
    sink = HttpSink(hanging.url, timeout_s=0.3, max_retries=0)
    logger = Logger(
        "ranker", "v3", sink=sink, spill_dir=tmp_path, spill_retry_s=0.2, close_at_exit=False,
        max_buffer=1_000, batch_size=100, flush_interval_s=0.05,
    )  # fmt: skip
    ids = []
    for _chunk in range(55):
        ids += [logger.log({"i": i}) for i in range(100)]
        assert wait_until(lambda: logger.stats().pending <= 400)
    report = logger.close(timeout_s=10)
    assert (report.delivered, report.spilled, report.lost) == (0, 5_500, Losses())

    receiver = Receiver()
    try:
        later = Logger("ranker", "v3", sink=HttpSink(receiver.url), spill_dir=tmp_path,
                       close_at_exit=False)  # fmt: skip
        assert later.close(timeout_s=10)
        assert later.stats().replayed == 5_500
    finally:
        receiver.stop()
    assert sorted(receiver.request_ids) == sorted(ids)


def test_server_hanging_without_a_spill_warns_with_the_count(
    hanging: HangingServer, caplog: pytest.LogCaptureFixture
) -> None:
    sink = HttpSink(hanging.url, timeout_s=0.3, max_retries=0)
    logger = Logger("ranker", "v3", sink=sink, max_buffer=1_000, batch_size=100,
                    flush_interval_s=0.05, close_at_exit=False)  # fmt: skip
    for i in range(5_500):
        logger.log({"i": i})
    # the first batch fails after the 0.3 s timeout; the thread warns with the counts then,
    # not after the 3 s the other ten batches take to time out
    assert wait_until(lambda: "has lost" in warnings_of(caplog), timeout_s=2.0)
    stats = logger.stats()
    assert stats.logged + stats.lost.buffer_full == 5_500
    assert stats.lost.buffer_full >= 5_500 - 1_000 - 100  # the buffer, and the batch in the sink
    first = re.search(r"has lost (\d+) records so far \(buffer_full=(\d+)", warnings_of(caplog))
    assert first is not None and int(first[2]) == stats.lost.buffer_full
    assert int(first[1]) < 5_500
    report = logger.close(timeout_s=10)
    assert not report
    assert report.lost.buffer_full + report.lost.sink_failed == 5_500
    assert report.delivered == report.pending == 0


def test_unwritable_folder_flush_reports_every_record_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: flush() returned True while every record failed."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    logger = Logger("m", sink=JsonLinesSink(blocker / "logs"), close_at_exit=False)
    for i in range(100):
        logger.log({"i": i})
    report = logger.flush(timeout_s=5)
    assert not report
    assert report == FlushReport(delivered=0, spilled=0, lost=Losses(sink_failed=100), pending=0)
    assert "lost 100 records since the last flush or close (sink_failed=100)" in warnings_of(caplog)
    assert logger.close(timeout_s=5).lost == Losses()  # reported once


def test_an_unwritable_spill_folder_is_refused_at_construction(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(ValueError, match=r"spill folder .*a-file.* is not writable"):
        Logger("m", sink=JsonLinesSink(tmp_path), spill_dir=blocker, close_at_exit=False)
