"""The outbox sends off the caller's thread: a hanging receiver holds only its own queue."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vigil.alert import (
    Alertmanager,
    AlertmanagerSettings,
    MemoryChannel,
    Outbox,
    Route,
    WebhookChannel,
    plan_notifications,
)
from vigil.core import ConfigError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import GroupingSettings, Incident, update_incidents

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)


def incident(model: str) -> Incident:
    key = SeriesKey(model=model, version="v", family="auxiliary", column="", statistic="requests")
    anomaly = Anomaly(
        key=key, timestamp=T0, value=1.0, expected=100.0, lower=80.0, upper=120.0, score=5.0,
        severity=2.0, detector="test",
    )  # fmt: skip
    return update_incidents([], [anomaly], now=T0, settings=GroupingSettings())[0]


class Hanging:
    """An HTTP receiver that holds every request until ``release`` is set, then answers 200."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.bodies: list[list[object]] = []
        hanging = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                hanging.arrived.release()
                hanging.release.wait(30)
                hanging.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Keep test output clean."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    receiver = Hanging()
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


def test_a_hanging_webhook_holds_neither_the_caller_nor_the_other_channels(
    hanging: Hanging,
) -> None:
    hook = WebhookChannel(name="hook", url=hanging.url, timeout_s=30)
    memory = MemoryChannel(name="memory")
    outbox = Outbox({"hook": hook, "memory": memory})
    routes = [Route(owner="o", models="*", channel=name) for name in ("hook", "memory")]
    planned = plan_notifications([incident("a"), incident("b")], routes, already_sent=set())
    assert outbox.submit(planned) == 4  # returns while the webhook holds the first request
    assert hanging.arrived.acquire(timeout=10)
    assert outbox.wait(timeout_s=0.2) is False  # the hook's queue is stuck...
    assert len(memory.sent) == 2  # ...the other channel's is not
    waiting = [n for n in planned if n.key.channel == "hook"]
    assert outbox.pending() == {n.key for n in waiting}
    assert outbox.submit(waiting) == 0  # queued already: not queued twice
    hanging.release.set()
    assert outbox.wait(timeout_s=30)
    records = outbox.collect()
    assert {r.key for r in records} == {n.key for n in planned}
    assert all(r.delivered and r.attempts == 1 for r in records)
    assert outbox.pending() == frozenset() and outbox.collect() == []
    assert len(hanging.bodies) == 2


def test_only_the_latest_alert_set_waits_for_alertmanager(hanging: Hanging) -> None:
    settings = AlertmanagerSettings(urls=(hanging.url,), timeout_s=30)
    outbox = Outbox({}, alertmanager=Alertmanager(settings=settings))
    for count in range(1, 5):  # cycles go on while Alertmanager hangs on the first set
        outbox.post_alerts([{"labels": {"n": str(i)}} for i in range(count)])
        if count == 1:
            assert hanging.arrived.acquire(timeout=10)
    hanging.release.set()
    assert outbox.wait(timeout_s=30)
    assert [len(body) for body in hanging.bodies] == [1, 4]  # sets 2 and 3 were superseded
    assert outbox.alert_posts == 2 and outbox.alert_failures == 0


def test_an_unknown_channel_or_missing_alertmanager_is_a_config_error() -> None:
    outbox = Outbox({})
    planned = plan_notifications(
        [incident("a")], [Route(owner="o", models="*", channel="nowhere")], already_sent=set()
    )
    with pytest.raises(ConfigError, match="no channel named 'nowhere'"):
        outbox.submit(planned)
    with pytest.raises(ConfigError, match=r"\[alertmanager\]"):
        outbox.post_alerts([])
