"""Alerting: incidents become Alertmanager alerts, and messages on Vigil's own channels.

Teams with Prometheus Alertmanager get every incident as an alert with stable labels
(:mod:`vigil.alert.alertmanager`) and route, group and silence it there. Vigil's own channels
(SMTP e-mail, webhooks, Slack text, a fake) share one small Protocol for teams without one;
routing and delivery are functions over values, with what was already sent passed in by the
pipeline. The :class:`Outbox` sends both off the caller's thread.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.alert.alertmanager import (
        ALERTNAME,
        Alert,
        Alertmanager,
        AlertmanagerSettings,
        incident_alert,
    )
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
        deliver_one,
        plan_notifications,
    )
    from vigil.alert.links import Links
    from vigil.alert.message import Message, header_safe, incident_message
    from vigil.alert.outbox import Outbox

__all__ = [
    "ALERTNAME",
    "Alert",
    "Alertmanager",
    "AlertmanagerSettings",
    "Channel",
    "DeliveryError",
    "DeliveryRecord",
    "Links",
    "MemoryChannel",
    "Message",
    "Notification",
    "NotificationKey",
    "Outbox",
    "Route",
    "SmtpChannel",
    "WebhookChannel",
    "build_email",
    "deliver",
    "deliver_one",
    "header_safe",
    "incident_alert",
    "incident_message",
    "plan_notifications",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.alert.alertmanager": (
            "ALERTNAME",
            "Alert",
            "Alertmanager",
            "AlertmanagerSettings",
            "incident_alert",
        ),
        "vigil.alert.channels": (
            "Channel",
            "DeliveryError",
            "MemoryChannel",
            "SmtpChannel",
            "WebhookChannel",
            "build_email",
        ),
        "vigil.alert.delivery": (
            "DeliveryRecord",
            "Notification",
            "NotificationKey",
            "Route",
            "deliver",
            "deliver_one",
            "plan_notifications",
        ),
        "vigil.alert.links": ("Links",),
        "vigil.alert.message": ("Message", "header_safe", "incident_message"),
        "vigil.alert.outbox": ("Outbox",),
    },
)
