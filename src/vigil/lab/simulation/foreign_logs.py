"""The raw request logs in a shape Vigil was not designed around, and the map that reads them.

:func:`write_foreign_logs` rewrites the lines of :func:`~vigil.lab.simulation.raw_logs.
simulate_raw_logs` as another serving stack might log them: nested and renamed fields
(``service.name``, ``request.inputs``, ``response.scores``), epoch milliseconds, latency in
microseconds, one ``"event": "completion"`` line per request. And as real logs arrive: one
host's clock runs fast, lines are shuffled within each daily file, a few are delivered in the
next day's file, and labels come two days later as ``feedback`` lines of their own. Malformed
lines stay as they were. :data:`FOREIGN_FIELDS` is the ``[ingest.fields]`` table a user writes
for this shape: the same injected incidents should be found through it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vigil.lab.simulation.raw_logs import RawIncident, RawLogs

FOREIGN_FIELDS: dict[str, Any] = {
    "timestamp": "ts_ms",
    "timestamp_unit": "ms",
    "model": "service.name",
    "version": "service.release",
    "request_id": "trace_id",
    "events": {"feedback": "label"},
    "host": "node",
    "latency": "duration_us",
    "latency_unit": "us",
    "features": "request.inputs",
    "outputs": "response.scores",
    "tags": "labels",
    "label": "outcome",
}
"""``[ingest.fields]`` for this shape (the event keeps its own name, ``completion``)."""
FAST_CLOCK = timedelta(minutes=17)
LATE_SHARE = 0.03
"""Lines delivered in the next day's file."""
FEEDBACK_SHARE = 0.3
"""Share of ``loan-approval`` requests whose label arrives, two days later."""
FEEDBACK_DELAY = timedelta(days=2)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignLogs:
    root: Path
    end: datetime
    """The end of the logs' data (the raw logs' end; the fast host's lines go past it)."""
    lines: int
    fast_host: str
    injected: tuple[RawIncident, ...]


def write_foreign_logs(raw: RawLogs, root: Path, *, seed: int) -> ForeignLogs:
    """Write ``raw``'s lines under ``root`` in the foreign shape (see the module docstring)."""
    slow = next((i.subject for i in raw.injected if i.kind == "latency"), "")
    hosts = sorted(_hosts(raw.root, model="delivery-eta"))
    fast_host = next(h for h in hosts if h != slow)
    rng = random.Random(seed)
    days: dict[str, list[str]] = {}
    for path in sorted(raw.root.glob("*.jsonl")):
        for text in path.read_text(encoding="utf-8").splitlines():
            record = _record(text)
            if record is None:  # malformed stays malformed
                days.setdefault(path.stem, []).append(text)
                continue
            moment = datetime.fromisoformat(record["timestamp"])
            if record.get("host") == fast_host:
                moment += FAST_CLOCK
            filed = moment if rng.random() >= LATE_SHARE else moment + timedelta(days=1)
            days.setdefault(f"{filed:%Y-%m-%d}", []).append(json.dumps(_foreign(record, moment)))
            if record["model"] == "loan-approval" and rng.random() < FEEDBACK_SHARE:
                late = moment + FEEDBACK_DELAY
                feedback = {
                    "ts_ms": _ms(late),
                    "service": {"name": record["model"]},
                    "trace_id": record["request_id"],
                    "event": "feedback",
                    "outcome": int(rng.random() < 0.3),
                }
                days.setdefault(f"{late:%Y-%m-%d}", []).append(json.dumps(feedback))
    root.mkdir(parents=True, exist_ok=True)
    for name, lines in sorted(days.items()):
        rng.shuffle(lines)
        (root / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ForeignLogs(
        root=root,
        end=raw.end,
        lines=sum(len(lines) for lines in days.values()),
        fast_host=fast_host,
        injected=raw.injected,
    )


def _record(text: str) -> dict[str, Any] | None:
    try:
        record = json.loads(text)
        datetime.fromisoformat(record["timestamp"])
    except (ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) and "model" in record else None


def _foreign(record: dict[str, Any], moment: datetime) -> dict[str, Any]:
    latency = record.get("latency_ms")
    return {
        "ts_ms": _ms(moment),
        "service": {"name": record["model"], "release": record.get("version")},
        "trace_id": record.get("request_id"),
        "event": record.get("event"),
        "node": record.get("host"),
        "duration_us": None if latency is None else round(latency * 1000),
        "request": {"inputs": record.get("features", {})},
        "response": {"scores": record.get("outputs", {})},
        "labels": record.get("tags", {}),
    }


def _hosts(root: Path, *, model: str) -> set[str]:
    """The hosts of ``model`` in the first day's file."""
    first = min(root.glob("*.jsonl"))
    found = set()
    for text in first.read_text(encoding="utf-8").splitlines():
        record = _record(text)
        if record is not None and record["model"] == model and record.get("host"):
            found.add(str(record["host"]))
    return found


def _ms(moment: datetime) -> int:
    return round(moment.astimezone(UTC).timestamp() * 1000)
