"""Grouping, lifecycle, platform folding, summaries and feedback of incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import (
    PLATFORM,
    Feedback,
    GroupingSettings,
    IncidentKind,
    IncidentState,
    Verdict,
    co_movements,
    feedback_labels,
    fold_platform_incidents,
    update_incidents,
)

T0 = datetime(2026, 11, 20, 14, tzinfo=UTC)
HOUR = timedelta(hours=1)


def anomaly(
    model: str = "ranker",
    column: str = "age",
    statistic: str = "mean",
    family: str = "feature",
    at: datetime = T0,
    value: float = 10.0,
    expected: float = 1.0,
    severity: float = 3.0,
) -> Anomaly:
    return Anomaly(
        key=SeriesKey(model=model, version="v3", family=family, column=column, statistic=statistic),
        timestamp=at,
        value=value,
        expected=expected,
        lower=expected - 1,
        upper=expected + 1,
        score=severity * 2,
        severity=severity,
        detector="test",
    )


SETTINGS = GroupingSettings(gap=timedelta(hours=3), resolve_after=timedelta(hours=6))


def test_forty_series_moving_together_are_one_incident() -> None:
    found = [anomaly(column=f"f_{i}", statistic="ks") for i in range(40)]
    incidents = update_incidents([], found, now=T0, settings=SETTINGS)
    assert len(incidents) == 1
    assert len(incidents[0].anomalies) == 40
    assert incidents[0].summary.startswith("schema change in ranker-v3 since")
    assert "40 features changed at once" in incidents[0].summary
    assert incidents[0].kind is IncidentKind.SCHEMA


def test_separate_episodes_become_separate_incidents() -> None:
    first = anomaly(at=T0)
    second = anomaly(at=T0 + 10 * HOUR)
    incidents = update_incidents([], [first, second], now=T0 + 10 * HOUR, settings=SETTINGS)
    assert len(incidents) == 2
    assert incidents[0].state is IncidentState.RESOLVED
    assert incidents[0].resolved_at == T0 + SETTINGS.resolve_after
    assert incidents[1].state is IncidentState.OPEN


def test_lifecycle_open_while_live_then_resolved_and_rerun_is_idempotent() -> None:
    opened = update_incidents([], [anomaly(at=T0)], now=T0, settings=SETTINGS)
    assert [i.state for i in opened] == [IncidentState.OPEN]
    updated = update_incidents(opened, [anomaly(at=T0 + HOUR)], now=T0 + HOUR, settings=SETTINGS)
    assert [i.state for i in updated] == [IncidentState.OPEN]  # live is open, however updated
    assert updated[0].id == opened[0].id
    again = update_incidents(updated, [anomaly(at=T0 + HOUR)], now=T0 + HOUR, settings=SETTINGS)
    assert again == updated
    resolved = update_incidents(updated, [], now=T0 + 8 * HOUR, settings=SETTINGS)
    assert resolved[0].state is IncidentState.RESOLVED


def test_a_stored_updated_state_reads_as_open() -> None:
    assert IncidentState("updated") is IncidentState.OPEN
    assert [s.value for s in IncidentState] == ["open", "resolved"]


def test_ids_are_stable_across_runs() -> None:
    first = update_incidents([], [anomaly()], now=T0, settings=SETTINGS)
    second = update_incidents([], [anomaly()], now=T0, settings=SETTINGS)
    assert first[0].id == second[0].id


def test_most_models_at_once_fold_into_one_platform_incident() -> None:
    found = [anomaly(model=f"m{i}", at=T0 + timedelta(minutes=i)) for i in range(8)]
    incidents = update_incidents([], found, now=T0 + HOUR, settings=SETTINGS)
    assert len(incidents) == 8
    folded = fold_platform_incidents(incidents, total_models=10, settings=SETTINGS)
    assert len(folded) == 1
    assert folded[0].model == PLATFORM
    assert len(folded[0].members) == 8
    assert "drift on 8 models" in folded[0].summary
    assert folded[0].kind is IncidentKind.PLATFORM


def test_problems_of_different_kinds_that_coincide_are_not_folded() -> None:
    """Three unrelated problems at once on a three-model platform are three problems."""
    found = [
        anomaly(model="a", family="auxiliary", column="", statistic="latency_p99"),
        anomaly(model="b", statistic="missing"),
        anomaly(model="c", statistic="ks", family="drift"),
    ]
    incidents = update_incidents([], found, now=T0, settings=SETTINGS)
    assert fold_platform_incidents(incidents, total_models=3, settings=SETTINGS) == incidents


def test_a_new_problem_during_an_ongoing_incident_opens_its_own() -> None:
    """A feature that goes missing three days into a schema incident is heard."""
    ongoing = [anomaly(column=c, at=T0 + k * HOUR) for k in range(80) for c in ("a", "b")]
    missing = [anomaly(column="plan", statistic="missing", at=T0 + k * HOUR) for k in (72, 73)]
    incidents = update_incidents([], ongoing + missing, now=T0 + 80 * HOUR, settings=SETTINGS)
    assert len(incidents) == 2
    schema, new = incidents
    assert schema.kind is IncidentKind.SCHEMA and new.kind is IncidentKind.MISSING_FEATURE
    assert new.opened_at == T0 + 72 * HOUR
    assert "feature `plan` of ranker-v3 missing since" in new.summary
    assert {a.key.column for a in schema.anomalies} == {"a", "b"}


def test_the_same_subject_later_and_anything_at_the_opening_join_the_incident() -> None:
    opening = [
        anomaly(column="a", at=T0),
        anomaly(column="plan", statistic="missing", at=T0 + 3 * HOUR),
    ]
    later = [
        anomaly(column="a", family="drift", statistic="ks", at=T0 + k * HOUR) for k in range(1, 30)
    ]
    incidents = update_incidents([], opening + later, now=T0 + 30 * HOUR, settings=SETTINGS)
    assert len(incidents) == 1  # within the gap of the opening, and the same feature after it
    apart = anomaly(column="z", at=T0 + 3 * HOUR + timedelta(minutes=1))
    split = update_incidents([], [opening[0], apart], now=T0 + 4 * HOUR, settings=SETTINGS)
    assert len(split) == 2  # just past the gap of the opening, another feature: its own


def test_few_models_are_not_folded() -> None:
    found = [anomaly(model=f"m{i}") for i in range(2)]
    incidents = update_incidents([], found, now=T0, settings=SETTINGS)
    assert fold_platform_incidents(incidents, total_models=10, settings=SETTINGS) == incidents


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (
            [anomaly(statistic="constant", value=1, expected=0)],
            "feature `age` of ranker-v3 has the same value",
        ),
        (
            [replace(anomaly(statistic="constant", value=1, expected=0), note="constant at 0")],
            "feature `age` of ranker-v3 is constant at 0 since 2026-11-20 14:00",
        ),
        (
            [anomaly(column="geo_id", statistic="missing")],
            "feature `geo_id` of ranker-v3 missing since",
        ),
        ([anomaly(statistic="new")], "new feature `age` in ranker-v3 since"),
        (
            [anomaly(family="auxiliary", column="", statistic="requests", value=17, expected=100)],
            "traffic down 83% vs expected",
        ),
        (
            [anomaly(family="auxiliary", column="", statistic="requests", value=0, expected=100)],
            "traffic stopped for ranker-v3 since 2026-11-20 14:00 (expected about 100)",
        ),
        (
            [
                anomaly(
                    family="auxiliary", column="", statistic="latency_p99", value=42, expected=10
                )
            ],
            "p99 latency up 4.2× for ranker-v3 since",
        ),
        (
            [anomaly(family="auxiliary", column="", statistic="latency_p99", value=3, expected=10)],
            "p99 latency down 70% for ranker-v3 since",
        ),
        (
            [anomaly(family="drift", statistic="ks", value=0.6, expected=0)],
            "feature `age` of ranker-v3 drifted since",
        ),
    ],
)
def test_summaries_read_like_a_person_wrote_them(found: list[Anomaly], expected: str) -> None:
    incidents = update_incidents([], found, now=T0, settings=SETTINGS)
    assert expected in incidents[0].summary


def test_co_movements_rank_other_series_of_the_same_model() -> None:
    incident = update_incidents([], [anomaly()], now=T0, settings=SETTINGS)[0]
    others = [
        anomaly(column="country", severity=2.0, at=T0 + timedelta(minutes=30)),
        anomaly(column="device", severity=5.0),
        anomaly(model="other", column="x", severity=9.0),
        anomaly(column="late", at=T0 + 5 * HOUR),
    ]
    ranked = co_movements(incident, others)
    assert [c.key.column for c in ranked] == ["device", "country"]


def test_feedback_becomes_labels() -> None:
    incident = update_incidents([], [anomaly(), anomaly(column="b")], now=T0, settings=SETTINGS)[0]
    confirmed = Feedback(incident_id=incident.id, verdict=Verdict.CONFIRMED, at=T0)
    assert {label.label for label in feedback_labels(incident, confirmed)} == {1}
    false_alarm = Feedback(incident_id=incident.id, verdict=Verdict.FALSE_ALARM, at=T0)
    assert [label.label for label in feedback_labels(incident, false_alarm)] == [0, 0]
    with pytest.raises(ConfigError):
        feedback_labels(incident, Feedback(incident_id="inc-x", verdict=Verdict.CONFIRMED, at=T0))


@pytest.mark.parametrize(("later", "kind"), [(2, IncidentKind.SCHEMA), (3, IncidentKind.DRIFT)])
def test_features_moving_within_the_opening_windows_are_a_schema_change(
    later: int, kind: IncidentKind
) -> None:
    """A change of units that starts mid-window shows on one feature first."""
    first = [anomaly(column="income", at=T0 + k * HOUR) for k in range(5)]
    second = [anomaly(column="loan", at=T0 + k * HOUR) for k in range(later, 5)]
    (incident,) = update_incidents([], first + second, now=T0 + 5 * HOUR, settings=SETTINGS)
    assert incident.kind is kind
