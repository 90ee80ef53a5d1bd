"""``vigil bench watch``: raw request logs with known incidents, replayed, and scored strictly.

Generates the raw logs of :mod:`vigil.lab.simulation.raw_logs` for a seed, replays them through
one pipeline cycle in data time (``until`` = the end of the logs), and matches the incidents
to the injected ones (:mod:`vigil.lab.raw_evaluation`): found or not, the delay in windows,
the kind, the feature or host named, and the false incidents. Use seeds nobody tuned on.

``shape="foreign"`` writes the same logs in a shape Vigil was not designed around
(:mod:`vigil.lab.simulation.foreign_logs`: nested fields, ms times, a host's fast clock,
shuffled and late lines, late labels), reads them through its ``[ingest.fields]`` map, and
replays them as ``vigil run --once`` does, with no ``until``: the product decides where the
data ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.bench.replay import replay_once
from vigil.core import ConfigError
from vigil.lab.raw_evaluation import RawScore, score_raw
from vigil.lab.simulation.foreign_logs import FOREIGN_FIELDS, write_foreign_logs
from vigil.lab.simulation.raw_logs import CLEAN_DAYS, RawLogs, simulate_raw_logs
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.runner import CycleSummary

START = datetime(2026, 3, 2, tzinfo=UTC)
SHAPES = ("raw", "foreign")


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchCheck:
    seed: int
    logs: RawLogs
    cycle: CycleSummary
    score: RawScore
    seconds: float
    detector: str
    shape: str = "raw"


def run_watch_check(
    out: Path,
    *,
    seed: int,
    days: int = 14,
    config: VigilConfig | None = None,
    shape: str = "raw",
    progress: Callable[[str], None] | None = None,
) -> WatchCheck:
    """Write logs and a store under ``out`` and score what one replay cycle found."""
    if shape not in SHAPES:
        raise ConfigError(f"shape must be one of {SHAPES}, got {shape!r}")
    say = progress or (lambda _: None)
    settings = config or VigilConfig()
    started = time.monotonic()
    say(f"simulate raw logs, seed {seed}")
    logs = simulate_raw_logs(out / "logs", start=START, days=days, seed=seed)
    root = logs.root
    until_end: datetime | None = logs.end
    if shape == "foreign":
        say(f"rewrite them in another shape, seed {seed}")
        root = write_foreign_logs(logs, out / "foreign", seed=seed).root
        until_end = None
        settings = settings.with_overrides(ingest={"fields": FOREIGN_FIELDS})
    cycle = replay_once(
        root, store_path=out / "vigil.db", until=until_end, config=settings, progress=say
    )
    score = score_raw(
        logs.injected,
        cycle.incidents,
        window=settings.window,
        evaluated_from=START + timedelta(days=CLEAN_DAYS),
    )
    return WatchCheck(
        seed=seed,
        logs=logs,
        cycle=cycle,
        score=score,
        seconds=time.monotonic() - started,
        detector=settings.watch_policy().detector,
        shape=shape,
    )


def check_json(check: WatchCheck) -> dict[str, object]:
    """The check as plain JSON values."""
    return {
        "seed": check.seed,
        "detector": check.detector,
        "shape": check.shape,
        "windows": len(check.cycle.windows),
        "last_window_end": check.cycle.windows[-1].end.isoformat() if check.cycle.windows else None,
        "rows": check.logs.rows,
        "quarantined": (
            check.cycle.profiling.rows_quarantined if check.cycle.profiling is not None else 0
        ),
        "malformed": check.logs.malformed,
        "found": check.score.found,
        "injected": len(check.score.matches),
        "false_incidents": [
            {
                "model": i.model,
                "kind": i.kind.value,
                "opened_at": i.opened_at.isoformat(),
                "summary": i.summary,
            }
            for i in check.score.false_incidents
        ],
        "extra_incidents": [
            {
                "model": i.model,
                "kind": i.kind.value,
                "opened_at": i.opened_at.isoformat(),
                "summary": i.summary,
            }
            for i in check.score.extra_incidents
        ],
        "incidents": [
            {
                "model": m.injected.model,
                "kind": m.injected.kind,
                "subject": m.injected.subject,
                "start": m.injected.start.isoformat(),
                "found": m.incident is not None,
                "delay_windows": m.delay_windows,
                "kind_found": m.kind_found,
                "subject_named": m.subject_named,
                "summary": m.incident.summary if m.incident is not None else "",
            }
            for m in check.score.matches
        ],
        "seconds": round(check.seconds, 1),
    }
