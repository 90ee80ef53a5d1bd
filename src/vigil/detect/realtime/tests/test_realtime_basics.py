"""Events, alerts, statistics and thresholds of the real-time monitors, plus a conformance
suite every monitor is run through."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.stats import chi2, chi2_contingency, power_divergence

from vigil.core import ConfigError, EventKind, SchemaError
from vigil.detect import Anomaly
from vigil.detect.realtime import (
    AlarmRate,
    ArrivalMonitor,
    DelayedFeedbackMonitor,
    Events,
    FakeMonitor,
    LatencyMonitor,
    Monitor,
    MonitorAlert,
    PairedScoreMonitor,
    ScoreDistributionMonitor,
    ScoreThreshold,
    alert_to_anomaly,
)
from vigil.detect.realtime.statistics import (
    chi2_surprise,
    g_statistic,
    pool_sparse_bins,
    signed_root_llr,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _alert(**changes: object) -> MonitorAlert:
    fields: dict[str, object] = {
        "monitor": "latency",
        "model": "ranker",
        "version": "v1",
        "statistic": "g_test",
        "timestamp": T0,
        "score": 12.0,
        "threshold": 8.0,
        "message": "slow requests concentrate on host h-17",
        "evidence": {"observed": 240.0, "expected": 50.0},
    }
    fields.update(changes)
    return MonitorAlert(**fields)  # type: ignore[arg-type]


def test_events_refuse_ragged_columns_and_bad_timestamps() -> None:
    with pytest.raises(SchemaError, match="score"):
        Events(model="m", kind=EventKind.PREDICTION, timestamp_s=np.zeros(3), score=np.zeros(2))
    with pytest.raises(SchemaError, match="not finite"):
        Events(model="m", kind=EventKind.PREDICTION, timestamp_s=np.array([1.0, np.nan]))
    with pytest.raises(SchemaError, match="host"):
        Events(
            model="m",
            kind=EventKind.PREDICTION,
            timestamp_s=np.zeros(2),
            tags={"host": np.array(["a"])},
        )


def test_events_select_filters_every_column_alike() -> None:
    events = Events(
        model="m",
        kind=EventKind.COMPLETION,
        timestamp_s=np.arange(4, dtype=np.float64),
        score=np.array([0.1, 0.2, 0.3, 0.4]),
        tags={"host": np.array(["a", "b", "a", "b"])},
    )
    picked = events.select(events.tags["host"] == "a")
    assert picked.timestamp_s.tolist() == [0.0, 2.0]
    assert picked.score is not None and picked.score.tolist() == [0.1, 0.3]
    assert picked.versions().tolist() == ["", ""]


def test_alert_needs_aware_time_and_becomes_an_anomaly() -> None:
    with pytest.raises(ConfigError, match="timezone"):
        _alert(timestamp=datetime(2026, 11, 2))
    anomaly = alert_to_anomaly(_alert())
    assert isinstance(anomaly, Anomaly)
    assert str(anomaly.key) == "ranker@v1:auxiliary/latency/g_test"
    assert (anomaly.value, anomaly.expected, anomaly.direction) == (240.0, 50.0, "up")
    assert anomaly.severity == pytest.approx(12.0 / 8.0)
    bare = alert_to_anomaly(_alert(evidence={}))
    assert bare.value == 12.0 and math.isnan(bare.expected)


def test_fake_monitor_counts_and_releases_scripted_alerts_once() -> None:
    later = _alert(timestamp=T0 + timedelta(minutes=5))
    fake = FakeMonitor(scripted=[later, _alert()])
    assert isinstance(fake, Monitor)
    fake.update(Events(model="m", kind=EventKind.ARRIVAL, timestamp_s=np.zeros(7)))
    assert (fake.events_seen_, fake.batches_seen_) == (7, 1)
    assert [a.timestamp for a in fake.alerts(T0)] == [T0]
    assert fake.alerts(T0) == []
    assert fake.alerts(T0 + timedelta(hours=1)) == [later]


def test_g_statistic_equals_scipy_log_likelihood_test() -> None:
    observed = np.array([30.0, 14.0, 34.0, 45.0, 57.0, 20.0])
    shares = np.array([0.2, 0.1, 0.2, 0.2, 0.2, 0.1])
    expected = shares * observed.sum()
    reference = power_divergence(observed, expected, lambda_="log-likelihood").statistic
    ours = g_statistic(observed, shares * 1e9, pseudocount=0.0)
    assert ours == pytest.approx(reference, rel=1e-9)


def test_signed_root_llr_is_the_root_of_the_contingency_g_with_a_sign() -> None:
    table = np.array([[9.0, 3.0], [11.0, 577.0]])
    g = chi2_contingency(table, correction=False, lambda_="log-likelihood").statistic
    up = signed_root_llr(table[0, 0], table[0, 1], table[1, 0], table[1, 1])
    down = signed_root_llr(table[1, 0], table[1, 1], table[0, 0], table[0, 1])
    assert float(up) == pytest.approx(math.sqrt(g), rel=1e-9)
    assert float(down) == pytest.approx(-math.sqrt(g), rel=1e-9)
    assert float(signed_root_llr(5, 95, 50, 950)) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("statistic", [0.5, 13.0, 80.0, 900.0])
def test_chi2_surprise_matches_scipy_and_stays_finite_far_out(statistic: float) -> None:
    assert chi2_surprise(statistic, 12) == pytest.approx(-chi2.logsf(statistic, 12), rel=1e-9)
    far = chi2_surprise(20_000.0, 12)
    assert math.isfinite(far) and far > chi2_surprise(1500.0, 12) > 700


def test_pool_sparse_bins_keeps_totals_and_makes_every_bin_expect_one() -> None:
    shares = np.array([0.1] * 9 + [0.05, 0.04, 0.009, 0.001])
    counts = np.array([3, 2, 4, 1, 3, 2, 3, 2, 3, 2, 1, 0, 1])
    pooled, pooled_shares = pool_sparse_bins(counts, shares)
    assert pooled.sum() == counts.sum() and pooled_shares.sum() == pytest.approx(1.0)
    assert (pooled_shares * counts.sum()).min() >= 1.0
    assert pooled.size < counts.size
    big, _ = pool_sparse_bins(counts * 1000, shares)
    assert big.size == counts.size


def test_alarm_rate_maps_a_budget_to_a_per_score_probability() -> None:
    rate = AlarmRate(alarms=1, per=timedelta(weeks=1))
    assert rate.probability_per_interval(timedelta(minutes=5)) == pytest.approx(1 / 2016)
    with pytest.raises(ConfigError, match="-1"):
        AlarmRate(alarms=-1)


def test_threshold_learns_an_exponential_tail_beyond_its_sketch() -> None:
    """On scores with exponential tail of scale 2 the extrapolated 1-p quantile must be
    2 * ln(1/p); the sketch's rank error and sampling make it a few percent off."""
    rng = np.random.default_rng(7)
    threshold = ScoreThreshold(lambda p: -math.log(p), memory=100_000)
    assert threshold.threshold(1e-4) == pytest.approx(-math.log(1e-4))  # floor before data
    threshold.update(rng.exponential(2.0, 50_000))
    for p in (1e-3, 1e-5, 1e-7):
        assert threshold.threshold(p) == pytest.approx(-2.0 * math.log(p), rel=0.12)
    calm = ScoreThreshold(lambda p: -math.log(p))
    calm.update(rng.exponential(0.5, 5_000))
    assert calm.threshold(1e-4) == pytest.approx(-math.log(1e-4))  # never below the null


MONITORS = [
    lambda: ArrivalMonitor("ranker"),
    lambda: LatencyMonitor("ranker"),
    lambda: ScoreDistributionMonitor("ranker"),
    lambda: PairedScoreMonitor({"champion": "ranker", "canary": "ranker-canary"}),
    lambda: DelayedFeedbackMonitor("ranker"),
]


@pytest.mark.parametrize("make", MONITORS)
def test_every_monitor_follows_the_protocol(make: object) -> None:
    monitor = make()  # type: ignore[operator]
    assert isinstance(monitor, Monitor)
    assert monitor.alerts(T0) == []
    empty = Events(model="ranker", kind=EventKind.COMPLETION, timestamp_s=np.zeros(0))
    monitor.update(empty)
    other = Events(model="other", kind=EventKind.COMPLETION, timestamp_s=np.full(3, T0.timestamp()))
    monitor.update(other)  # another model's events are ignored, whatever columns they lack
    assert monitor.alerts(T0 + timedelta(hours=1)) == []


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: LatencyMonitor("ranker"), EventKind.COMPLETION),
        (lambda: ScoreDistributionMonitor("ranker"), EventKind.COMPLETION),
        (lambda: PairedScoreMonitor({"champion": "ranker", "canary": "c"}), EventKind.COMPLETION),
        (lambda: DelayedFeedbackMonitor("ranker"), EventKind.LABEL),
    ],
)
def test_monitors_name_the_column_they_miss(make: object, kind: EventKind) -> None:
    monitor = make()  # type: ignore[operator]
    bare = Events(model="ranker", kind=kind, timestamp_s=np.full(3, T0.timestamp()))
    with pytest.raises(SchemaError, match="lack column"):
        monitor.update(bare)


def test_feedback_counts_impressions_too_old_for_its_ring() -> None:
    monitor = DelayedFeedbackMonitor("ranker", horizon=timedelta(hours=1))  # ring of 2 h
    now_s = T0.timestamp()

    def shown(at_s: float, request: str) -> Events:
        return Events(
            model="ranker",
            kind=EventKind.COMPLETION,
            timestamp_s=np.array([at_s]),
            request_id=np.array([request]),
        )

    monitor.update(shown(now_s, "new"))
    monitor.update(shown(now_s - 3 * 3600, "old"))
    assert monitor.stale_impressions_ == 1
    assert "old" not in monitor.pending_ and "new" in monitor.pending_
    outcome = Events(
        model="ranker",
        kind=EventKind.LABEL,
        timestamp_s=np.array([now_s + 60, now_s + 60]),
        request_id=np.array(["new", "never-shown"]),
    )
    monitor.update(outcome)
    assert monitor.dropped_outcomes_ == 1
    _, rate, impressions = monitor.response_curve("", T0 + timedelta(hours=2))
    assert impressions.max() == 1 and np.nanmax(rate) == 1.0


def test_score_monitor_counts_a_batch_of_only_missing_scores() -> None:
    """Predictions logged without a score output: counted as missing, nothing else (this
    batch used to raise from an empty reduction and stop the server's feed cycle)."""
    monitor = ScoreDistributionMonitor("ranker")
    events = Events(
        model="ranker",
        kind=EventKind.PREDICTION,
        timestamp_s=np.array([1.79e9, 1.79e9 + 1]),
        score=np.array([np.nan, np.nan]),
    )
    monitor.update(events)
    assert monitor.missing_scores_ == 2
