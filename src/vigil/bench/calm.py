"""``vigil bench calm``: logs where nothing happens, replayed; every incident is a false alarm.

Generates :mod:`vigil.lab.simulation.calm_logs` for a seed (shapes drawn afresh per seed: heavy
tails, rare flags, sparse features, high-cardinality categories, an hour-of-day feature, traffic
from a handful to thousands of requests an hour), replays them through one pipeline cycle in
data time, and lists every incident it raised, by kind, with the statistic that decided it.
The rate is per model-week of watched data (the first ``warmup_days`` only build the
references). Use seeds nobody tuned on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from vigil.bench.replay import replay_once
from vigil.incidents import Incident
from vigil.lab.simulation.calm_logs import CalmLogs, simulate_calm_logs
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.runner import CycleSummary

START = datetime(2026, 5, 4, tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class CalmCheck:
    seed: int
    logs: CalmLogs
    cycle: CycleSummary
    days: int
    warmup_days: int
    seconds: float
    detector: str

    @property
    def false_incidents(self) -> tuple[Incident, ...]:
        return self.cycle.incidents

    @property
    def watched_model_weeks(self) -> float:
        return len(self.logs.models) * (self.days - self.warmup_days) / 7.0


def run_calm_check(
    out: Path,
    *,
    seed: int,
    days: int = 14,
    models: int = 3,
    warmup_days: int = 7,
    config: VigilConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> CalmCheck:
    """Write calm logs and a store under ``out`` and replay them through one cycle."""
    say = progress or (lambda _: None)
    settings = config or VigilConfig()
    started = time.monotonic()
    say(f"simulate calm logs, seed {seed}")
    logs = simulate_calm_logs(out / "logs", start=START, days=days, seed=seed, models=models)
    cycle = replay_once(
        logs.root, store_path=out / "vigil.db", until=logs.end, config=settings, progress=say
    )
    return CalmCheck(
        seed=seed,
        logs=logs,
        cycle=cycle,
        days=days,
        warmup_days=min(warmup_days, days),
        seconds=time.monotonic() - started,
        detector=settings.watch_policy().detector,
    )


def calm_json(check: CalmCheck) -> dict[str, object]:
    """The check as plain JSON values."""
    false = check.false_incidents
    weeks = check.watched_model_weeks
    return {
        "seed": check.seed,
        "detector": check.detector,
        "rows": check.logs.rows,
        "models": list(check.logs.models),
        "features": {model: list(shapes) for model, shapes in check.logs.features.items()},
        "days": check.days,
        "warmup_days": check.warmup_days,
        "watched_model_weeks": round(weeks, 3),
        "false_incidents": len(false),
        "false_per_model_week": round(len(false) / weeks, 3) if weeks else None,
        "by_kind": {
            kind: sum(1 for i in false if i.kind.value == kind)
            for kind in sorted({i.kind.value for i in false})
        },
        "incidents": [
            {
                "model": i.model,
                "kind": i.kind.value,
                "opened_at": i.opened_at.isoformat(),
                "summary": i.summary,
            }
            for i in false
        ],
        "seconds": round(check.seconds, 1),
    }
