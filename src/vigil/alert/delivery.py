"""Routing and delivery: once per incident state change, retried with backoff, never twice.

What has been sent is the caller's record (the pipeline keeps it in the store); these functions
take it as a value, so a crash between sending and recording can at worst re-send one message,
and a re-run that finds the record sends nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from vigil.alert.channels import Channel, DeliveryError
from vigil.alert.links import Links
from vigil.alert.message import Message, incident_message
from vigil.core import ConfigError
from vigil.incidents import Incident

if TYPE_CHECKING:  # rendering (Jinja2) loads when a report is made, not with a message
    from vigil.report import RenderedReport


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """Incidents of models matching ``models`` (a shell pattern) go to ``channel``."""

    owner: str
    models: str
    channel: str
    min_severity: float = 0.0
    include_downgraded: bool = False

    def __post_init__(self) -> None:
        if not self.channel:
            raise ConfigError(f"route for owner {self.owner!r} names no channel")

    def wants(self, incident: Incident) -> bool:
        return (
            fnmatchcase(incident.model, self.models)
            and incident.severity >= self.min_severity
            and (self.include_downgraded or not incident.downgraded)
        )


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class NotificationKey:
    """What makes a notification unique: an incident, the state it reached, and a channel."""

    incident_id: str
    state: str
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    key: NotificationKey
    owner: str
    message: Message


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryRecord:
    key: NotificationKey
    delivered: bool
    attempts: int
    error: str = ""


def plan_notifications(
    incidents: Sequence[Incident],
    routes: Sequence[Route],
    *,
    already_sent: Collection[NotificationKey],
    reports: Mapping[str, RenderedReport] | None = None,
    links: Links | None = None,
) -> list[Notification]:
    """The notifications still owed: one per (incident, state, channel) not yet delivered.

    ``already_sent`` may also hold what is queued in an :class:`~vigil.alert.Outbox`."""
    planned: dict[NotificationKey, Notification] = {}
    for incident in incidents:
        for route in routes:
            if not route.wants(incident):
                continue
            key = NotificationKey(
                incident_id=incident.id, state=incident.state.value, channel=route.channel
            )
            if key in already_sent or key in planned:
                continue
            report = (reports or {}).get(incident.model)
            link = links.incident(incident) if links is not None else ""
            planned[key] = Notification(
                key=key, owner=route.owner, message=incident_message(incident, report, link=link)
            )
    return [planned[key] for key in sorted(planned)]


def deliver(
    notifications: Sequence[Notification],
    channels: Mapping[str, Channel],
    *,
    max_attempts: int = 4,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    on_delivered: Callable[[DeliveryRecord], None] | None = None,
) -> list[DeliveryRecord]:
    """Send each notification, retrying failures with exponential backoff.

    ``on_delivered`` is called right after each success so the caller can record it before the
    next send: the window in which a crash could cause a duplicate is one message wide.
    """
    records: list[DeliveryRecord] = []
    for notification in notifications:
        channel = channels.get(notification.key.channel)
        if channel is None:
            raise ConfigError(
                f"no channel named {notification.key.channel!r}; known: {sorted(channels)}"
            )
        record = deliver_one(
            notification, channel, max_attempts=max_attempts, backoff_s=backoff_s, sleep=sleep
        )
        if record.delivered and on_delivered is not None:
            on_delivered(record)
        records.append(record)
    return records


def deliver_one(
    notification: Notification,
    channel: Channel,
    *,
    max_attempts: int = 4,
    backoff_s: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryRecord:
    """Send one notification, retrying failures with exponential backoff."""
    error = ""
    for attempt in range(1, max_attempts + 1):
        try:
            channel.send(notification.message)
        except DeliveryError as err:
            error = str(err)
            if attempt < max_attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
            continue
        return DeliveryRecord(key=notification.key, delivered=True, attempts=attempt)
    return DeliveryRecord(key=notification.key, delivered=False, attempts=max_attempts, error=error)
