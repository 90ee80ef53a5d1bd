"""One pipeline cycle over a folder of generated logs, in data time, on a fresh SQLite store:
what ``vigil bench watch`` and ``vigil bench calm`` score."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from vigil.pipeline.config import VigilConfig
from vigil.pipeline.runner import CycleSummary, run_cycle
from vigil.store import SqlStore


def replay_once(
    logs: Path,
    *,
    store_path: Path,
    until: datetime | None,
    config: VigilConfig,
    progress: Callable[[str], None],
) -> CycleSummary:
    """Run one cycle over ``logs`` up to ``until`` (``None``: to the end of the data, as
    ``vigil run --once`` does) into the SQLite file ``store_path``."""
    store = SqlStore(f"sqlite:///{store_path.resolve()}")
    try:
        return run_cycle(
            config=config,
            store=store,
            now=datetime.now(UTC),
            until=until,
            channels={},
            sources=[str(logs)],
            progress=progress,
        )
    finally:
        store.close()
