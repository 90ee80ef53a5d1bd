"""Channels: where messages go. One small Protocol, SMTP and webhook implementations, a fake.

Exceptions from the network are turned into :class:`DeliveryError` so the delivery loop can
retry without knowing each transport's error types.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol, runtime_checkable

from vigil.alert.message import Message, header_safe
from vigil.core import VigilError


class DeliveryError(VigilError):
    """A channel could not deliver a message; the delivery loop may retry."""


@runtime_checkable
class Channel(Protocol):
    """Sends one message to one destination (an address list, a URL)."""

    name: str

    def send(self, message: Message) -> None: ...


@dataclass(slots=True, kw_only=True)
class SmtpChannel:
    """E-mail over SMTP: HTML with a plain-text alternative and the report's charts inline."""

    name: str
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0

    def send(self, message: Message) -> None:
        email = build_email(
            message,
            sender=self.sender,
            recipients=self.recipients,
            message_id=f"<{message.delivery_id(self.name)}@vigil.local>",
        )
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    client.login(self.username, self.password or "")
                client.send_message(email)
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"SMTP {self.host}:{self.port} refused the message: {err}") from err


def build_email(
    message: Message, *, sender: str, recipients: tuple[str, ...], message_id: str | None = None
) -> EmailMessage:
    """A multipart e-mail: text, then HTML with related inline PNG parts.

    ``message_id`` (default: a fresh one) is stable per incident state and channel when sent by
    :class:`SmtpChannel`, so a message re-sent after a crash is recognisably the same one.
    """
    email = EmailMessage()
    email["Subject"] = header_safe(message.subject)
    email["From"] = header_safe(sender)
    email["To"] = ", ".join(header_safe(r) for r in recipients)
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = message_id or make_msgid(domain="vigil.local")
    email["X-Vigil-Incident"] = header_safe(message.incident_id)
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
        html_part = email.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)  # set by add_alternative just above
        for content_id, png in message.images.items():
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{content_id}>")
    return email


@dataclass(slots=True, kw_only=True)
class WebhookChannel:
    """JSON POST to a URL; ``slack=True`` sends a Slack-compatible ``{"text": ...}`` payload."""

    name: str
    url: str
    slack: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0

    def payload(self, message: Message) -> dict[str, object]:
        if self.slack:
            # Slack's mrkdwn link: <url|text>; the subject reads as the link to the incident.
            subject = _slack_escape(message.subject)
            title = f"<{message.link}|{subject}>" if message.link else subject
            return {"text": f"*{title}*\n{_slack_escape(message.text)}"}
        return {
            "delivery_id": message.delivery_id(self.name),
            "incident_id": message.incident_id,
            "state": message.state,
            "model": message.model,
            "severity": message.severity,
            "subject": message.subject,
            "text": message.text,
            "link": message.link,
        }

    def send(self, message: Message) -> None:
        import httpx  # on first send: importing the store or a message must not load HTTP

        try:
            headers = {**self.headers, "Idempotency-Key": message.delivery_id(self.name)}
            response = httpx.post(
                self.url, json=self.payload(message), headers=headers, timeout=self.timeout_s
            )
        except httpx.HTTPError as err:
            raise DeliveryError(f"webhook {self.url} unreachable: {err}") from err
        if response.status_code >= 300:
            raise DeliveryError(f"webhook {self.url} answered {response.status_code}")


def _slack_escape(text: str) -> str:
    """Slack reads ``&``, ``<`` and ``>`` as markup; data must not open a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(slots=True, kw_only=True)
class MemoryChannel:
    """A fake channel for tests: keeps messages; can be told to fail the first N sends."""

    name: str = "memory"
    fail_first: int = 0
    sent: list[Message] = field(default_factory=list)
    attempts: int = 0

    def send(self, message: Message) -> None:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            raise DeliveryError(f"memory channel failing on purpose (attempt {self.attempts})")
        self.sent.append(message)
