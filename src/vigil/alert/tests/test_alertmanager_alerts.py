"""Incidents -> Alertmanager alerts: labels fixed for an incident's life, times, links, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.alert import ALERTNAME, AlertmanagerSettings, Links, incident_alert
from vigil.core import ConfigError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import GroupingSettings, Incident, IncidentState, update_incidents

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)
SETTINGS = AlertmanagerSettings(urls=("http://127.0.0.1:9093",), labels={"team": "ml"})
GROUPING = GroupingSettings(gap=timedelta(hours=3), resolve_after=timedelta(hours=6))


def anomaly(
    statistic: str,
    column: str = "",
    *,
    family: str = "feature",
    at: datetime = T0,
    sev: float = 2.0,
) -> Anomaly:
    key = SeriesKey(model="ranker", version="v3", family=family, column=column, statistic=statistic)
    return Anomaly(
        key=key, timestamp=at, value=0.0, expected=1.0, lower=0.5, upper=1.5, score=sev,
        severity=sev, detector="test",
    )  # fmt: skip


def opened(*anomalies: Anomaly) -> Incident:
    (incident,) = update_incidents([], list(anomalies), now=T0, settings=GROUPING)
    return incident


def test_an_incident_keeps_its_labels_while_it_grows() -> None:
    first = opened(anomaly("missing", "age", sev=2.0))
    later = T0 + timedelta(hours=1)
    grown = update_incidents(
        [first],
        [anomaly("type_changed", "b", at=later, sev=9.0)],
        now=later,
        settings=GROUPING,
    )[0]
    assert grown.id == first.id and grown.severity == 9.0
    assert grown.summary.startswith("schema change")  # what it reads like changed...
    before = incident_alert(first, now=NOW, settings=SETTINGS, links=Links())
    after = incident_alert(grown, now=NOW, settings=SETTINGS, links=Links())
    assert (
        before["labels"]
        == after["labels"]
        == {  # ...what identifies it did not
            "alertname": ALERTNAME,
            "incident": first.id,
            "model": "ranker",
            "version": "v3",
            "kind": "missing_feature",
            "severity": "warning",
            "feature": "age",
            "team": "ml",
        }
    )
    assert after["annotations"]["summary"] == grown.summary  # type: ignore[index]
    assert after["annotations"]["vigil_severity"] == "9.0"  # type: ignore[index]


@pytest.mark.parametrize(("severity", "label"), [(2.999, "warning"), (3.0, "critical")])
def test_severity_label_is_the_opening_severity_against_the_threshold(
    severity: float, label: str
) -> None:
    incident = opened(anomaly("requests", family="auxiliary", sev=severity))
    assert incident.severity == severity  # the same number decides the label
    alert = incident_alert(incident, now=NOW, settings=SETTINGS, links=Links())
    assert alert["labels"]["severity"] == label  # type: ignore[index]
    assert alert["labels"]["kind"] == "traffic"  # type: ignore[index]


def test_a_per_host_latency_incident_names_its_host() -> None:
    incident = opened(anomaly("latency_p99", "h-17", family="auxiliary"))
    labels = incident_alert(incident, now=NOW, settings=SETTINGS, links=Links())["labels"]
    assert labels["kind"] == "latency" and labels["host"] == "h-17"  # type: ignore[index]
    assert "feature" not in labels  # type: ignore[operator]


def test_open_alerts_hold_and_resolved_ones_end_at_resolution() -> None:
    incident = opened(anomaly("missing", "age"))
    alert = incident_alert(incident, now=NOW, settings=SETTINGS, links=Links())
    assert alert["startsAt"] == "2026-11-20T14:00:00Z"
    assert alert["endsAt"] == "2026-11-20T19:00:00Z"  # now + hold (3 h)
    quiet = T0 + timedelta(hours=7)
    (resolved,) = update_incidents([incident], [], now=quiet, settings=GROUPING)
    assert resolved.state is IncidentState.RESOLVED and resolved.resolved_at is not None
    ended = incident_alert(resolved, now=quiet, settings=SETTINGS, links=Links())
    assert ended["endsAt"] == resolved.resolved_at.isoformat().replace("+00:00", "Z")
    assert ended["labels"] == alert["labels"]


def test_links_become_annotations_and_the_source_url() -> None:
    incident = opened(anomaly("missing", "age"))
    links = Links(
        vigil_url="https://vigil.example.org",
        dashboard="https://grafana.example.org/d/vigil?var-model={model}&var-version={version}",
    )
    alert = incident_alert(incident, now=NOW, settings=SETTINGS, links=links)
    report = f"https://vigil.example.org/incidents/{incident.id}"
    assert alert["generatorURL"] == report
    assert alert["annotations"]["report"] == report  # type: ignore[index]
    assert alert["annotations"]["dashboard"] == (  # type: ignore[index]
        "https://grafana.example.org/d/vigil?var-model=ranker&var-version=v3"
    )
    bare = incident_alert(incident, now=NOW, settings=SETTINGS, links=Links())
    assert "generatorURL" not in bare and "report" not in bare["annotations"]  # type: ignore[operator]


@pytest.mark.parametrize(
    ("kwargs", "quoted"),
    [
        ({"urls": ()}, "at least one url"),
        ({"urls": ("127.0.0.1:9093",)}, "'127.0.0.1:9093'"),
        ({"urls": ("http://a",), "labels": {"severity": "x"}}, "'severity' is not allowed"),
        ({"urls": ("http://a",), "labels": {"bad-name": "x"}}, "'bad-name'"),
        ({"urls": ("http://a",), "hold": timedelta(0)}, "hold must be positive"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], quoted: str) -> None:
    with pytest.raises(ConfigError, match=quoted):
        AlertmanagerSettings(**kwargs)  # type: ignore[arg-type]


def test_bad_links_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"'grafana\.example\.org'"):
        Links(dashboard="grafana.example.org")
    with pytest.raises(ConfigError, match=r"\{model\} and \{version\}"):
        Links(dashboard="https://g.example.org/{team}")
