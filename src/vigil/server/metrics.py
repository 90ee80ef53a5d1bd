"""The server's ``/metrics``, with ``prometheus_client``: its own counters and every model's health.

The registry is the app's own (none global), so two apps in one process count apart. Besides
the request and ingest counters below, it holds the pipeline's
:class:`~vigil.pipeline.metrics.ModelCollector` (the latest health of every model version, read
from the store at scrape time) and ``vigil_model_health`` (the dashboard's traffic light).
``prometheus_client`` escapes label values, so a model named ``a"b`` cannot forge a label.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vigil.core import VigilError
from vigil.pipeline.gauges import ModelGauges
from vigil.pipeline.metrics import ModelCollector
from vigil.server.views import ModelSummary

CONTENT_TYPE = CONTENT_TYPE_LATEST
SERVER_METRICS = {
    "vigil_http_requests_total": "HTTP requests answered, by method, route and status.",
    "vigil_ingest_rows_accepted_total": "Rows accepted and durable in the spool.",
    "vigil_ingest_rows_rejected_total": "Rows rejected by validation and quarantined.",
    "vigil_ingest_throttled_total": "Ingest requests answered 429 because the queue was full.",
    "vigil_ingest_body_bytes_total": "Bytes of ingest request bodies read.",
    "vigil_model_health": "0 green, 1 amber (only resolved incidents), 2 red (an open incident).",
}


class ServerCounters:
    """Monotonic counters in ``registry``, safe to bump from the worker threads."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = CollectorRegistry() if registry is None else registry

        def counter(name: str, labels: Sequence[str] = ()) -> Counter:
            return Counter(
                name.removesuffix("_total"), SERVER_METRICS[name], labels, registry=self.registry
            )

        self._requests = counter("vigil_http_requests_total", ["method", "route", "status"])
        self._accepted = counter("vigil_ingest_rows_accepted_total")
        self._rejected = counter("vigil_ingest_rows_rejected_total")
        self._throttled = counter("vigil_ingest_throttled_total")
        self._body_bytes = counter("vigil_ingest_body_bytes_total")

    def count_request(self, method: str, route: str, status: int) -> None:
        self._requests.labels(method=method, route=route, status=str(status)).inc()

    def count_ingest(self, *, accepted: int, rejected: int, body_bytes: int) -> None:
        self._accepted.inc(accepted)
        self._rejected.inc(rejected)
        self._body_bytes.inc(body_bytes)

    def count_throttled(self) -> None:
        self._throttled.inc()


class HealthCollector(Collector):
    """``vigil_model_health`` per model, from the dashboard's summaries at scrape time."""

    def __init__(self, read: Callable[[], list[ModelSummary]]) -> None:
        self._read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily("vigil_model_health", SERVER_METRICS["vigil_model_health"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "vigil_model_health", SERVER_METRICS["vigil_model_health"], labels=["model"]
        )
        try:
            summaries = self._read()
        except VigilError:  # ModelCollector reports the store as down
            summaries = []
        for summary in summaries:
            family.add_metric([summary.model], summary.health)
        yield family


def metrics_registry(
    counters: ServerCounters,
    *,
    read_gauges: Callable[[], list[ModelGauges]],
    read_summaries: Callable[[], list[ModelSummary]],
) -> CollectorRegistry:
    """The counters' registry with the model collectors added."""
    counters.registry.register(ModelCollector(read_gauges))
    counters.registry.register(HealthCollector(read_summaries))
    return counters.registry


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of everything in ``registry``."""
    return generate_latest(registry)
