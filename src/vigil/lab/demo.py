"""``vigil demo``: a simulated platform through the whole pipeline, scored against the truth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.lab.evaluation import DemoScore, score_demo
from vigil.lab.simulation.logs import SimulatedPlatform, simulate_platform, utc_midnight
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import CycleSummary, run_cycle
from vigil.store import SqlStore

CLEAN_DAYS = 7


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoResult:
    platform: SimulatedPlatform
    cycle: CycleSummary
    score: DemoScore
    report: Path


def run_demo(
    *,
    out: Path,
    db_url: str,
    now: datetime,
    days: int = 14,
    models: int = 20,
    seed: int = 7,
    detector: str = "same-hour",
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Simulate ``models`` x ``days`` of hourly logs ending at today's midnight, run the
    pipeline on them into the store at ``db_url``, and score what it found."""
    say = progress or (lambda _: None)
    config = parse_config({"detect": {"detector": detector}}, source="--detector")
    say(f"simulate {models} models x {days} days of inference logs")
    platform = simulate_platform(
        out / "logs", start=utc_midnight(days, now), days=days, models=models, seed=seed
    )
    store = SqlStore(db_url)
    try:
        cycle = run_cycle(
            config=config,
            store=store,
            now=platform.end,
            channels={},
            sources=[str(platform.root)],
            reports_out=out / "reports",
            progress=say,
        )
    finally:
        store.close()
    score = score_demo(
        platform.injected,
        cycle.incidents,
        evaluated_from=platform.start + timedelta(days=CLEAN_DAYS),
    )
    return DemoResult(
        platform=platform, cycle=cycle, score=score, report=out / "reports" / "index.html"
    )
