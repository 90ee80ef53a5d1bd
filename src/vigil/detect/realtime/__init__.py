"""Real-time operational monitors (after Ted Dunning's "How to Monitor Machine Learning Models in
Real-Time"): they run on the event stream with bounded memory and catch a broken model within
minutes, long before ground truth exists.

Every monitor follows the :class:`Monitor` protocol (``update(events)``, ``alerts(now)``) and sets
its thresholds from a target :class:`AlarmRate` ("one false alarm a week"). Alerts become
anomalies with :func:`alert_to_anomaly`, so they flow into the same incidents as the rest.
"""

from typing import TYPE_CHECKING

from vigil.core.lazy import lazy_exports

if TYPE_CHECKING:
    from vigil.detect.realtime.base import FakeMonitor, Monitor, MonitorAlert, alert_to_anomaly
    from vigil.detect.realtime.canary import ChallengerRisk, Disagreement, PairedScoreMonitor
    from vigil.detect.realtime.events import Events, epoch_seconds, utc_datetime
    from vigil.detect.realtime.feed import events_from_batch
    from vigil.detect.realtime.feedback import DelayedFeedbackMonitor, FeedbackComparison
    from vigil.detect.realtime.latency import LatencyMonitor, TagRank
    from vigil.detect.realtime.rate import ArrivalMonitor, RateModel, one_hour_ahead_errors
    from vigil.detect.realtime.scores import ScoreComparison, ScoreDistributionMonitor
    from vigil.detect.realtime.threshold import AlarmRate, ScoreThreshold

__all__ = [
    "AlarmRate",
    "ArrivalMonitor",
    "ChallengerRisk",
    "DelayedFeedbackMonitor",
    "Disagreement",
    "Events",
    "FakeMonitor",
    "FeedbackComparison",
    "LatencyMonitor",
    "Monitor",
    "MonitorAlert",
    "PairedScoreMonitor",
    "RateModel",
    "ScoreComparison",
    "ScoreDistributionMonitor",
    "ScoreThreshold",
    "TagRank",
    "alert_to_anomaly",
    "epoch_seconds",
    "events_from_batch",
    "one_hour_ahead_errors",
    "utc_datetime",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "vigil.detect.realtime.base": (
            "FakeMonitor",
            "Monitor",
            "MonitorAlert",
            "alert_to_anomaly",
        ),
        "vigil.detect.realtime.canary": ("ChallengerRisk", "Disagreement", "PairedScoreMonitor"),
        "vigil.detect.realtime.events": ("Events", "epoch_seconds", "utc_datetime"),
        "vigil.detect.realtime.feed": ("events_from_batch",),
        "vigil.detect.realtime.feedback": ("DelayedFeedbackMonitor", "FeedbackComparison"),
        "vigil.detect.realtime.latency": ("LatencyMonitor", "TagRank"),
        "vigil.detect.realtime.rate": ("ArrivalMonitor", "RateModel", "one_hour_ahead_errors"),
        "vigil.detect.realtime.scores": ("ScoreComparison", "ScoreDistributionMonitor"),
        "vigil.detect.realtime.threshold": ("AlarmRate", "ScoreThreshold"),
    },
)
