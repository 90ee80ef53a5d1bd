"""Incidents as Prometheus Alertmanager alerts (``POST /api/v2/alerts``).

Teams that run Alertmanager already route, group, inhibit, silence and page with it; Vigil hands
it every incident and lets it decide. The mapping, decided once here:

- **labels** identify the alert, so they never change while the incident lives: ``alertname``
  (``VigilIncident``), ``incident`` (its id), ``model``, ``version``, ``kind`` (the
  :class:`~vigil.incidents.IncidentKind` of what opened it), ``severity`` (``critical`` when the
  severity it opened with reaches ``critical_severity``, else ``warning``), and ``feature`` or
  ``host`` where the opening anomalies name one; plus the configured static labels (``team``,
  ``env``). Alertmanager fingerprints alerts by their labels: one incident is one alert, however
  often it is posted.
- **annotations** carry what changes: the summary, a description with the current state and
  severity, and the links to the incident's page and the model's dashboard.
- **times**: ``startsAt`` is when the incident opened. An open incident is posted every cycle
  with ``endsAt = now + hold``, so it stays firing while Vigil keeps running and lapses by
  itself ``hold`` after Vigil stops; a resolved one is posted with ``endsAt`` at its resolution,
  which resolves the alert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.alert.channels import DeliveryError
from vigil.alert.links import Links
from vigil.core import ConfigError
from vigil.incidents import Incident, IncidentState, opening_problem

ALERTNAME = "VigilIncident"
_OWN_LABELS = ("alertname", "incident", "model", "version", "kind", "severity", "feature", "host")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Alert = dict[str, object]
"""One alert as Alertmanager's v2 API takes it (``labels``, ``annotations``, times, URL)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertmanagerSettings:
    """Where to post and how to label; ``urls`` are the replicas of one Alertmanager cluster."""

    urls: tuple[str, ...]
    hold: timedelta = timedelta(hours=3)
    """How long an open incident's alert stays firing after the last post; keep it above two
    runner cycles (``vigil run --every``)."""
    critical_severity: float = 3.0
    labels: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.urls:
            raise ConfigError("alertmanager needs at least one url")
        for url in self.urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(f"alertmanager url must start with http(s)://, got {url!r}")
        if self.hold <= timedelta(0):
            raise ConfigError(f"alertmanager hold must be positive, got {self.hold}")
        if not self.timeout_s > 0:
            raise ConfigError(f"alertmanager timeout must be positive, got {self.timeout_s!r}")
        for name in self.labels:
            if name in _OWN_LABELS or not _LABEL_NAME.fullmatch(name):
                raise ConfigError(
                    f"alertmanager label {name!r} is not allowed: use a Prometheus label name "
                    f"other than {', '.join(_OWN_LABELS)}"
                )


def incident_alert(
    incident: Incident, *, now: datetime, settings: AlertmanagerSettings, links: Links
) -> Alert:
    """The alert for ``incident`` as of ``now`` (see the module docstring)."""
    problem = opening_problem(incident)
    labels = {
        **settings.labels,
        "alertname": ALERTNAME,
        "incident": incident.id,
        "model": incident.model,
        "version": incident.version,
        "kind": problem.kind.value,
        "severity": "critical" if problem.severity >= settings.critical_severity else "warning",
        "feature": problem.feature,
        "host": problem.host,
    }
    report, dashboard = links.incident(incident), links.model_dashboard(incident)
    annotations = {
        "summary": incident.summary,
        "description": _description(incident),
        "vigil_severity": f"{incident.severity:.1f}",
        "report": report,
        "dashboard": dashboard,
    }
    resolved = incident.state is IncidentState.RESOLVED and incident.resolved_at is not None
    ends = incident.resolved_at if resolved and incident.resolved_at else now + settings.hold
    alert: Alert = {
        # Prometheus treats an empty label as an absent one; Alertmanager refuses empty values.
        "labels": {name: value for name, value in labels.items() if value},
        "annotations": {name: value for name, value in annotations.items() if value},
        "startsAt": _rfc3339(incident.opened_at),
        "endsAt": _rfc3339(max(ends, incident.opened_at)),
    }
    if report:
        alert["generatorURL"] = report
    return alert


def _description(incident: Incident) -> str:
    version = f" version {incident.version}" if incident.version else ""
    series = ", ".join(str(key) for key in incident.series[:5])
    more = f" and {len(incident.series) - 5} more" if len(incident.series) > 5 else ""
    return (
        f"{incident.state.value} incident of {incident.model}{version}, severity "
        f"{incident.severity:.1f}, opened {incident.opened_at:%Y-%m-%d %H:%M} UTC; "
        f"{len(incident.anomalies)} anomalies in {series}{more}"
    )


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class Alertmanager:
    """Posts alerts to every replica; delivered when at least one took them (replicas gossip)."""

    settings: AlertmanagerSettings

    def post(self, alerts: Sequence[Alert]) -> None:
        """Raises :class:`DeliveryError` when no replica took them."""
        if not alerts:
            return
        import httpx  # on first send: importing the store or a message must not load HTTP

        problems, delivered = [], False
        for url in self.settings.urls:  # every replica, as Prometheus does
            endpoint = f"{url.rstrip('/')}/api/v2/alerts"
            try:
                response = httpx.post(endpoint, json=list(alerts), timeout=self.settings.timeout_s)
            except httpx.HTTPError as err:
                problems.append(f"{endpoint} unreachable: {err}")
                continue
            if response.status_code < 300:
                delivered = True
            else:
                problems.append(
                    f"{endpoint} answered {response.status_code}: {response.text[:300]}"
                )
        if not delivered:
            raise DeliveryError("no Alertmanager took the alerts: " + "; ".join(problems))
