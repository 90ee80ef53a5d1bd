"""Vigil's incidents in Debian's real Alertmanager: they arrive, group, are silenced, resolve.

The ``alertmanager`` fixture (conftest.py) starts ``prometheus-alertmanager`` on a free
loopback port with a route that groups by ``model`` and ``kind`` and notifies a webhook receiver,
so the tests see both sides: Alertmanager's own API, and what a pager behind it would get.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from vigil.alert import Alertmanager, AlertmanagerSettings, Links, incident_alert
from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import GroupingSettings, Incident, IncidentState, update_incidents

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
T0 = NOW - timedelta(hours=2)
GROUPING = GroupingSettings(gap=timedelta(hours=3), resolve_after=timedelta(hours=1))
LINKS = Links(vigil_url="http://vigil.example.org")

Service = tuple[str, list[dict[str, Any]]]


def incident(model: str, version: str, statistic: str, column: str = "") -> Incident:
    family = "auxiliary" if statistic == "requests" else "feature"
    key = SeriesKey(model=model, version=version, family=family, column=column, statistic=statistic)
    anomaly = Anomaly(
        key=key, timestamp=T0, value=0.0, expected=1.0, lower=0.5, upper=1.5, score=4.0,
        severity=4.0, detector="test",
    )  # fmt: skip
    return update_incidents([], [anomaly], now=T0, settings=GROUPING)[0]


def post(url: str, incidents: list[Incident], *, now: datetime = NOW) -> None:
    settings = AlertmanagerSettings(urls=(url,), labels={"team": "ml"})
    alerts = [incident_alert(i, now=now, settings=settings, links=LINKS) for i in incidents]
    Alertmanager(settings=settings).post(alerts)


def active_alerts(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/api/v2/alerts", timeout=5)
    response.raise_for_status()
    alerts: list[dict[str, Any]] = response.json()
    return sorted(alerts, key=lambda a: str(a["labels"]["incident"]))


def eventually(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "Alertmanager did not get there in time"
        time.sleep(0.1)


def notified(received: list[dict[str, Any]], status: str) -> list[set[str]]:
    """The groups Alertmanager notified with ``status``, as sets of incident ids."""
    return [
        {alert["labels"]["incident"] for alert in group["alerts"]}
        for group in received
        if group["status"] == status
    ]


def test_incidents_arrive_with_their_labels_and_are_grouped(alertmanager: Service) -> None:
    url, received = alertmanager
    ranker_v3 = incident("ranker", "v3", "missing", "age")
    ranker_v4 = incident("ranker", "v4", "missing", "age")
    fraud = incident("fraud", "v1", "requests")
    post(url, [ranker_v3, ranker_v4, fraud])
    alerts = active_alerts(url)
    assert len(alerts) == 3
    (first,) = [a for a in alerts if a["labels"]["incident"] == ranker_v3.id]
    assert first["labels"] == {
        "alertname": "VigilIncident",
        "incident": ranker_v3.id,
        "model": "ranker",
        "version": "v3",
        "kind": "missing_feature",
        "severity": "critical",
        "feature": "age",
        "team": "ml",
    }
    assert first["annotations"]["summary"] == ranker_v3.summary
    assert first["annotations"]["report"] == f"http://vigil.example.org/incidents/{ranker_v3.id}"
    assert first["generatorURL"] == first["annotations"]["report"]
    assert first["status"]["state"] == "active"
    # grouped by model and kind: one page for both ranker versions, one for fraud. Under load
    # Alertmanager may flush the ranker group after one alert and send it again, whole, one
    # group_interval later; a group never mixes models.
    ranker = {ranker_v3.id, ranker_v4.id}
    eventually(lambda: ranker in notified(received, "firing"))
    eventually(lambda: {fraud.id} in notified(received, "firing"))
    assert all(group <= ranker or group == {fraud.id} for group in notified(received, "firing"))

    # the next cycle posts them again, one grown: still the same three alerts
    grown = update_incidents([ranker_v3], [], now=T0 + timedelta(minutes=30), settings=GROUPING)[0]
    post(url, [grown, ranker_v4, fraud])
    assert [a["fingerprint"] for a in active_alerts(url)] == [a["fingerprint"] for a in alerts]


def test_an_alertmanager_silence_silences_the_incident(alertmanager: Service) -> None:
    url, received = alertmanager
    silence = {
        "matchers": [{"name": "model", "value": "ranker", "isRegex": False, "isEqual": True}],
        "startsAt": (NOW - timedelta(hours=3)).isoformat(),
        "endsAt": (NOW + timedelta(hours=3)).isoformat(),
        "createdBy": "on-call",
        "comment": "planned retraining",
    }
    created = httpx.post(f"{url}/api/v2/silences", json=silence, timeout=5)
    assert created.status_code == 200, created.text
    silence_id = created.json()["silenceID"]
    ranker, fraud = incident("ranker", "v3", "missing", "age"), incident("fraud", "v1", "requests")
    post(url, [ranker, fraud])
    states = {a["labels"]["model"]: a["status"] for a in active_alerts(url)}
    assert states["ranker"]["state"] == "suppressed"
    assert states["ranker"]["silencedBy"] == [silence_id]
    assert states["fraud"]["state"] == "active"
    eventually(lambda: len(received) >= 1)
    time.sleep(2.5)  # two more group intervals: a page for ranker would have gone out by now
    assert notified(received, "firing") == [{fraud.id}]


def test_a_resolved_incident_resolves_its_alert(alertmanager: Service) -> None:
    url, received = alertmanager
    ranker = incident("ranker", "v3", "missing", "age")
    post(url, [ranker])
    eventually(lambda: notified(received, "firing") == [{ranker.id}])
    (resolved,) = update_incidents([ranker], [], now=NOW - timedelta(minutes=30), settings=GROUPING)
    assert resolved.state is IncidentState.RESOLVED
    post(url, [resolved])
    eventually(lambda: notified(received, "resolved") == [{ranker.id}])
    assert active_alerts(url) == []
    (group,) = [g for g in received if g["status"] == "resolved"]
    assert group["alerts"][0]["endsAt"].startswith(
        resolved.resolved_at.strftime("%Y-%m-%dT%H:%M")  # type: ignore[union-attr]
    )
