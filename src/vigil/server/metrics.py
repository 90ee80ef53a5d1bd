"""The server's own counters and the Prometheus text exposition of them and per-model gauges.

Hand-written text format (version 0.0.4): a handful of counters does not justify a dependency.
Label values come from data (model names), so they are escaped as the format requires
(backslash, double quote, newline); a model named ``a"b`` cannot break a line or forge a label.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServerCounters:
    """Monotonic counters, safe to bump from the worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.rows_accepted = 0
        self.rows_rejected = 0
        self.throttled = 0
        self.body_bytes = 0

    def count_request(self, method: str, route: str, status: int) -> None:
        with self._lock:
            self.requests[(method, route, status)] += 1

    def count_ingest(self, *, accepted: int, rejected: int, body_bytes: int) -> None:
        with self._lock:
            self.rows_accepted += accepted
            self.rows_rejected += rejected
            self.body_bytes += body_bytes

    def count_throttled(self) -> None:
        with self._lock:
            self.throttled += 1

    def snapshot(self) -> tuple[dict[tuple[str, str, int], int], dict[str, int]]:
        """Requests by (method, route, status), and the ingest totals, read consistently."""
        with self._lock:
            return dict(self.requests), {
                "vigil_ingest_rows_accepted_total": self.rows_accepted,
                "vigil_ingest_rows_rejected_total": self.rows_rejected,
                "vigil_ingest_throttled_total": self.throttled,
                "vigil_ingest_body_bytes_total": self.body_bytes,
            }


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelGauges:
    """Per-model values read from the store at scrape time."""

    model: str
    open_incidents: int
    last_window_rows: float
    health: int
    """0 green, 1 amber (only resolved incidents), 2 red (an open incident)."""


def render_metrics(counters: ServerCounters, models: Iterable[ModelGauges]) -> str:
    """The Prometheus text exposition of ``counters`` and ``models``."""
    requests, totals = counters.snapshot()
    lines = [
        "# HELP vigil_http_requests_total HTTP requests answered, by method, route and status.",
        "# TYPE vigil_http_requests_total counter",
    ]
    for (method, route, status), count in sorted(requests.items()):
        labels = _labels({"method": method, "route": route, "status": str(status)})
        lines.append(f"vigil_http_requests_total{labels} {count}")
    helps = {
        "vigil_ingest_rows_accepted_total": "Rows accepted and durable in the spool.",
        "vigil_ingest_rows_rejected_total": "Rows rejected by validation and quarantined.",
        "vigil_ingest_throttled_total": "Ingest requests answered 429 because the queue was full.",
        "vigil_ingest_body_bytes_total": "Bytes of ingest request bodies read.",
    }
    for name, value in totals.items():
        lines += [f"# HELP {name} {helps[name]}", f"# TYPE {name} counter", f"{name} {value}"]
    gauges = list(models)
    for name, help_text, field in (
        ("vigil_model_open_incidents", "Unresolved incidents per model.", "open_incidents"),
        ("vigil_model_last_window_rows", "Rows in the model's latest window.", "last_window_rows"),
        ("vigil_model_health", "0 green, 1 amber, 2 red (open incident).", "health"),
    ):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [
            f"{name}{_labels({'model': gauge.model})} {_number(getattr(gauge, field))}"
            for gauge in gauges
        ]
    return "\n".join(lines) + "\n"


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(values: Mapping[str, str]) -> str:
    inner = ",".join(f'{name}="{escape_label_value(value)}"' for name, value in values.items())
    return "{" + inner + "}"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return repr(int(value)) if float(value).is_integer() else repr(float(value))
