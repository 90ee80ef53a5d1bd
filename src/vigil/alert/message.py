"""Messages about incidents, and the header hygiene that keeps data out of mail headers."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vigil.incidents import Incident

if TYPE_CHECKING:  # rendering (Jinja2) loads when a report is made, not with a message
    from vigil.report import RenderedReport

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
MAX_SUBJECT = 200


def header_safe(text: str, limit: int = MAX_SUBJECT) -> str:
    """Collapse control characters (CR, LF, …) to spaces so data cannot inject mail headers."""
    cleaned = _CONTROL.sub(" ", text).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One notification about one incident state, ready for any channel."""

    incident_id: str
    state: str
    model: str
    subject: str
    text: str
    html: str = ""
    images: dict[str, bytes] = field(default_factory=dict)
    """Content id -> PNG for inline e-mail parts (referenced as ``cid:`` in ``html``)."""
    severity: float = 0.0
    link: str = ""
    """The incident's page on the Vigil server (``[links] vigil``), when configured."""

    def __post_init__(self) -> None:
        if self.subject != header_safe(self.subject):
            raise ValueError(f"message subject must be header-safe, got {self.subject!r}")

    def delivery_id(self, channel: str) -> str:
        """The same for every attempt to send this incident state on ``channel``.

        Delivery is at-least-once: a runner killed after a receiver got a message but before
        the success was recorded sends it again. Webhooks carry this id as ``Idempotency-Key``
        (and ``delivery_id``) and e-mails as their ``Message-ID``, so a receiver can drop the
        repeat.
        """
        text = f"{self.incident_id}\0{self.state}\0{channel}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def incident_message(
    incident: Incident, report: RenderedReport | None = None, *, link: str = ""
) -> Message:
    """The message for the incident's current state; the report (CID images) when given, and
    ``link`` to the incident's page."""
    state = incident.state.value.upper()
    subject = header_safe(f"[Vigil {state}] {incident.summary}")
    lines = [
        incident.summary,
        "",
        f"incident: {incident.id}",
        f"state: {incident.state.value}",
        f"model: {incident.model}" + (f" version {incident.version}" if incident.version else ""),
        f"severity: {incident.severity:.1f}",
        f"opened: {incident.opened_at:%Y-%m-%d %H:%M} UTC",
        f"anomalies: {len(incident.anomalies)} in {len(incident.series)} series",
    ]
    lines += [f"  - {key}" for key in incident.series[:10]]
    if link:
        lines += ["", f"details: {link}"]
    if report is not None:
        lines += ["", report.text]
    return Message(
        incident_id=incident.id,
        state=incident.state.value,
        model=incident.model,
        subject=subject,
        text="\n".join(lines),
        html=report.html if report is not None else "",
        images=dict(report.images) if report is not None else {},
        severity=incident.severity,
        link=link,
    )
