"""Alerts reach a real SMTP server and a real HTTP receiver, once per state, with retries."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from vigil.alert import (
    Links,
    MemoryChannel,
    NotificationKey,
    Route,
    SmtpChannel,
    WebhookChannel,
    deliver,
    header_safe,
    plan_notifications,
)
from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import GroupingSettings, update_incidents
from vigil.report import Chart, ImageMode, IncidentEvidence, ModelReport, render_model_report
from vigil.stats.series import Series

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)


def _incident(model: str = "ranker"):  # type: ignore[no-untyped-def]
    key = SeriesKey(model=model, version="v3", family="auxiliary", column="", statistic="requests")
    anomaly = Anomaly(
        key=key,
        timestamp=T0,
        value=17.0,
        expected=100.0,
        lower=80.0,
        upper=120.0,
        score=5.0,
        severity=2.1,
        detector="test",
    )
    return update_incidents([], [anomaly], now=T0, settings=GroupingSettings())[0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, object]]] = []
    fail_first: ClassVar[int] = 0

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        if type(self).fail_first > 0:
            type(self).fail_first -= 1
            self.send_response(503)
        else:
            type(self).bodies.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"bodies": [], "fail_first": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    finally:
        server.shutdown()
        server.server_close()


def _report(incident) -> ModelReport:  # type: ignore[no-untyped-def]
    times = np.datetime64("2026-11-19T00:00", "s") + np.arange(48) * np.timedelta64(3600, "s")
    series = Series(
        key=incident.anomalies[0].key, timestamps=times, values=np.arange(48, dtype=np.float64)
    )
    chart = Chart(title="requests", series=series)
    return ModelReport(
        model=incident.model,
        generated_at=T0,
        period_start=T0 - timedelta(days=2),
        period_end=T0,
        incidents=(IncidentEvidence(incident=incident, charts=(chart,)),),
    )


def _mail_channel(port: int) -> SmtpChannel:
    return SmtpChannel(
        name="mail",
        host="127.0.0.1",
        port=port,
        sender="vigil@example.org",
        recipients=("owner@example.org",),
    )


def test_email_arrives_with_html_text_and_inline_chart(smtp_server: tuple[int, _Inbox]) -> None:
    port, inbox = smtp_server
    incident = _incident()
    report = render_model_report(_report(incident), mode=ImageMode.CID)
    channel = _mail_channel(port)
    planned = plan_notifications(
        [incident],
        [Route(owner="o", models="rank*", channel="mail")],
        already_sent=set(),
        reports={"ranker": report},
    )
    records = deliver(planned, {"mail": channel}, sleep=lambda _: None)
    assert [r.delivered for r in records] == [True]
    assert inbox.recipients == [["owner@example.org"]]
    email = inbox.messages[0]
    assert "traffic down 83%" in email["Subject"]
    assert email.get_body(preferencelist=("plain",)) is not None
    html = email.get_body(preferencelist=("html",))
    assert html is not None and "cid:" in html.get_content()
    images = [part for part in email.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    payload = images[0].get_payload(decode=True)
    assert isinstance(payload, bytes) and payload.startswith(b"\x89PNG")


def test_model_names_cannot_inject_mail_headers(smtp_server: tuple[int, _Inbox]) -> None:
    port, inbox = smtp_server
    incident = _incident(model="evil\r\nBcc: victim@example.org")
    channel = _mail_channel(port)
    planned = plan_notifications(
        [incident], [Route(owner="o", models="*", channel="mail")], already_sent=set()
    )
    deliver(planned, {"mail": channel}, sleep=lambda _: None)
    assert inbox.recipients == [["owner@example.org"]]
    assert inbox.messages[0]["Bcc"] is None
    assert "\n" not in header_safe("a\r\nb") and "\r" not in header_safe("a\rb")


def test_webhook_retries_with_backoff_then_delivers(http_receiver) -> None:  # type: ignore[no-untyped-def]
    url, handler = http_receiver
    handler.fail_first = 2
    waits: list[float] = []
    planned = plan_notifications(
        [_incident()], [Route(owner="o", models="*", channel="hook")], already_sent=set()
    )
    records = deliver(
        planned, {"hook": WebhookChannel(name="hook", url=url)}, backoff_s=0.5, sleep=waits.append
    )
    assert records[0].delivered and records[0].attempts == 3
    assert waits == [0.5, 1.0]
    assert handler.bodies[0]["state"] == "open"
    assert handler.bodies[0]["model"] == "ranker"


def test_slack_payload(http_receiver) -> None:  # type: ignore[no-untyped-def]
    url, handler = http_receiver
    planned = plan_notifications(
        [_incident()], [Route(owner="o", models="*", channel="slack")], already_sent=set()
    )
    deliver(planned, {"slack": WebhookChannel(name="slack", url=url, slack=True)})
    assert set(handler.bodies[0]) == {"text"}
    assert "traffic down" in str(handler.bodies[0]["text"])


def test_slack_text_links_to_the_incident_and_escapes_data(http_receiver) -> None:  # type: ignore[no-untyped-def]
    """Was: Slack text had no link."""
    url, handler = http_receiver
    incident = _incident(model="<!channel> & co")
    links = Links(vigil_url="https://vigil.example.org/")
    planned = plan_notifications(
        [incident], [Route(owner="o", models="*", channel="slack")], already_sent=set(), links=links
    )
    deliver(planned, {"slack": WebhookChannel(name="slack", url=url, slack=True)})
    text = str(handler.bodies[0]["text"])
    link = f"https://vigil.example.org/incidents/{incident.id}"
    assert text.startswith(f"*<{link}|[Vigil OPEN] traffic down")
    assert "&lt;!channel&gt; &amp; co" in text and "<!channel>" not in text  # no mention forged
    assert f"details: {link}" in text


def test_once_per_state_change_and_never_twice() -> None:
    incident = _incident()
    routes = [Route(owner="o", models="*", channel="memory")]
    channel = MemoryChannel()
    sent: set[NotificationKey] = set()
    for _ in range(3):  # re-runs of the same window
        planned = plan_notifications([incident], routes, already_sent=sent)
        deliver(planned, {"memory": channel}, on_delivered=lambda r: sent.add(r.key))
    assert len(channel.sent) == 1
    later = update_incidents(
        [incident], [], now=T0 + timedelta(days=1), settings=GroupingSettings()
    )
    planned = plan_notifications(later, routes, already_sent=sent)
    deliver(planned, {"memory": channel}, on_delivered=lambda r: sent.add(r.key))
    assert [m.state for m in channel.sent] == ["open", "resolved"]


def test_failed_delivery_is_reported_not_raised() -> None:
    channel = MemoryChannel(fail_first=10)
    planned = plan_notifications(
        [_incident()], [Route(owner="o", models="*", channel="memory")], already_sent=set()
    )
    records = deliver(planned, {"memory": channel}, max_attempts=3, sleep=lambda _: None)
    assert not records[0].delivered and records[0].attempts == 3
    assert "failing on purpose" in records[0].error


def test_routes_filter_by_pattern_severity_and_traffic() -> None:
    incident = _incident()
    assert Route(owner="o", models="rank*", channel="c").wants(incident)
    assert not Route(owner="o", models="fraud*", channel="c").wants(incident)
    assert not Route(owner="o", models="*", channel="c", min_severity=5).wants(incident)


def test_a_resent_message_is_recognisably_the_same(smtp_server: tuple[int, _Inbox]) -> None:
    """Delivery is at-least-once (a crash between sending and recording resends): the same
    incident state on the same channel always has the same Message-ID and delivery id."""
    port, inbox = smtp_server
    channel = _mail_channel(port)
    planned = plan_notifications(
        [_incident()], [Route(owner="o", models="*", channel="mail")], already_sent=set()
    )
    deliver(planned, {"mail": channel}, sleep=lambda _: None)
    deliver(planned, {"mail": channel}, sleep=lambda _: None)  # the re-run after a crash
    first, again = (m["Message-ID"] for m in inbox.messages)
    assert first == again and first.endswith("@vigil.local>")
    message = planned[0].message
    hook = WebhookChannel(name="hook", url="http://127.0.0.1:9")
    assert hook.payload(message)["delivery_id"] == message.delivery_id("hook")
    assert message.delivery_id("hook") != message.delivery_id("mail")
