"""Alerting: incidents become messages, routed to owners' channels, delivered once.

Channels (SMTP e-mail, webhooks, a fake) share one small Protocol; routing and delivery are
functions over values, with what was already sent passed in by the pipeline.
"""

from vigil.alert.channels import (
    Channel,
    DeliveryError,
    MemoryChannel,
    SmtpChannel,
    WebhookChannel,
    build_email,
)
from vigil.alert.delivery import (
    DeliveryRecord,
    Notification,
    NotificationKey,
    Route,
    deliver,
    plan_notifications,
)
from vigil.alert.message import Message, header_safe, incident_message

__all__ = [
    "Channel",
    "DeliveryError",
    "DeliveryRecord",
    "MemoryChannel",
    "Message",
    "Notification",
    "NotificationKey",
    "Route",
    "SmtpChannel",
    "WebhookChannel",
    "build_email",
    "deliver",
    "header_safe",
    "incident_message",
    "plan_notifications",
]
