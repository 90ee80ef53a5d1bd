"""Segments in incidents: a segment's shift and its whole-model echo are one incident, and the
summary names the segment only when the segment moved more than the whole model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.core import SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import (
    GroupingSettings,
    IncidentKind,
    features_of,
    segments_of,
    subject_of,
    update_incidents,
)

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
SETTINGS = GroupingSettings(gap=timedelta(hours=3), resolve_after=timedelta(hours=6))


def _anomaly(
    column: str,
    *,
    at: datetime = T0,
    severity: float = 3.0,
    statistic: str = "mean",
    family: str = "drift",
) -> Anomaly:
    return Anomaly(
        key=SeriesKey(
            model="ranker", version="v1", family=family, column=column, statistic=statistic
        ),
        timestamp=at,
        value=60.0,
        expected=50.0,
        lower=48.0,
        upper=52.0,
        score=severity,
        severity=severity,
        detector="drift",
    )


def test_a_segment_and_its_whole_model_echo_are_one_subject() -> None:
    whole, segment = _anomaly("age"), _anomaly("age@region=eu")
    assert subject_of(whole.key) == subject_of(segment.key) == "feature:age"
    assert features_of([whole, segment]) == ("age",)
    assert segments_of([whole, segment]) == ("region=eu",)
    assert subject_of(_anomaly("score@region=eu", family="output").key) == "output:score"


def test_the_echo_joins_the_segments_incident_even_after_the_opening_gap() -> None:
    # The segment is flagged from 14:00 every hour; the diluted whole model only at 20:00,
    # beyond the 3 h opening gap: one incident, not two.
    segment = [_anomaly("age@region=eu", at=T0 + timedelta(hours=h)) for h in range(7)]
    echo = _anomaly("age", at=T0 + timedelta(hours=6), severity=1.5)
    incidents = update_incidents(
        [], [*segment, echo], now=T0 + timedelta(hours=7), settings=SETTINGS
    )
    assert len(incidents) == 1
    assert len(incidents[0].anomalies) == 8
    # A different feature at the same hour is another problem.
    other = _anomaly("height", at=T0 + timedelta(hours=6))
    assert (
        len(update_incidents(incidents, [other], now=T0 + timedelta(hours=7), settings=SETTINGS))
        == 2
    )


def test_the_summary_names_the_segment_that_moved_most() -> None:
    (incident,) = update_incidents(
        [],
        [_anomaly("age@region=eu", severity=6.0), _anomaly("age", severity=1.5)],
        now=T0,
        settings=SETTINGS,
    )
    assert incident.kind is IncidentKind.DRIFT
    assert "feature `age` of ranker-v1 drifted in segment region=eu since" in incident.summary


def test_a_change_of_the_whole_model_names_no_segment() -> None:
    # Every segment moved as much as the model: the model changed, not a segment of it.
    found = [
        _anomaly("age", severity=4.0),
        _anomaly("age@region=eu", severity=4.0),
        _anomaly("age@region=us", severity=3.0),
    ]
    (incident,) = update_incidents([], found, now=T0, settings=SETTINGS)
    assert "drifted since" in incident.summary and "segment" not in incident.summary


def test_two_segments_moving_are_counted() -> None:
    found = [_anomaly("age@region=eu", severity=6.0), _anomaly("age@region=us", severity=5.0)]
    (incident,) = update_incidents([], found, now=T0, settings=SETTINGS)
    assert "drifted in segment region=eu (and 1 more segment) since" in incident.summary


def test_a_feature_missing_in_one_segment_only_says_where() -> None:
    missing = _anomaly("plan@region=eu", statistic="missing", family="feature")
    (incident,) = update_incidents([], [missing], now=T0, settings=SETTINGS)
    assert incident.kind is IncidentKind.MISSING_FEATURE
    assert "feature `plan` of ranker-v1 missing in segment region=eu since" in incident.summary
    whole = _anomaly("plan", statistic="missing", family="feature")
    (both,) = update_incidents([], [missing, whole], now=T0, settings=SETTINGS)
    assert "missing since" in both.summary and "segment" not in both.summary
