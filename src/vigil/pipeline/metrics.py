"""Vigil's Prometheus metrics, with ``prometheus_client``: models' health, and the pipeline's own.

Two sources, one vocabulary (:data:`MODEL_METRICS`, :data:`PIPELINE_METRICS`, checked against
the shipped Grafana dashboard by a test):

- :class:`ModelCollector` reads the latest health of every model version from the store at
  scrape time (:func:`~vigil.pipeline.gauges.read_gauges`); ``vigil serve`` and ``vigil run``
  both register it. A store that cannot be read gives ``vigil_store_up 0``, not a failed scrape.
- :class:`PipelineMetrics` is what a ``vigil run`` process knows about itself: when its last
  cycle succeeded, how long cycles take, how many windows wait, errors, and what its outbox
  sent. Alert on ``time() - vigil_pipeline_last_success_timestamp_seconds`` to learn that the
  pipeline stopped.

Every metric lives in a registry the caller makes (no global registry): two runners in one
test process never share a counter.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil.core import VigilError
from vigil.pipeline.gauges import ModelGauges
from vigil.pipeline.runner import CycleSummary

logger = logging.getLogger(__name__)

MODEL_METRICS = {
    "vigil_store_up": "1 when the store could be read for this scrape, else 0.",
    "vigil_model_window_start_timestamp_seconds": "Start of the latest window with rows.",
    "vigil_model_requests": "Requests in the latest window.",
    "vigil_model_rows": "Rows (events) in the latest window.",
    "vigil_model_quarantined_rows": "Rows quarantined by validation in the model's latest window.",
    "vigil_model_latency_ms": "Latency quantiles of the latest window, in milliseconds.",
    "vigil_feature_drift_psi": "PSI of the feature against its reference (top features only).",
    "vigil_feature_missing": "1 for a feature missing in the latest window (first flagged only).",
    "vigil_feature_constant": "1 for a feature constant in the latest window (first flagged only).",
    "vigil_model_features_missing": "Features missing in the latest window.",
    "vigil_model_features_constant": "Features constant in the latest window.",
    "vigil_model_open_incidents": "Open incidents, by the kind of problem they opened with.",
}
PIPELINE_METRICS = {
    "vigil_pipeline_last_success_timestamp_seconds": "When the last cycle finished without error.",
    "vigil_pipeline_cycle_duration_seconds": "How long cycles take.",
    "vigil_pipeline_windows_behind": "Complete windows not processed yet.",
    "vigil_pipeline_cycles_total": "Cycles run, by outcome (succeeded, skipped_locked, failed).",
    "vigil_pipeline_errors_total": "Cycles that failed with an error.",
    "vigil_notifications_total": "Notifications that finished, by outcome (delivered, failed).",
    "vigil_alertmanager_posts_total": "Alert sets posted to Alertmanager, by outcome.",
}
CYCLE_BUCKETS_S = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class ModelCollector(Collector):
    """The latest health of every model version, read at scrape time by ``read``."""

    def __init__(self, read: Callable[[], list[ModelGauges]]) -> None:
        self._read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Names only: registering must not read the store.
        for name, text in MODEL_METRICS.items():
            yield GaugeMetricFamily(name, text)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            models = self._read()
        except VigilError as err:
            logger.warning("metrics: the store could not be read: %s", err)
            yield GaugeMetricFamily("vigil_store_up", MODEL_METRICS["vigil_store_up"], value=0)
            return
        yield GaugeMetricFamily("vigil_store_up", MODEL_METRICS["vigil_store_up"], value=1)
        yield from _model_families(models)


def _family(name: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, MODEL_METRICS[name], labels=labels)


def _model_families(models: list[ModelGauges]) -> Iterator[GaugeMetricFamily]:
    mv = ["model", "version"]
    start = _family("vigil_model_window_start_timestamp_seconds", mv)
    requests, rows = _family("vigil_model_requests", mv), _family("vigil_model_rows", mv)
    quarantined = _family("vigil_model_quarantined_rows", ["model"])
    latency = _family("vigil_model_latency_ms", [*mv, "quantile"])
    drift = _family("vigil_feature_drift_psi", [*mv, "feature"])
    missing, constant = (
        _family(n, [*mv, "feature"]) for n in ("vigil_feature_missing", "vigil_feature_constant")
    )
    missing_count = _family("vigil_model_features_missing", mv)
    constant_count = _family("vigil_model_features_constant", mv)
    incidents = _family("vigil_model_open_incidents", [*mv, "kind"])
    for model in models:
        if not math.isnan(model.quarantined_rows):
            quarantined.add_metric([model.model], model.quarantined_rows)
        for v in model.versions:
            key = [v.model, v.version]
            for kind, count in sorted(v.open_incidents.items()):
                incidents.add_metric([*key, kind], count)
            if v.window_start is None:
                continue
            start.add_metric(key, v.window_start.timestamp())
            for family, value in ((requests, v.requests), (rows, v.rows)):
                if not math.isnan(value):  # absent, not NaN: a panel shows a gap
                    family.add_metric(key, value)
            for level, value in sorted(v.latency_ms.items()):
                latency.add_metric([*key, level], value)
            for feature, value in v.drift:
                drift.add_metric([*key, feature], value)
            for feature in v.missing:
                missing.add_metric([*key, feature], 1)
            for feature in v.constant:
                constant.add_metric([*key, feature], 1)
            missing_count.add_metric(key, v.missing_count)
            constant_count.add_metric(key, v.constant_count)
    yield from (start, requests, rows, quarantined, latency, drift, missing, constant)
    yield from (missing_count, constant_count, incidents)


class PipelineMetrics:
    """A ``vigil run`` process's own metrics, in ``registry`` (see the module docstring)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def text(name: str) -> str:
            return PIPELINE_METRICS[name]

        self.last_success = Gauge(
            "vigil_pipeline_last_success_timestamp_seconds",
            text("vigil_pipeline_last_success_timestamp_seconds"),
            registry=registry,
        )
        self.duration = Histogram(
            "vigil_pipeline_cycle_duration_seconds",
            text("vigil_pipeline_cycle_duration_seconds"),
            buckets=CYCLE_BUCKETS_S,
            registry=registry,
        )
        self.windows_behind = Gauge(
            "vigil_pipeline_windows_behind",
            text("vigil_pipeline_windows_behind"),
            registry=registry,
        )
        self.cycles = Counter(
            "vigil_pipeline_cycles",
            text("vigil_pipeline_cycles_total"),
            ["outcome"],
            registry=registry,
        )
        self.errors = Counter(
            "vigil_pipeline_errors", text("vigil_pipeline_errors_total"), registry=registry
        )
        self.notifications = Counter(
            "vigil_notifications",
            text("vigil_notifications_total"),
            ["outcome"],
            registry=registry,
        )
        self.alertmanager_posts = Counter(
            "vigil_alertmanager_posts",
            text("vigil_alertmanager_posts_total"),
            ["outcome"],
            registry=registry,
        )
        for outcome in ("succeeded", "skipped_locked", "failed"):
            self.cycles.labels(outcome=outcome)  # present at 0 from the start

    def cycle_succeeded(
        self, summary: CycleSummary, *, seconds: float, finished_at: datetime, behind: int
    ) -> None:
        self.duration.observe(seconds)
        self.windows_behind.set(behind)
        if summary.notifications_sent:
            self.notifications.labels(outcome="delivered").inc(summary.notifications_sent)
        if summary.notifications_failed:
            self.notifications.labels(outcome="failed").inc(summary.notifications_failed)
        if summary.skipped_locked:
            self.cycles.labels(outcome="skipped_locked").inc()
            return
        self.cycles.labels(outcome="succeeded").inc()
        self.last_success.set(finished_at.timestamp())

    def cycle_failed(self, *, seconds: float) -> None:
        self.duration.observe(seconds)
        self.cycles.labels(outcome="failed").inc()
        self.errors.inc()

    def alert_posts(self, *, delivered: int, failed: int) -> None:
        if delivered:
            self.alertmanager_posts.labels(outcome="delivered").inc(delivered)
        if failed:
            self.alertmanager_posts.labels(outcome="failed").inc(failed)
