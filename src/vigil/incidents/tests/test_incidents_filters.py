"""Each filter removes what it should, and reports how many it removed."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vigil.core import ConfigError, SeriesKey
from vigil.detect import Anomaly
from vigil.incidents import (
    FilterSettings,
    MaintenanceWindow,
    Silence,
    apply_cooldown,
    apply_filters,
    deduplicate,
    require_duration,
)

T0 = datetime(2026, 11, 20, tzinfo=UTC)
HOUR = timedelta(hours=1)


def anomaly(
    at: datetime = T0,
    column: str = "age",
    severity: float = 3.0,
    score: float = 1.0,
    model: str = "ranker",
) -> Anomaly:
    return Anomaly(
        key=SeriesKey(model=model, version="v1", family="feature", column=column, statistic="mean"),
        timestamp=at,
        value=5.0,
        expected=1.0,
        lower=0.0,
        upper=2.0,
        score=score,
        severity=severity,
        detector="test",
    )


def test_deduplicate_keeps_the_highest_score_per_series_and_time() -> None:
    kept = deduplicate([anomaly(score=1.0), anomaly(score=4.0), anomaly(at=T0 + HOUR)])
    assert [a.score for a in kept] == [4.0, 1.0]


def test_one_step_far_enough_outside_is_kept_without_waiting_for_the_duration_rule() -> None:
    """A traffic stop that fills one whole window (and half of two others) is news at once."""
    assert require_duration([anomaly(severity=3.0)], k=2, n=3, step=HOUR, urgent_severity=3.0)
    assert not require_duration([anomaly(severity=2.99)], k=2, n=3, step=HOUR, urgent_severity=3.0)
    settings = FilterSettings(duration_k=2, duration_n=3, urgent_severity=3.0)
    assert len(apply_filters([anomaly(severity=5.0)], settings).kept) == 1


def test_duration_needs_k_of_n_steps() -> None:
    lone = [anomaly(at=T0), anomaly(at=T0 + 10 * HOUR)]
    assert require_duration(lone, k=2, n=3, step=HOUR) == []
    run = [anomaly(at=T0), anomaly(at=T0 + 2 * HOUR), anomaly(at=T0 + 3 * HOUR)]
    assert [a.timestamp for a in require_duration(run, k=2, n=3, step=HOUR)] == [
        T0 + 2 * HOUR,
        T0 + 3 * HOUR,
    ]


def test_cooldown_drops_repeats_within_the_period() -> None:
    found = [anomaly(at=T0 + i * HOUR) for i in range(5)]
    assert len(apply_cooldown(found, timedelta(hours=2))) == 3


def test_silences_match_patterns_and_expire() -> None:
    silence = Silence(
        id="s1",
        matchers={"model": "rank*", "column": "age"},
        starts=T0,
        expires=T0 + 2 * HOUR,
        reason="known backfill",
    )
    found = [anomaly(), anomaly(column="zip"), anomaly(at=T0 + 3 * HOUR), anomaly(model="other")]
    outcome = apply_filters(found, FilterSettings(), silences=[silence])
    assert len(outcome.kept) == 3
    assert {r.name: r.removed for r in outcome.reports}["silences"] == 1


def test_maintenance_window_mutes_a_model() -> None:
    window = MaintenanceWindow(model="ranker", start=T0, end=T0 + HOUR)
    outcome = apply_filters(
        [anomaly(), anomaly(model="other")], FilterSettings(), maintenance=[window]
    )
    assert [a.key.model for a in outcome.kept] == ["other"]


def test_severity_filter_keeps_unknown_severity() -> None:
    found = [
        anomaly(severity=0.5),
        anomaly(column="b", severity=2.0),
        anomaly(column="c", severity=math.nan),
    ]
    outcome = apply_filters(found, FilterSettings(min_severity=1.0))
    assert sorted(a.key.column for a in outcome.kept) == ["b", "c"]
    assert {r.name: r.removed for r in outcome.reports}["severity"] == 1


def test_low_traffic_versions_are_downgraded_not_dropped() -> None:
    outcome = apply_filters(
        [anomaly()],
        FilterSettings(min_traffic_share=0.05),
        traffic_share={("ranker", "v1"): 0.01, ("ranker", "v2"): 0.99},
    )
    assert len(outcome.kept) == 1
    assert outcome.downgraded_versions == frozenset({("ranker", "v1")})


@pytest.mark.parametrize("kwargs", [{"duration_k": 3, "duration_n": 2}, {"min_severity": -1.0}])
def test_bad_settings_are_rejected_with_the_value(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        FilterSettings(**kwargs)  # type: ignore[arg-type]


def test_silence_needs_reason_and_known_fields() -> None:
    with pytest.raises(ConfigError, match="reason"):
        Silence(id="s", starts=T0, expires=T0 + HOUR, reason=" ")
    with pytest.raises(ConfigError, match="unknown fields"):
        Silence(id="s", matchers={"host": "x"}, starts=T0, expires=T0 + HOUR, reason="r")


def _count(value: float, expected: float, statistic: str = "requests") -> Anomaly:
    return Anomaly(
        key=SeriesKey(model="m", version="*", family="auxiliary", column="", statistic=statistic),
        timestamp=T0,
        value=value,
        expected=expected,
        lower=expected / 3,
        upper=expected * 3,
        score=2.5,
        severity=2.5,
        detector="test",
    )


def test_a_window_without_a_request_where_twenty_were_expected_is_a_stop_kept_at_once() -> None:
    assert require_duration([_count(0.0, 20.0)], k=2, n=3, step=HOUR)
    assert not require_duration([_count(0.0, 19.9)], k=2, n=3, step=HOUR)
    assert not require_duration([_count(1.0, 300.0)], k=2, n=3, step=HOUR)  # a drop, not a stop
    assert not require_duration([_count(0.0, 300.0, "latency_p99")], k=2, n=3, step=HOUR)
