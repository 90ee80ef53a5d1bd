"""A small deterministic data set for the dashboard: two models, nine days, real incidents.

Made by the pipeline itself (records -> ``vigil run``'s cycle -> the store), only smaller, so
the browser tests and a first look at ``vigil serve --sample`` show real pages, with the bands
that decided, without the full ``vigil demo``. The ``ranker`` model's ``age`` feature jumps by
five standard deviations for the last hours, which opens an incident; one of the ``fraud``
model's features has a name made of HTML, to show that names are escaped, and shifts too.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from vigil.incidents import Incident
from vigil.pipeline.config import VigilConfig
from vigil.pipeline.runner import run_cycle
from vigil.store import Store

HOSTILE_FEATURE = "<img src=x onerror=alert(1)>"
"""A feature name that would run script if a page inserted it as HTML."""
SHIFT_HOURS = 4
SAMPLE_HOURS = 9 * 24
"""Nine days: drift compares each hour with the same hour of the seven days before, and the
days after the first week show it."""


def sample_records(
    *, end: datetime, hours: int = SAMPLE_HOURS, rows_per_hour: int = 40
) -> list[dict[str, Any]]:
    """Records of ``hours`` whole hours before ``end`` (floored to the hour), seeded."""
    rng = np.random.default_rng(7)
    last = end.replace(minute=0, second=0, microsecond=0)
    records: list[dict[str, Any]] = []
    for hour in range(hours):
        start = last - timedelta(hours=hours - hour)
        shifted = hour >= hours - SHIFT_HOURS
        for model, version in (("ranker", "v2"), ("fraud", "v1")):
            for i in range(rows_per_hour):
                age_shift = 50.0 if shifted and model == "ranker" else 0.0
                hostile_shift = 0.5 if shifted and model == "fraud" else 0.0
                records.append(
                    {
                        "model": model,
                        "version": version,
                        "timestamp": (
                            start + timedelta(seconds=3600 * i / rows_per_hour)
                        ).isoformat(),
                        "features": {
                            "age": float(rng.normal(40.0 + age_shift, 10.0)),
                            "country": str(rng.choice(["DE", "FR", "US"])),
                            HOSTILE_FEATURE: float(rng.random() + hostile_shift),
                        },
                        "outputs": {"score": float(rng.beta(2, 5))},
                        "latency_ms": float(rng.gamma(4.0, 3.0)),
                    }
                )
    return records


def seed_sample(store: Store, *, now: datetime, hours: int = SAMPLE_HOURS) -> list[Incident]:
    """Run one pipeline cycle over the sample records into ``store``; returns its incidents."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sample.jsonl"
        with path.open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(r) + "\n" for r in sample_records(end=now, hours=hours))
        summary = run_cycle(
            config=VigilConfig(), store=store, now=now, channels={}, sources=[str(path)]
        )
    return list(summary.incidents)
