"""``vigil demo``: a simulated platform through the whole pipeline, scored against the truth."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.core import ConfigError
from vigil.detect import DEFAULT_DETECTOR
from vigil.lab.evaluation import DemoScore, score_demo
from vigil.lab.simulation.logs import SimulatedPlatform, simulate_platform, utc_midnight
from vigil.pipeline.config import parse_config
from vigil.pipeline.runner import CycleSummary, run_cycle
from vigil.store import SqlStore

CLEAN_DAYS = 7
MARKER = ".vigil-demo"
"""The file that says ``vigil demo`` made a folder, and so may replace what it wrote there."""
CREATED = ("logs", "reports", "spool", "vigil.db", "vigil.db-wal", "vigil.db-shm")
"""What the demo writes into its folder: the only names it ever deletes."""


def claim_folder(out: Path) -> None:
    """Make ``out`` the demo's folder, or refuse: nothing is deleted that Vigil did not create.

    A new or empty folder is taken and marked (:data:`MARKER`). A folder the demo marked before
    has what the demo wrote there (:data:`CREATED`) removed, so a second run starts clean and
    never double-counts; anything else in it stays. Any other folder is refused.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; name a folder for the demo")
    if out.is_dir() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise ConfigError(
            f"--out {out} is not empty and was not made by vigil demo; name a new or empty "
            "folder (the demo replaces its logs, reports, spool and store there)"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name in CREATED:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    (out / MARKER).write_text(
        "made by vigil demo; it may replace logs/, reports/, spool/ and vigil.db\n"
    )


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
    detector: str = DEFAULT_DETECTOR,
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
    store = SqlStore(db_url, workers=config.store.workers)
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
