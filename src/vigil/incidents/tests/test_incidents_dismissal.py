"""A false-alarm verdict resolves its incident and silences exactly its series for a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import (
    Feedback,
    GroupingSettings,
    IncidentState,
    Verdict,
    dismiss,
    drop_silenced,
    update_incidents,
)

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
SETTINGS = GroupingSettings(gap=timedelta(hours=3), resolve_after=timedelta(hours=6))


def _anomaly(column: str, at: datetime = T0, severity: float = 3.0) -> Anomaly:
    return Anomaly(
        key=SeriesKey(model="rank*er", version="v1", family="feature", column=column,
                      statistic="mean"),
        timestamp=at, value=9.0, expected=1.0, lower=0.0, upper=2.0, score=severity,
        severity=severity, detector="test",
    )  # fmt: skip


def test_a_false_alarm_resolves_and_silences_only_its_series() -> None:
    found = [_anomaly("age", severity=5.0), _anomaly("f[1]?", severity=2.0)]
    (incident,) = update_incidents([], found, now=T0, settings=SETTINGS)
    at = T0 + timedelta(hours=2)
    verdict = Feedback(incident_id=incident.id, verdict=Verdict.FALSE_ALARM, at=at, by="ana")
    resolved, silences = dismiss(incident, verdict, silence_for=timedelta(hours=24))
    assert (resolved.state, resolved.resolved_at) == (IncidentState.RESOLVED, at)
    assert len(silences) == 2 and all(incident.id in s.reason for s in silences)
    assert {(s.starts, s.expires) for s in silences} == {(T0, at + timedelta(hours=24))}
    # Names holding pattern characters are matched literally.
    later = [_anomaly(c, at=at + timedelta(hours=1)) for c in ("age", "f[1]?", "f1x", "height")]
    kept = drop_silenced(later, silences)
    assert [a.key.column for a in kept] == ["f1x", "height"]
    # Expired after a day: the same series page again.
    assert len(drop_silenced([_anomaly("age", at=at + timedelta(days=2))], silences)) == 1
    # Deterministic ids: a repeated verdict overwrites the same silences.
    assert [s.id for s in dismiss(incident, verdict)[1]] == [s.id for s in silences]


def test_dismissal_caps_the_silences_and_refuses_other_verdicts() -> None:
    found = [_anomaly(f"f_{i}", severity=float(i + 1)) for i in range(30)]
    (incident,) = update_incidents([], found, now=T0, settings=SETTINGS)
    verdict = Feedback(incident_id=incident.id, verdict=Verdict.FALSE_ALARM, at=T0)
    _, silences = dismiss(incident, verdict, max_series=20)
    assert len(silences) == 20
    assert {s.matchers["column"] for s in silences} == {f"f_{i}" for i in range(10, 30)}
    with pytest.raises(ConfigError, match="only a false alarm"):
        dismiss(incident, Feedback(incident_id=incident.id, verdict=Verdict.CONFIRMED, at=T0))
    with pytest.raises(ConfigError, match="feedback is for"):
        dismiss(incident, Feedback(incident_id="inc-other", verdict=Verdict.FALSE_ALARM, at=T0))
