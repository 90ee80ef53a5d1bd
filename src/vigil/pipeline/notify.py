"""A cycle's alerts and notifications: Alertmanager first, then what Vigil's own channels still
owe, sent by the cycle itself or queued in an outbox that sends off its thread."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from vigil.alert import (
    Alert,
    AlertmanagerSettings,
    Channel,
    DeliveryError,
    DeliveryRecord,
    Links,
    Outbox,
    deliver,
    incident_alert,
    plan_notifications,
)
from vigil.incidents import Incident, IncidentState
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.reports import email_report
from vigil.report import ModelReport
from vigil.store import Store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Senders:
    """The cycle's own channels, or an outbox that sends off its thread (see run_cycle)."""

    channels: Mapping[str, Channel]
    outbox: Outbox | None
    wall: datetime
    """The wall-clock time of the cycle: Alertmanager times an open alert's end by its own
    clock, also when ``now`` is a simulated time."""


def notify(
    store: Store,
    incidents: Sequence[Incident],
    reports: Sequence[ModelReport],
    senders: Senders,
    config: VigilConfig,
    now: datetime,
) -> tuple[int, int, int]:
    """Alerts for Alertmanager, then the notifications still owed on Vigil's own channels.

    Returns (queued, sent, failed): queued in the outbox, or sent and failed by this cycle.
    """
    outbox = senders.outbox
    links = config.build_links()
    alertmanager = config.build_alertmanager()
    if alertmanager is not None:
        alerts = _alerts(store, incidents, alertmanager.settings, links, now, senders.wall)
        if outbox is not None:
            outbox.post_alerts(alerts)
        else:
            try:
                alertmanager.post(alerts)
            except DeliveryError as err:  # retried with the whole set next cycle
                logger.warning("alertmanager: %d alerts not delivered: %s", len(alerts), err)
    routes = config.build_routes()
    if not routes:
        return 0, 0, 0
    already_sent = store.notifications.delivered() | (outbox.pending() if outbox else set())
    pending = plan_notifications(incidents, routes, already_sent=already_sent)
    if not pending:
        return 0, 0, 0
    models = {n.message.model for n in pending}
    rendered = {r.model: email_report(r) for r in reports if r.model in models}
    pending = plan_notifications(
        incidents, routes, already_sent=already_sent, reports=rendered, links=links
    )
    if outbox is not None:
        return outbox.submit(pending), 0, 0
    records = deliver(
        pending, senders.channels, on_delivered=lambda r: store.notifications.put(r, at=now)
    )
    for record in records:
        if not record.delivered:
            store.notifications.put(record, at=now)
    delivered = sum(1 for r in records if r.delivered)
    return 0, delivered, len(records) - delivered


def _alerts(
    store: Store,
    incidents: Sequence[Incident],
    settings: AlertmanagerSettings,
    links: Links,
    now: datetime,
    wall: datetime,
) -> list[Alert]:
    """Every incident of this cycle, and those resolved within ``hold`` of ``now`` (their
    resolution is posted again while it matters, in case a post was lost)."""
    recent = store.incidents.get(
        states={IncidentState.RESOLVED}, resolved_after=now - settings.hold
    )
    current = {i.id: i for i in [*recent, *incidents]}  # this cycle's state wins
    return [incident_alert(i, now=wall, settings=settings, links=links) for i in current.values()]


def record_finished(store: Store, outbox: Outbox, *, now: datetime) -> tuple[int, int]:
    """Store what ``outbox`` finished sending (a failure too, so it shows); returns (delivered,
    failed). A cycle does it; so does the owner of the outbox before it exits."""
    records: Sequence[DeliveryRecord] = outbox.collect()
    for record in records:
        store.notifications.put(record, at=now)
    delivered = sum(1 for record in records if record.delivered)
    return delivered, len(records) - delivered
